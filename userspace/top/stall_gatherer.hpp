// An output sink that keeps the stalls that ended since it was last emptied
// (`loopprof top` takes them once per interval). Ongoing reports are not
// kept: top asks for the stalls under way at each interval's end instead.
#pragma once

#include <utility>
#include <vector>

#include "output/sink.hpp"

namespace loopprof::top {

class StallGatherer final : public OutputSink {
 public:
  void stall(const Stall& stall) override {
    if (!stall.ongoing) ended_.push_back(stall);
  }
  Status finish(const Summary&) override { return ok_status(); }
  // The stalls gathered so far; empties the gatherer.
  std::vector<Stall> take() { return std::exchange(ended_, {}); }

 private:
  std::vector<Stall> ended_;
};

}  // namespace loopprof::top
