#include "collector/summary_builder.hpp"

#include <algorithm>

namespace loopprof {

namespace {

// A loop row is worth a line once it looped or stalled.
bool is_loop_row(const LoopThreadSummary& loop) {
  return loop.iterations > 1 || loop.stalls > 0;
}

uint64_t busy_time(const ThreadTimes& t) {
  return t.running_ns + t.runqueue_ns;
}

// Sorts by `better` and keeps `limit`; returns how many were cut.
template <typename Row, typename Better>
size_t keep_best(std::vector<Row>& rows, size_t limit, Better better) {
  std::stable_sort(rows.begin(), rows.end(), better);
  size_t cut = rows.size() > limit ? rows.size() - limit : 0;
  rows.resize(rows.size() - cut);
  return cut;
}

}  // namespace

bool worse_loop(const LoopThreadSummary& a, const LoopThreadSummary& b) {
  if (a.blocked_ns != b.blocked_ns) return a.blocked_ns > b.blocked_ns;
  if (a.busy_ns != b.busy_ns) return a.busy_ns > b.busy_ns;
  return a.iterations > b.iterations;
}

bool busier_thread(const ThreadTimes& a, const ThreadTimes& b) {
  return busy_time(a) > busy_time(b);
}

void add_thread_times(ThreadTimes& a, const ThreadTimes& b) {
  a.running_ns += b.running_ns;
  a.runqueue_ns += b.runqueue_ns;
  a.futex_ns += b.futex_ns;
  a.sleep_ns += b.sleep_ns;
  a.io_ns += b.io_ns;
  a.other_ns += b.other_ns;
  a.idle_ns += b.idle_ns;
}

void SummaryBuilder::add_stall(const Stall& stall) {
  ++stalls_;
  blocked_ns_ += stall.duration_ns;
  LoopThreadSummary& loop = loops_[stall.tid];
  loop.tid = stall.tid;
  if (loop.thread.empty()) loop.thread = stall.thread;
  loop.stalls++;
  loop.blocked_ns += stall.duration_ns;
  loop.worst_ns = std::max(loop.worst_ns, stall.duration_ns);

  worst_.push_back(stall);
  std::stable_sort(worst_.begin(), worst_.end(),
                   [](const Stall& a, const Stall& b) { return a.duration_ns > b.duration_ns; });
  if (worst_.size() > kWorstKept) worst_.pop_back();
}

void SummaryBuilder::note_loop_thread(pid_t tid, const std::string& name, const lp_thread& state) {
  LoopThreadSummary& loop = loops_[tid];
  loop.tid = tid;
  loop.thread = name;
  loop.iterations = std::max<uint64_t>(loop.iterations, state.iterations);
  loop.busy_ns = std::max<uint64_t>(loop.busy_ns, state.busy_total_ns);
  loop.idle_ns = std::max<uint64_t>(loop.idle_ns, state.idle_total_ns);
  loop.busy_max_ns = std::max<uint64_t>(loop.busy_max_ns, state.max_busy_ns);
  loop.busy_hist.counts.assign(std::begin(state.busy_hist), std::end(state.busy_hist));
}

void SummaryBuilder::note_thread_times(pid_t tid, const std::string& name,
                                       const lp_task_stats& stats) {
  ThreadTimes& t = threads_[tid];
  t.tid = tid;
  if (!name.empty()) t.thread = name;
  t.running_ns = stats.running_ns;
  t.runqueue_ns = stats.off_ns[LP_OFF_RUNQ];
  t.futex_ns = stats.off_ns[LP_OFF_FUTEX];
  t.sleep_ns = stats.off_ns[LP_OFF_SLEEP];
  t.io_ns = stats.off_ns[LP_OFF_IO];
  t.other_ns = stats.off_ns[LP_OFF_OTHER];
  t.idle_ns = stats.off_ns[LP_OFF_IDLE];
  t.runq_hist.counts.assign(std::begin(stats.hist[LP_HIST_RUNQ]),
                            std::end(stats.hist[LP_HIST_RUNQ]));
  t.futex_hist.counts.assign(std::begin(stats.hist[LP_HIST_FUTEX]),
                             std::end(stats.hist[LP_HIST_FUTEX]));
}

void SummaryBuilder::forget_thread(pid_t tid) {
  if (auto it = loops_.find(tid); it != loops_.end()) {
    if (is_loop_row(it->second)) keep_exited_loop(std::move(it->second));
    loops_.erase(it);
  }
  if (auto it = threads_.find(tid); it != threads_.end()) {
    ++threads_exited_;
    keep_exited_thread(std::move(it->second));
    threads_.erase(it);
  }
}

// Only the rows that could still be shown are kept: the worst kLoopRows of the
// exited ones are enough to rank them against the live ones at the end. The
// vector is cut back when it has grown to twice that (amortized sorting).
void SummaryBuilder::keep_exited_loop(LoopThreadSummary loop) {
  exited_loops_.push_back(std::move(loop));
  if (exited_loops_.size() >= 2 * kLoopRows)
    exited_loops_folded_ += keep_best(exited_loops_, kLoopRows, worse_loop);
}

void SummaryBuilder::keep_exited_thread(ThreadTimes times) {
  exited_threads_.push_back(std::move(times));
  if (exited_threads_.size() < 2 * kThreadRows) return;
  std::stable_sort(exited_threads_.begin(), exited_threads_.end(), busier_thread);
  for (size_t i = kThreadRows; i < exited_threads_.size(); ++i)
    add_thread_times(exited_folded_times_, exited_threads_[i]);
  exited_threads_folded_ += exited_threads_.size() - kThreadRows;
  exited_threads_.resize(kThreadRows);
}

Summary SummaryBuilder::build(Summary base) const {
  // Loops still blocked when loopprof stopped count with their time so far,
  // as in the folded output.
  SummaryBuilder all = *this;
  for (const Stall& stall : base.ongoing_at_exit) all.add_stall(stall);
  return all.build_final(std::move(base));
}

Summary SummaryBuilder::build_final(Summary base) const {
  base.stalls = stalls_;
  base.blocked_ns = blocked_ns_;
  base.worst = worst_;

  base.loops = exited_loops_;
  for (const auto& [tid, loop] : loops_)
    if (is_loop_row(loop)) base.loops.push_back(loop);
  base.loops_not_shown = exited_loops_folded_ + keep_best(base.loops, kLoopRows, worse_loop);

  base.threads = exited_threads_;
  for (const auto& [tid, times] : threads_) base.threads.push_back(times);
  std::stable_sort(base.threads.begin(), base.threads.end(), busier_thread);
  base.threads_not_shown_times = exited_folded_times_;
  for (size_t i = kThreadRows; i < base.threads.size(); ++i)
    add_thread_times(base.threads_not_shown_times, base.threads[i]);
  base.threads_not_shown = exited_threads_folded_;
  if (base.threads.size() > kThreadRows) {
    base.threads_not_shown += base.threads.size() - kThreadRows;
    base.threads.resize(kThreadRows);
  }
  base.threads_exited = threads_exited_;

  base.callbacks = callbacks_;
  base.callback_method = callback_method_;
  base.tasks = tasks_;
  return base;
}

}  // namespace loopprof
