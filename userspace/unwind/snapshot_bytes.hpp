// The stack bytes of a capture as one address range: the red zone below sp
// (when the BPF side could copy it), the bytes from sp upwards, and for deep
// stacks the bytes above those that an LP_REC_STACK_MORE record carried.
// Every reader of a snapshot's stack goes through here.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>

#include "bpf/abi.hpp"

namespace loopprof {

// A capture's snapshot and the deeper stack bytes joined to it (empty: none;
// see collector/stack_extensions.hpp). Refers to both: keep them alive.
struct SnapshotBytes {
  SnapshotBytes(const lp_user_snapshot& snapshot,  // NOLINT: a snapshot alone is whole
                std::span<const uint8_t> deeper = {})
      : snap(snapshot), more(whole_copy() ? deeper : std::span<const uint8_t>{}) {}

  const lp_user_snapshot& snap;
  std::span<const uint8_t> more;  // [sp + LP_SNAP_STACK_BYTES, + more.size())

 private:
  // Only the continuation of a whole copy is contiguous with it.
  bool whole_copy() const { return snap.stack_bytes == LP_SNAP_STACK_BYTES; }
};

// Lowest copied address (sp, or sp - 128 with the red zone).
inline uint64_t snapshot_low(const SnapshotBytes& bytes) {
  const lp_user_snapshot& snap = bytes.snap;
  return (snap.flags & LP_SNAP_RED_ZONE) ? snap.regs.sp - LP_SNAP_RED_ZONE_BYTES : snap.regs.sp;
}

// One past the highest copied address.
inline uint64_t snapshot_high(const SnapshotBytes& bytes) {
  const lp_user_snapshot& snap = bytes.snap;
  return snap.regs.sp + std::min<uint64_t>(snap.stack_bytes, LP_SNAP_STACK_BYTES) +
         bytes.more.size();
}

// Copies [address, address + size) when all of it was copied.
inline bool read_snapshot(const SnapshotBytes& bytes, uint64_t address, void* out, size_t size) {
  const uint64_t low = snapshot_low(bytes), high = snapshot_high(bytes);
  if (address < low || address > high || size > high - address) return false;
  const lp_user_snapshot& snap = bytes.snap;
  auto* dst = static_cast<uint8_t*>(out);
  const uint64_t sp = snap.regs.sp, more_start = sp + LP_SNAP_STACK_BYTES;
  if (address < sp) {
    const size_t below = std::min<uint64_t>(size, sp - address);
    std::memcpy(dst, snap.red_zone + (address - (sp - LP_SNAP_RED_ZONE_BYTES)), below);
    dst += below;
    size -= below;
    address += below;
  }
  if (size && address < more_start) {
    const size_t in_stack = std::min<uint64_t>(size, more_start - address);
    std::memcpy(dst, snap.stack + (address - sp), in_stack);
    dst += in_stack;
    size -= in_stack;
    address += in_stack;
  }
  if (size) std::memcpy(dst, bytes.more.data() + (address - more_start), size);
  return true;
}

}  // namespace loopprof
