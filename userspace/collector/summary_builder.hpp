// Accumulates what the end-of-run summary says.
#pragma once

#include <map>

#include "bpf/abi.hpp"
#include "output/sink.hpp"

namespace loopprof {

class SummaryBuilder {
 public:
  static constexpr size_t kWorstKept = 5;

  void add_stall(const Stall& stall);
  // Latest per-thread loop counters (threads vanish from the map when they exit).
  void note_loop_thread(pid_t tid, const std::string& name, const lp_thread& state);
  // Per-thread times and histograms from the kernel (latest wins).
  void note_thread_times(pid_t tid, const std::string& name, const lp_task_stats& stats);
  void set_callbacks(std::vector<CallbackRow> rows, std::string method) {
    callbacks_ = std::move(rows);
    callback_method_ = std::move(method);
  }
  void set_tasks(std::vector<TaskRow> rows) { tasks_ = std::move(rows); }
  // `base` carries pid, command, timing, drops and stop reason.
  Summary build(Summary base) const;

 private:
  Summary build_final(Summary base) const;
  std::map<pid_t, LoopThreadSummary> loops_;
  std::map<pid_t, ThreadTimes> threads_;
  std::vector<CallbackRow> callbacks_;
  std::string callback_method_;
  std::vector<TaskRow> tasks_;
  std::vector<Stall> worst_;
  uint64_t stalls_ = 0;
  uint64_t blocked_ns_ = 0;
};

}  // namespace loopprof
