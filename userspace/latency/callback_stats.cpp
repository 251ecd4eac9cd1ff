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

constexpr const char* kDefaultTaskGroup = "Task-*";
constexpr const char* kOtherTasks = "[other tasks]";
constexpr const char* kOtherCallbacks = "[other callbacks]";

// The steps of a Task the program named merge under its name; those of
// default-named tasks stay under their coroutine.
std::string step_label(const std::string& callback, const std::optional<TaskInfo>& task) {
  if (task && !task->name.empty() && !is_default_task_name(task->name))
    return fmt::format("Task \"{}\"", task->name);
  return callback;
}

void add_to(TaskRow& row, uint64_t ns) {
  row.steps++;
  row.busy_ns += ns;
  row.worst_ns = std::max(row.worst_ns, ns);
}

}  // namespace

bool is_default_task_name(const std::string& name) {
  constexpr std::string_view prefix = "Task-";
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return false;
  return std::all_of(name.begin() + prefix.size(), name.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

CallbackStats::TaskKey CallbackStats::task_key(const TaskInfo& task) const {
  TaskKey key{is_default_task_name(task.name) ? kDefaultTaskGroup : task.name, task.coroutine};
  if (!tasks_.count(key) && tasks_.size() >= kMaxRows) return {kOtherTasks, ""};
  return key;
}

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

uint64_t CallbackStats::next_random() {  // xorshift64
  random_state_ ^= random_state_ << 13;
  random_state_ ^= random_state_ >> 7;
  random_state_ ^= random_state_ << 17;
  return random_state_;
}

// Reservoir sampling (Algorithm R): every step has the same chance to be kept.
void CallbackStats::add_step(const std::string& callback, uint64_t ns) {
  bool room = steps_.count(callback) || steps_.size() < kMaxRows;
  StepTimes& times = steps_[room ? callback : kOtherCallbacks];
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

void CallbackStats::record(const std::string& label, const std::optional<TaskInfo>& task,
                           uint64_t ns) {
  add_step(label, ns);
  if (!task) return;
  TaskKey key = task_key(*task);
  TaskRow& row = tasks_[key];
  row.name = key.first;
  row.coroutine = key.second;
  add_to(row, ns);
}

void CallbackStats::close(OpenSteps& steps) {
  for (const auto& [label, c] : steps.steps) record(label, c.task, c.ns);
  steps.steps.clear();
  steps.task_ns.clear();
}

void CallbackStats::credit(pid_t tid, uint64_t seq, const std::string& callback,
                           const std::optional<TaskInfo>& task, uint64_t ns) {
  OpenSteps& steps = open(tid, seq);
  if (task) steps.task_ns[*task] += ns;
  if (precise_ || callback.empty()) return;
  Credit& c = steps.steps[step_label(callback, task)];
  c.ns += ns;
  if (task) c.task = task;
}

void CallbackStats::note_callback(pid_t tid, uint64_t ts_ns, std::string callback,
                                  std::optional<TaskInfo> task) {
  if (!callback.empty()) last_seen_[tid] = Seen{ts_ns, std::move(callback), std::move(task)};
}

void CallbackStats::on_step(pid_t tid, uint64_t start_ns, uint64_t end_ns) {
  auto it = last_seen_.find(tid);
  bool named = it != last_seen_.end() && it->second.ts_ns >= start_ns && it->second.ts_ns <= end_ns;
  if (!named) return record("[step not sampled]", std::nullopt, end_ns - start_ns);
  record(step_label(it->second.callback, it->second.task), it->second.task, end_ns - start_ns);
}

void CallbackStats::on_sample(pid_t tid, uint64_t seq, const Frames& frames,
                              const std::optional<TaskInfo>& task) {
  on_sampled_step(tid, seq, callback_of(frames), task);
}

void CallbackStats::on_sampled_step(pid_t tid, uint64_t seq, const std::string& callback,
                                    const std::optional<TaskInfo>& task) {
  credit(tid, seq, callback, task, sample_period_ns_);
}

void CallbackStats::on_off_cpu(pid_t tid, uint64_t seq, const std::string& callback,
                               uint64_t off_ns, const std::optional<TaskInfo>& task) {
  credit(tid, seq, callback, task, off_ns);
}

void CallbackStats::on_busy_end(pid_t tid, uint64_t seq, uint64_t duration_ns) {
  auto it = open_.find(tid);
  if (it == open_.end() || it->second.seq != seq) return;
  OpenSteps& steps = it->second;
  uint64_t total = 0;
  for (const auto& [label, c] : steps.steps) total += c.ns;
  if (total > duration_ns && total > 0) {  // sampling periods longer than the busy period
    capped_++;
    for (auto& [label, c] : steps.steps)
      c.ns = static_cast<uint64_t>(static_cast<double>(c.ns) * duration_ns / total);
  }
  close(steps);
}

std::optional<TaskInfo> CallbackStats::main_task(pid_t tid, uint64_t seq) const {
  auto it = open_.find(tid);
  if (it == open_.end() || it->second.seq != seq) return std::nullopt;
  const TaskInfo* best = nullptr;
  uint64_t best_ns = 0;
  for (const auto& [task, ns] : it->second.task_ns)
    if (!best || ns > best_ns) {
      best = &task;
      best_ns = ns;
    }
  return best ? std::optional<TaskInfo>(*best) : std::nullopt;
}

void CallbackStats::note_stall(const TaskInfo& task) {
  TaskKey key = task_key(task);
  TaskRow& row = tasks_[key];
  row.name = key.first;
  row.coroutine = key.second;
  row.stalls++;
}

std::vector<CallbackRow> CallbackStats::rows() const {
  std::map<std::string, StepTimes> all = steps_;
  for (const auto& [tid, steps] : open_)
    for (const auto& [label, c] : steps.steps) {
      StepTimes& times = all[label];
      times.count++;
      times.total_ns += c.ns;
      times.max_ns = std::max(times.max_ns, c.ns);
      times.kept.push_back(c.ns);
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

std::vector<TaskRow> CallbackStats::task_rows() const {
  std::map<TaskKey, TaskRow> all = tasks_;
  for (const auto& [tid, steps] : open_)
    for (const auto& [label, c] : steps.steps)
      if (c.task) {
        TaskKey key = task_key(*c.task);
        TaskRow& row = all[key];
        row.name = key.first;
        row.coroutine = key.second;
        add_to(row, c.ns);
      }
  std::vector<TaskRow> rows;
  for (auto& [key, row] : all) rows.push_back(std::move(row));
  std::stable_sort(rows.begin(), rows.end(),
                   [](const TaskRow& a, const TaskRow& b) { return a.busy_ns > b.busy_ns; });
  return rows;
}

}  // namespace loopprof
