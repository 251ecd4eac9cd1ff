// Pairs the stacks captured during a busy period with the stall that ends it.
// Fed in ring-buffer order; knows nothing of BPF or /proc, so it is unit tested
// with synthetic sequences.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "model/stall.hpp"

namespace loopprof {

// Stall totals as measured in the kernel.
struct StallTimes {
  uint64_t seq = 0;
  uint64_t start_ns = 0;
  uint64_t duration_ns = 0;
  uint64_t on_cpu_ns = 0;
  uint64_t off_cpu_ns = 0;
};

class StallAssembler {
 public:
  // A CPU sample of a busy loop thread.
  void on_sample(pid_t tid, uint64_t seq, Frames frames);
  // A busy loop thread left the CPU with this stack.
  void on_switch_out(pid_t tid, uint64_t seq, uint64_t ts_ns, Frames frames);
  // It ran again after off_ns off-CPU.
  void on_resume(pid_t tid, uint64_t seq, uint64_t off_ns);
  // The busy period `times.seq` ended as a stall: its stacks, weights adding
  // up to the duration. Forgets the busy period.
  Stall finish(pid_t tid, const StallTimes& times);
  // A view of a busy period still open at now_ns (nothing is forgotten).
  Stall ongoing(pid_t tid, const StallTimes& times_so_far, uint64_t now_ns) const;
  // The thread is gone.
  void forget(pid_t tid) { threads_.erase(tid); }
  size_t threads_tracked() const { return threads_.size(); }

 private:
  struct OpenOffCpu {
    Frames frames;
    uint64_t since_ns = 0;
  };
  struct BusyPeriod {
    uint64_t seq = 0;
    std::map<Frames, uint64_t> samples;      // stack -> sample count
    std::map<Frames, uint64_t> off_cpu_ns;   // stack -> off-CPU time
    std::optional<OpenOffCpu> open_off_cpu;  // switched out, not back yet
  };

  BusyPeriod& period(pid_t tid, uint64_t seq);
  static std::vector<WeightedStack> weigh(const BusyPeriod& period, const StallTimes& times,
                                          uint64_t open_off_ns);

  std::unordered_map<pid_t, BusyPeriod> threads_;
};

// Frames used where time was measured but no stack was captured for it.
Frames unsampled_on_cpu_frames();
Frames uncaptured_off_cpu_frames();

}  // namespace loopprof
