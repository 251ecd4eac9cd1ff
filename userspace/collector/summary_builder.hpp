// Accumulates what the end-of-run summary says.
#pragma once

#include <map>

#include "output/sink.hpp"

namespace loopprof {

class SummaryBuilder {
 public:
  static constexpr size_t kWorstKept = 5;

  void add_stall(const Stall& stall);
  // Latest per-thread loop counters (threads vanish from the map when they exit).
  void note_loop_thread(pid_t tid, const std::string& name, uint64_t iterations);
  // `base` carries pid, command, timing, drops and stop reason.
  Summary build(Summary base) const;

 private:
  std::map<pid_t, LoopThreadSummary> loops_;
  std::vector<Stall> worst_;
  uint64_t stalls_ = 0;
  uint64_t blocked_ns_ = 0;
};

}  // namespace loopprof
