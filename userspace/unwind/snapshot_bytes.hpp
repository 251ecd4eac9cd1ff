// The stack bytes of a capture as one address range: the red zone below sp
// (when the BPF side could copy it) followed by the bytes from sp upwards.
// Every reader of a snapshot's stack goes through here.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "bpf/abi.hpp"

namespace loopprof {

// Lowest copied address (sp, or sp - 128 with the red zone).
inline uint64_t snapshot_low(const lp_user_snapshot& snap) {
  return (snap.flags & LP_SNAP_RED_ZONE) ? snap.regs.sp - LP_SNAP_RED_ZONE_BYTES : snap.regs.sp;
}

// One past the highest copied address.
inline uint64_t snapshot_high(const lp_user_snapshot& snap) {
  return snap.regs.sp + std::min<uint64_t>(snap.stack_bytes, LP_SNAP_STACK_BYTES);
}

// Copies [address, address + size) when all of it was copied.
inline bool read_snapshot(const lp_user_snapshot& snap, uint64_t address, void* out, size_t size) {
  const uint64_t low = snapshot_low(snap), high = snapshot_high(snap);
  if (address < low || address > high || size > high - address) return false;
  auto* dst = static_cast<uint8_t*>(out);
  const uint64_t sp = snap.regs.sp;
  if (address < sp) {
    const size_t below = std::min<uint64_t>(size, sp - address);
    std::memcpy(dst, snap.red_zone + (address - (sp - LP_SNAP_RED_ZONE_BYTES)), below);
    dst += below;
    size -= below;
    address += below;
  }
  if (size) std::memcpy(dst, snap.stack + (address - sp), size);
  return true;
}

}  // namespace loopprof
