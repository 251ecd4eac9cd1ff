// One loop thread's cumulative counters at one moment, as `loopprof top`
// diffs them: read from the kernel's per-thread state (bpf/loop_model.h).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bpf/abi.hpp"

namespace loopprof::top {

struct LoopSnapshot {
  pid_t pid = 0;
  pid_t tid = 0;
  std::string thread;               // thread name
  uint64_t iterations = 0;          // loop waits entered
  uint64_t busy_ns = 0;             // all busy time so far, the open busy period included
  uint64_t idle_ns = 0;             // all time in the loop's wait so far, the open wait included
  uint64_t max_busy_ns = 0;         // longest closed busy period
  std::vector<uint64_t> busy_hist;  // closed busy periods (loop lag), log2 us buckets
  uint64_t open_busy_ns = 0;        // length so far of the busy period under way (0: waiting)
};

// The snapshot of kernel state `state` at `now_ns`. A wait whose start the
// kernel did not see (the thread was already waiting at attach) counts from
// `attach_ns`.
LoopSnapshot loop_snapshot(pid_t pid, pid_t tid, std::string thread, const lp_thread& state,
                           uint64_t now_ns, uint64_t attach_ns);

// Whether `state` is worth a row: a thread that iterates as a loop, has
// stalled, waits in its loop's wait, or is busy past `threshold_ns` now.
bool shows_as_loop(const lp_thread& state, uint64_t now_ns, uint64_t threshold_ns);

}  // namespace loopprof::top
