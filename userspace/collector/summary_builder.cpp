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

void SummaryBuilder::note_loop_thread(pid_t tid, const std::string& name, uint64_t iterations) {
  LoopThreadSummary& loop = loops_[tid];
  loop.tid = tid;
  loop.thread = name;
  loop.iterations = std::max(loop.iterations, iterations);
}

Summary SummaryBuilder::build(Summary base) const {
  base.stalls = stalls_;
  base.blocked_ns = blocked_ns_;
  base.worst = worst_;
  for (const auto& [tid, loop] : loops_)
    if (loop.iterations > 1 || loop.stalls > 0) base.loops.push_back(loop);
  return base;
}

}  // namespace loopprof
