// How long each asyncio callback step held its loop, grouped by the asyncio
// Task it ran in (the steps of one Task merge under its name) or else by the
// coroutine or callback it ran (the Python frame just under Handle._run).
// Tasks with asyncio's own names ("Task-1", "Task-2", ...: one per request in
// a server) group by coroutine instead, as "Task-*". Both tables are bounded:
// past kMaxRows distinct rows, the rest fold into one "[other ...]" row.
//
// Default (estimate): each CPU sample stands for one sampling period of the
// step it caught, each off-CPU interval for its measured length; what a busy
// period's steps are credited with never exceeds that busy period's measured
// length (its end is shipped by the kernel for every busy period with
// captures). Precise (--precise): uprobes time every step.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/frame.hpp"
#include "model/stall.hpp"

namespace loopprof {

struct CallbackRow {
  std::string callback;  // "function (file.py)", or `Task "name"` for a named Task's steps
  uint64_t count = 0;    // steps seen
  uint64_t total_ns = 0;
  uint64_t p50_ns = 0;
  uint64_t p99_ns = 0;
  uint64_t max_ns = 0;
};

struct TaskRow {
  std::string name;  // the Task's name; "Task-*" for asyncio's default names
  std::string coroutine;
  uint64_t steps = 0;
  uint64_t busy_ns = 0;   // time its steps held the loop
  uint64_t worst_ns = 0;  // longest step
  uint64_t stalls = 0;    // stalls it was the main task of
};

// The callback a loop thread's stack is running ("" if none is recognised).
std::string callback_of(const Frames& frames);

// True for the names asyncio gives tasks nobody named: "Task-" and a number.
bool is_default_task_name(const std::string& name);

class CallbackStats {
 public:
  // precise: steps come from on_step() (uprobes); captures only name them.
  CallbackStats(uint64_t sample_period_ns, bool precise)
      : sample_period_ns_(sample_period_ns), precise_(precise) {}

  // Precise mode: a capture of `tid` at ts_ns ran `callback` (in `task`).
  void note_callback(pid_t tid, uint64_t ts_ns, std::string callback,
                     std::optional<TaskInfo> task = std::nullopt);
  // Precise mode: one callback step, timed by the uprobes.
  void on_step(pid_t tid, uint64_t start_ns, uint64_t end_ns);
  bool precise() const { return precise_; }

  void on_sample(pid_t tid, uint64_t seq, const Frames& frames,
                 const std::optional<TaskInfo>& task = std::nullopt);
  // The same, with the callback already named (callback_of() of its frames).
  void on_sampled_step(pid_t tid, uint64_t seq, const std::string& callback,
                       const std::optional<TaskInfo>& task = std::nullopt);
  void on_off_cpu(pid_t tid, uint64_t seq, const std::string& callback, uint64_t off_ns,
                  const std::optional<TaskInfo>& task = std::nullopt);
  // The busy period `seq` of `tid` ended after duration_ns (measured in the
  // kernel): its steps are capped to it and recorded.
  void on_busy_end(pid_t tid, uint64_t seq, uint64_t duration_ns);
  // The Task that ran most of the busy period `seq` so far (nullopt: none).
  std::optional<TaskInfo> main_task(pid_t tid, uint64_t seq) const;
  // A stall's main task: counted in its row.
  void note_stall(const TaskInfo& task);
  // The thread exited: its open busy period is closed, its state dropped.
  void forget(pid_t tid);

  // Heaviest total first.
  std::vector<CallbackRow> rows() const;
  std::vector<TaskRow> task_rows() const;
  // Busy periods whose sampled steps added up to more than their length.
  uint64_t capped_periods() const { return capped_; }

  // Step times kept per callback for the quantiles: beyond this, a uniform
  // sample of them (count, total and max stay exact).
  static constexpr size_t kKeptSteps = 4096;
  // Distinct callbacks, and distinct task groups, kept apart.
  static constexpr size_t kMaxRows = 1000;
  size_t threads_tracked() const { return open_.size() + last_seen_.size(); }

 private:
  struct Credit {
    uint64_t ns = 0;
    std::optional<TaskInfo> task;
  };
  struct OpenSteps {
    uint64_t seq = 0;
    std::map<std::string, Credit> steps;   // label -> time in this busy period (estimate)
    std::map<TaskInfo, uint64_t> task_ns;  // what each task was seen running (both modes)
  };
  OpenSteps& open(pid_t tid, uint64_t seq);
  void close(OpenSteps& steps);
  void record(const std::string& label, const std::optional<TaskInfo>& task, uint64_t ns);
  void credit(pid_t tid, uint64_t seq, const std::string& callback,
              const std::optional<TaskInfo>& task, uint64_t ns);

  // Step times of one callback: exact totals, a bounded uniform sample.
  struct StepTimes {
    uint64_t count = 0;
    uint64_t total_ns = 0;
    uint64_t max_ns = 0;
    std::vector<uint64_t> kept;
  };
  void add_step(const std::string& callback, uint64_t ns);
  uint64_t next_random();

  struct Seen {
    uint64_t ts_ns = 0;
    std::string callback;
    std::optional<TaskInfo> task;
  };
  uint64_t sample_period_ns_;
  bool precise_;
  std::unordered_map<pid_t, Seen> last_seen_;  // precise mode
  std::unordered_map<pid_t, OpenSteps> open_;
  std::map<std::string, StepTimes> steps_;
  uint64_t random_state_ = 0x9e3779b97f4a7c15ull;  // deterministic: same input, same rows
  // Task rows by (name, coroutine); default-named tasks as ("Task-*", coroutine).
  using TaskKey = std::pair<std::string, std::string>;
  TaskKey task_key(const TaskInfo& task) const;
  std::map<TaskKey, TaskRow> tasks_;
  uint64_t capped_ = 0;
};

}  // namespace loopprof
