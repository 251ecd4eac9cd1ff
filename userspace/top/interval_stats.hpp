// `loopprof top`'s arithmetic, free of the kernel and the terminal: from the
// cumulative per-loop counters read at the end of each interval and the
// stalls seen during it, what each loop did in that interval (lag
// percentiles, utilization), its stall rate and worst stall over a sliding
// window, and the heaviest stall stacks.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "model/stall.hpp"
#include "top/loop_snapshot.hpp"

namespace loopprof::top {

// A stall reduced to what a row shows.
struct StallBrief {
  pid_t pid = 0;
  pid_t tid = 0;
  uint64_t seq = 0;
  uint64_t duration_ns = 0;  // so far, while ongoing
  bool ongoing = false;
  std::string culprit;   // stall_culprit()
  std::string cause;     // main_cause(): "sleep", "lock", "on_cpu", ...
  uint64_t seen_ns = 0;  // last interval end that saw it
};

struct LoopRow {
  pid_t pid = 0;
  pid_t tid = 0;
  std::string thread;
  uint64_t iterations = 0;  // loop iterations that ended in the interval
  // Loop lag (busy time per iteration) of the iterations that ended in the
  // interval: p50/p99 are log2 bucket upper bounds, 0 when none ended.
  uint64_t lag_p50_ns = 0;
  uint64_t lag_p99_ns = 0;
  // The longest busy period of the interval, the one under way included.
  // Not exact when only the histogram bounds it (then it is an upper bound).
  uint64_t lag_max_ns = 0;
  bool lag_max_exact = true;
  double utilization = 0;        // busy / (busy + idle in the loop's wait) over the interval
  uint64_t open_busy_ns = 0;     // busy right now for this long (0: in its wait)
  uint64_t stalls = 0;           // stalls that ended or were under way in the interval
  double stalls_per_minute = 0;  // over the window
  bool has_worst = false;
  StallBrief worst;  // worst stall over the window
};

// One stack of the interval's stalls, from the root down to its culprit
// frame (stacks that differ only below it are merged), and the stall time
// spent in it.
struct StackRow {
  pid_t pid = 0;
  pid_t tid = 0;
  std::string thread;
  CpuState state = CpuState::on_cpu;
  Frames frames;
  uint64_t weight_ns = 0;
};

struct TopFrame {
  uint64_t now_ns = 0;
  uint64_t interval_ns = 0;      // since the previous frame
  uint64_t window_ns = 0;        // what stalls/min and the worst stall cover
  std::vector<LoopRow> loops;    // by pid, tid
  std::vector<StackRow> stacks;  // heaviest first
  uint64_t stacks_ns = 0;        // end of the interval the stacks are from (0: none yet)
};

class IntervalAggregator {
 public:
  static constexpr uint64_t kDefaultWindowNs = 60'000'000'000ull;
  static constexpr size_t kStacksKept = 20;

  // `start_ns`: when counting began (the kernel counters were zero).
  explicit IntervalAggregator(uint64_t start_ns, uint64_t window_ns = kDefaultWindowNs)
      : start_ns_(start_ns), last_ns_(start_ns), window_ns_(window_ns) {}

  // The interval ending at `now_ns`: `loops` are the loop threads' counters
  // now; `stalls` the stalls that ended since the last call plus those under
  // way now (`ongoing`, their stacks so far). A thread missing from `loops`
  // has no row (it exited or stopped being a loop).
  TopFrame next(uint64_t now_ns, const std::vector<LoopSnapshot>& loops,
                const std::vector<Stall>& stalls);

 private:
  using ThreadKey = std::pair<pid_t, pid_t>;            // pid, tid
  using StallKey = std::tuple<pid_t, pid_t, uint64_t>;  // pid, tid, seq

  LoopRow row_for(const LoopSnapshot& now, const std::vector<const Stall*>& ended) const;
  void remember(const Stall& stall, uint64_t now_ns);
  std::vector<StackRow> heaviest_stacks(const std::vector<Stall>& stalls) const;

  uint64_t start_ns_;
  uint64_t last_ns_;
  uint64_t window_ns_;
  std::map<ThreadKey, LoopSnapshot> previous_;
  std::map<StallKey, StallBrief> recent_;  // stalls seen within the window
  std::vector<StackRow> last_stacks_;
  uint64_t last_stacks_ns_ = 0;
};

}  // namespace loopprof::top
