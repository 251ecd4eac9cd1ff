#include "collector/summary_builder.hpp"

#include <algorithm>

namespace loopprof {

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
  for (const auto& [tid, loop] : loops_)
    if (loop.iterations > 1 || loop.stalls > 0) base.loops.push_back(loop);
  for (const auto& [tid, times] : threads_) base.threads.push_back(times);
  base.callbacks = callbacks_;
  base.callback_method = callback_method_;
  base.tasks = tasks_;
  std::stable_sort(base.threads.begin(), base.threads.end(),
                   [](const ThreadTimes& a, const ThreadTimes& b) {
                     return a.running_ns + a.runqueue_ns > b.running_ns + b.runqueue_ns;
                   });
  return base;
}

}  // namespace loopprof
