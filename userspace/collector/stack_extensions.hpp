// Deep stacks: joins each LP_REC_STACK_MORE record (the stack above a
// capture's 16 KiB copy) to its capture. The BPF side reserves it right
// before the capture, so it comes out of the ring buffer first; it waits here
// (one per thread) until the capture with the same (tid, ts_ns) takes it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "bpf/abi.hpp"

namespace loopprof {

class StackExtensions {
 public:
  // Keeps the record until its capture comes. False: malformed.
  bool add(const void* data, size_t size);
  // The stack bytes above `record`'s copy: empty when it has none, or when
  // they were lost (dropped in the kernel, or never seen: counted in lost()).
  // Valid until the next take().
  std::span<const uint8_t> take(const lp_capture_record& record);
  void forget(pid_t tid) { pending_.erase(tid); }

  size_t threads_tracked() const { return pending_.size(); }
  uint64_t joined() const { return joined_; }
  uint64_t record_bytes() const { return record_bytes_; }  // ring-buffer bytes of the records
  uint64_t lost() const { return lost_; }  // captures that unwind with their 16 KiB only

 private:
  struct Pending {
    uint64_t ts_ns = 0;
    uint64_t sp = 0;
    std::vector<uint8_t> bytes;
  };
  std::unordered_map<pid_t, Pending> pending_;
  std::vector<uint8_t> taken_;
  uint64_t joined_ = 0;
  uint64_t record_bytes_ = 0;
  uint64_t lost_ = 0;
};

}  // namespace loopprof
