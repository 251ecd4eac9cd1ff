// The stack bytes of a capture as readable memory: the stack as it was when
// the sample was taken (the live stack has moved on since).
#pragma once

#include "bpf/abi.hpp"
#include "python/memory.hpp"
#include "unwind/snapshot_bytes.hpp"

namespace loopprof::node {

class SnapshotMemory final : public python::MemoryReader {
 public:
  explicit SnapshotMemory(const SnapshotBytes& snapshot) : snapshot_(snapshot) {}
  bool read(uint64_t address, void* out, size_t size) const override {
    return read_snapshot(snapshot_, address, out, size);
  }

 private:
  SnapshotBytes snapshot_;
};

}  // namespace loopprof::node
