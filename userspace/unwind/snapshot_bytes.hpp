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

// Copies [address, address + size) when all of it was copied. Works in
// offsets from the lowest copied byte: sp is the target's register, and
// sp + LP_SNAP_STACK_BYTES (or sp - 128) can wrap past 2^64 (found by the
// dwarf_unwind fuzzer: corpus input regression-sp-near-top-of-address-space).
inline bool read_snapshot(const SnapshotBytes& bytes, uint64_t address, void* out, size_t size) {
  const lp_user_snapshot& snap = bytes.snap;
  const uint64_t sp = snap.regs.sp;
  const uint64_t red = (snap.flags & LP_SNAP_RED_ZONE) ? LP_SNAP_RED_ZONE_BYTES : 0;
  const uint64_t stack = std::min<uint64_t>(snap.stack_bytes, LP_SNAP_STACK_BYTES);
  const uint64_t more = bytes.more.size();  // non-empty only after a whole stack copy
  if (sp < red || address < sp - red) return false;
  uint64_t offset = address - (sp - red);  // [0, red) red zone, then stack, then more
  const uint64_t total = red + stack + more;
  if (offset > total || size > total - offset) return false;
  auto* dst = static_cast<uint8_t*>(out);
  auto take = [&](const uint8_t* from, uint64_t begin, uint64_t length) {
    if (!size || offset >= begin + length) return;
    const size_t n = std::min<uint64_t>(size, begin + length - offset);
    std::memcpy(dst, from + (offset - begin), n);
    dst += n;
    size -= n;
    offset += n;
  };
  take(snap.red_zone + (LP_SNAP_RED_ZONE_BYTES - red), 0, red);
  take(snap.stack, red, stack);
  if (more) take(bytes.more.data(), red + stack, more);
  return size == 0;
}

}  // namespace loopprof
