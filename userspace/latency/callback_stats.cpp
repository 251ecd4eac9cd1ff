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
  for (const auto& [callback, ns] : steps.ns) steps_[callback].push_back(ns);
  steps.ns.clear();
}

void CallbackStats::note_callback(pid_t tid, uint64_t ts_ns, std::string callback) {
  if (!callback.empty()) last_seen_[tid] = Seen{ts_ns, std::move(callback)};
}

void CallbackStats::on_step(pid_t tid, uint64_t start_ns, uint64_t end_ns) {
  auto it = last_seen_.find(tid);
  bool named = it != last_seen_.end() && it->second.ts_ns >= start_ns && it->second.ts_ns <= end_ns;
  steps_[named ? it->second.callback : "[step not sampled]"].push_back(end_ns - start_ns);
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
  std::map<std::string, std::vector<uint64_t>> all = steps_;
  for (const auto& [tid, steps] : open_)
    for (const auto& [callback, ns] : steps.ns) all[callback].push_back(ns);
  std::vector<CallbackRow> rows;
  for (auto& [callback, times] : all) {
    std::sort(times.begin(), times.end());
    CallbackRow row{.callback = callback, .count = times.size()};
    for (uint64_t t : times) row.total_ns += t;
    row.p50_ns = quantile(times, 0.5);
    row.p99_ns = quantile(times, 0.99);
    row.max_ns = times.back();
    rows.push_back(std::move(row));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const CallbackRow& a, const CallbackRow& b) {
    return a.total_ns > b.total_ns;
  });
  return rows;
}

}  // namespace loopprof
