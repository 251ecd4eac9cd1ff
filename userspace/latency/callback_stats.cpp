#include "latency/callback_stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace loopprof {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string base_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// asyncio's Handle._run (Python), or uvloop's (Cython, native).
bool is_handle_run(const Frame& frame) {
  if (frame.kind == FrameKind::python)  // "_run", or "Handle._run" (qualified names, 3.11+)
    return (frame.name == "_run" || ends_with(frame.name, "Handle._run")) &&
           ends_with(frame.file, "events.py");
  return frame.kind == FrameKind::native && frame.name.find("Handle__run") != std::string::npos;
}

uint64_t quantile(const std::vector<uint64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[rank == 0 ? 0 : rank - 1];
}

}  // namespace

std::string callback_of(const Frames& frames) {
  size_t after = frames.size();
  for (size_t i = 0; i < frames.size(); ++i)
    if (is_handle_run(frames[i])) after = i + 1;
  for (size_t i = after; i < frames.size(); ++i)
    if (frames[i].kind == FrameKind::python)
      return fmt::format("{} ({})", frames[i].name, base_name(frames[i].file));
  return {};
}

CallbackStats::OpenSteps& CallbackStats::open(pid_t tid, uint64_t seq) {
  OpenSteps& steps = open_[tid];
  if (steps.seq != seq) {
    close(steps);
    steps = OpenSteps{.seq = seq};
  }
  return steps;
}

void CallbackStats::close(OpenSteps& steps) {
  for (const auto& [callback, ns] : steps.ns) add_step(callback, ns);
  steps.ns.clear();
}

uint64_t CallbackStats::next_random() {  // xorshift64
  random_state_ ^= random_state_ << 13;
  random_state_ ^= random_state_ >> 7;
  random_state_ ^= random_state_ << 17;
  return random_state_;
}

// Reservoir sampling (Algorithm R): every step has the same chance to be kept.
void CallbackStats::add_step(const std::string& callback, uint64_t ns) {
  StepTimes& times = steps_[callback];
  times.count++;
  times.total_ns += ns;
  times.max_ns = std::max(times.max_ns, ns);
  if (times.kept.size() < kKeptSteps) {
    times.kept.push_back(ns);
    return;
  }
  uint64_t slot = next_random() % times.count;
  if (slot < kKeptSteps) times.kept[slot] = ns;
}

void CallbackStats::forget(pid_t tid) {
  if (auto it = open_.find(tid); it != open_.end()) {
    close(it->second);
    open_.erase(it);
  }
  last_seen_.erase(tid);
}

void CallbackStats::note_callback(pid_t tid, uint64_t ts_ns, std::string callback) {
  if (!callback.empty()) last_seen_[tid] = Seen{ts_ns, std::move(callback)};
}

void CallbackStats::on_step(pid_t tid, uint64_t start_ns, uint64_t end_ns) {
  auto it = last_seen_.find(tid);
  bool named = it != last_seen_.end() && it->second.ts_ns >= start_ns && it->second.ts_ns <= end_ns;
  add_step(named ? it->second.callback : "[step not sampled]", end_ns - start_ns);
}

void CallbackStats::on_sample(pid_t tid, uint64_t seq, const Frames& frames) {
  if (precise_) return;
  std::string callback = callback_of(frames);
  if (callback.empty()) return;
  open(tid, seq).ns[callback] += sample_period_ns_;
}

void CallbackStats::on_off_cpu(pid_t tid, uint64_t seq, const std::string& callback,
                               uint64_t off_ns) {
  if (precise_ || callback.empty()) return;
  open(tid, seq).ns[callback] += off_ns;
}

std::vector<CallbackRow> CallbackStats::rows() const {
  std::map<std::string, StepTimes> all = steps_;
  for (const auto& [tid, steps] : open_)
    for (const auto& [callback, ns] : steps.ns) {
      StepTimes& times = all[callback];
      times.count++;
      times.total_ns += ns;
      times.max_ns = std::max(times.max_ns, ns);
      times.kept.push_back(ns);
    }
  std::vector<CallbackRow> rows;
  for (auto& [callback, times] : all) {
    std::sort(times.kept.begin(), times.kept.end());
    CallbackRow row{.callback = callback,
                    .count = times.count,
                    .total_ns = times.total_ns,
                    .p50_ns = quantile(times.kept, 0.5),
                    .p99_ns = quantile(times.kept, 0.99),
                    .max_ns = times.max_ns};
    rows.push_back(std::move(row));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const CallbackRow& a, const CallbackRow& b) {
    return a.total_ns > b.total_ns;
  });
  return rows;
}

}  // namespace loopprof
