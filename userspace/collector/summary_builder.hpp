// Accumulates what the end-of-run summary says. Per-thread rows follow the
// live threads: an exited thread's rows leave the live tables (forget_thread);
// only the few that can still make the bounded tables are kept, the others
// are counted and added up.
#pragma once

#include <map>
#include <vector>

#include "bpf/abi.hpp"
#include "output/sink.hpp"

namespace loopprof {

class SummaryBuilder {
 public:
  static constexpr size_t kWorstKept = 5;
  static constexpr size_t kLoopRows = 20;    // loop threads shown, worst first
  static constexpr size_t kThreadRows = 50;  // threads shown, busiest first

  void add_stall(const Stall& stall);
  // Latest per-thread loop counters (threads vanish from the map when they exit).
  void note_loop_thread(pid_t tid, const std::string& name, const lp_thread& state);
  // Per-thread times and histograms from the kernel (latest wins).
  void note_thread_times(pid_t tid, const std::string& name, const lp_task_stats& stats);
  // The thread exited: its rows are final.
  void forget_thread(pid_t tid);
  void set_callbacks(std::vector<CallbackRow> rows, std::string method) {
    callbacks_ = std::move(rows);
    callback_method_ = std::move(method);
  }
  void set_tasks(std::vector<TaskRow> rows) { tasks_ = std::move(rows); }
  // `base` carries pid, command, timing, drops and stop reason.
  Summary build(Summary base) const;

  size_t live_rows() const { return loops_.size() + threads_.size(); }
  size_t exited_rows() const { return exited_loops_.size() + exited_threads_.size(); }

 private:
  Summary build_final(Summary base) const;
  void keep_exited_loop(LoopThreadSummary loop);
  void keep_exited_thread(ThreadTimes times);

  std::map<pid_t, LoopThreadSummary> loops_;  // live threads
  std::map<pid_t, ThreadTimes> threads_;
  std::vector<LoopThreadSummary> exited_loops_;  // the worst few of the exited
  std::vector<ThreadTimes> exited_threads_;      // the busiest few of the exited
  size_t exited_loops_folded_ = 0;               // exited loop rows not kept
  size_t exited_threads_folded_ = 0;
  ThreadTimes exited_folded_times_;  // their times added up
  size_t threads_exited_ = 0;
  std::vector<CallbackRow> callbacks_;
  std::string callback_method_;
  std::vector<TaskRow> tasks_;
  std::vector<Stall> worst_;
  uint64_t stalls_ = 0;
  uint64_t blocked_ns_ = 0;
};

// Ordering of the bounded tables (first = shown first).
bool worse_loop(const LoopThreadSummary& a, const LoopThreadSummary& b);
bool busier_thread(const ThreadTimes& a, const ThreadTimes& b);
// a += b (times only).
void add_thread_times(ThreadTimes& a, const ThreadTimes& b);

}  // namespace loopprof
