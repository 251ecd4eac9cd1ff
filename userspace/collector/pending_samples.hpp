// CPU samples of busy periods that may yet become stalls, kept raw. On a
// healthy loop nearly every busy period ends far below the threshold, and
// unwinding and naming the stacks of all their samples cost more than the
// rest of loopprof together: a sample's stack is resolved only once its busy
// period reaches the threshold (a stall, ended or ongoing); the others are
// dropped when their busy period ends. Fed in ring-buffer order.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "bpf/abi.hpp"

namespace loopprof {

class PendingSamples {
 public:
  struct Sample {
    std::unique_ptr<lp_capture_record> record;
    std::vector<uint8_t> deeper;  // the stack above the record's copy (deep stacks)
  };

  // Keeps a copy of `record` (a sample of busy period record.seq of
  // record.tid) and of `deeper`, its stack extension; samples of the thread's
  // earlier busy periods are dropped. False when the busy period holds
  // kMaxPerPeriod already: resolve it now.
  bool keep(const lp_capture_record& record, std::span<const uint8_t> deeper = {});
  // The samples kept for busy period `seq` of `tid`, oldest first; none are
  // kept for it afterwards.
  std::vector<Sample> take(pid_t tid, uint64_t seq);
  // Busy period `seq` of `tid` ended below the threshold.
  void drop(pid_t tid, uint64_t seq);
  void forget(pid_t tid);

  size_t threads_tracked() const { return threads_.size(); }
  size_t kept() const;

  // Per busy period (a thread has one open at a time): 64 samples are 320 ms
  // at 199 Hz, about 1.3 MB. A longer wait for the threshold resolves the
  // samples past that as they come.
  static constexpr size_t kMaxPerPeriod = 64;
  // Copies kept for reuse rather than freed and allocated again.
  static constexpr size_t kMaxSpare = 16;

 private:
  struct Period {
    uint64_t seq = 0;
    std::vector<Sample> samples;
  };
  void recycle(std::vector<Sample>& samples);

  std::unordered_map<pid_t, Period> threads_;
  std::vector<Sample> spare_;
};

}  // namespace loopprof
