// The stack bytes of a capture as readable memory: the stack as it was when
// the sample was taken (the live stack has moved on since).
#pragma once

#include <cstring>

#include "bpf/abi.hpp"
#include "python/memory.hpp"

namespace loopprof::node {

class SnapshotMemory final : public python::MemoryReader {
 public:
  explicit SnapshotMemory(const lp_user_snapshot& snapshot) : snapshot_(snapshot) {}
  bool read(uint64_t address, void* out, size_t size) const override {
    const uint64_t sp = snapshot_.regs.sp;
    const uint64_t bytes = std::min<uint64_t>(snapshot_.stack_bytes, LP_SNAP_STACK_BYTES);
    if (address < sp || address - sp > bytes || size > bytes - (address - sp)) return false;
    std::memcpy(out, snapshot_.stack + (address - sp), size);
    return true;
  }

 private:
  const lp_user_snapshot& snapshot_;
};

}  // namespace loopprof::node
