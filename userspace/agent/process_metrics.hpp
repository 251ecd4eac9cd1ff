// The metrics of one watched process, kept as counters that never go
// backwards while it lives: the kernel's per-thread values (lp_thread,
// lp_task_stats) are read as snapshots; a thread that goes away leaves its
// last values in a retired total, so sums stay monotonic. Loop threads are
// labelled by thread name (bounded: no TID labels).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agent/exposition.hpp"
#include "agent/process_labels.hpp"
#include "bpf/abi.hpp"
#include "model/stall.hpp"

namespace loopprof::agent {

// Stall causes as --events names them (main_cause), in metric order.
inline constexpr std::array<const char*, 7> kStallCauses = {"on_cpu", "runqueue", "lock", "gil",
                                                            "sleep",  "io",       "other"};

struct LoopTotals {
  uint64_t iterations = 0;
  uint64_t busy_ns = 0;
  uint64_t idle_ns = 0;
  std::array<uint64_t, LP_HIST_BUCKETS> busy_hist{};  // log2 us, as lp_thread
  void add(const LoopTotals& other);
  void subtract(const LoopTotals& other);
};

struct TaskTotals {
  uint64_t runq_ns = 0;
  uint64_t futex_ns = 0;
  std::array<uint64_t, LP_HIST_BUCKETS> runq_hist{};
  std::array<uint64_t, LP_HIST_BUCKETS> futex_hist{};
  void add(const TaskTotals& other);
  void subtract(const TaskTotals& other);
};

struct StallTotals {
  std::array<uint64_t, kStallCauses.size()> count{};
  std::array<uint64_t, kStallCauses.size()> ns{};
};

LoopTotals loop_totals_of(const lp_thread& state);
TaskTotals task_totals_of(const lp_task_stats& stats);

class ProcessMetrics {
 public:
  explicit ProcessMetrics(ProcessLabels labels) : labels_(std::move(labels)) {}

  const ProcessLabels& labels() const { return labels_; }
  void set_runtime(std::string runtime) { labels_.runtime = std::move(runtime); }

  // A final stall (not an ongoing report).
  void on_stall(const Stall& stall);
  // This process's entries of the `threads` map; `name_of` names a TID.
  template <typename NameOf>
  void update_loops(const std::vector<std::pair<pid_t, lp_thread>>& threads, NameOf name_of);
  // A loop thread's final counters (LP_REC_LOOP_EXIT).
  void on_loop_exit(pid_t tid, const std::string& name, const lp_thread& state);
  // This process's entries of the `task_stats` map.
  void update_tasks(const std::vector<std::pair<pid_t, lp_task_stats>>& tasks);
  // A thread's final times (LP_REC_THREAD_EXIT): its entry left the map.
  void on_thread_exit(pid_t tid, const lp_task_stats& final_stats);

  // Totals per loop thread name / cause, and for the whole process.
  std::map<std::string, LoopTotals> loops() const;
  const std::map<std::string, StallTotals>& stalls() const { return stalls_; }
  TaskTotals tasks() const;
  uint64_t gil_wait_ns() const { return gil_wait_ns_; }

  // Labels of every series of this process (pid, comm, service, runtime).
  Labels base_labels() const;

 private:
  struct LiveLoop {
    std::string name;
    LoopTotals totals;
  };
  ProcessLabels labels_;
  std::unordered_map<pid_t, LiveLoop> live_loops_;
  std::map<std::string, LoopTotals> retired_loops_;
  // Loop threads that left the map at the last update: their final record
  // may still be on its way (it then replaces the snapshot retired here).
  std::unordered_map<pid_t, LiveLoop> vanished_loops_;
  std::unordered_map<pid_t, TaskTotals> live_tasks_;
  TaskTotals retired_tasks_;
  // Threads that left the map at the last update, retired with their last
  // snapshot until their thread-exit record replaces it.
  std::unordered_map<pid_t, TaskTotals> vanished_tasks_;
  std::map<std::string, StallTotals> stalls_;  // by thread name
  uint64_t gil_wait_ns_ = 0;
};

template <typename NameOf>
void ProcessMetrics::update_loops(const std::vector<std::pair<pid_t, lp_thread>>& threads,
                                  NameOf name_of) {
  std::unordered_map<pid_t, LiveLoop> seen;
  for (const auto& [tid, state] : threads) {
    if (state.iterations == 0 && state.loop_family == LP_WAIT_NONE) continue;  // no loop yet
    auto it = live_loops_.find(tid);
    std::string name = it != live_loops_.end() ? it->second.name : name_of(tid);
    seen[tid] = LiveLoop{std::move(name), loop_totals_of(state)};
  }
  vanished_loops_.clear();
  for (auto& [tid, loop] : live_loops_)  // gone: their last values, until the final record
    if (!seen.count(tid)) {
      retired_loops_[loop.name].add(loop.totals);
      vanished_loops_[tid] = loop;
    }
  live_loops_ = std::move(seen);
}

}  // namespace loopprof::agent
