// The stalls of the last minutes with their stacks and process labels, for
// /debug/pprof/stalls?seconds=N and the --pyroscope pushes. Bounded by age
// and by count.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <vector>

#include "agent/process_labels.hpp"
#include "model/stall.hpp"

namespace loopprof::agent {

struct StoredStall {
  std::chrono::steady_clock::time_point at;
  ProcessLabels labels;
  Stall stall;
};

class StallStore {
 public:
  StallStore(std::chrono::seconds keep, size_t max_stalls) : keep_(keep), max_(max_stalls) {}
  void add(const Stall& stall, const ProcessLabels& labels,
           std::chrono::steady_clock::time_point now);
  // Stalls reported in the last `window` (at most the kept span).
  std::vector<StoredStall> since(std::chrono::steady_clock::time_point now,
                                 std::chrono::seconds window) const;
  // Stalls reported after `from`, up to and including `until` (one push
  // interval: consecutive intervals share no stall).
  std::vector<StoredStall> between(std::chrono::steady_clock::time_point from,
                                   std::chrono::steady_clock::time_point until) const;
  std::chrono::seconds keep() const { return keep_; }
  size_t size() const { return stalls_.size(); }

 private:
  std::chrono::seconds keep_;
  size_t max_;
  std::deque<StoredStall> stalls_;
};

}  // namespace loopprof::agent
