// The copied stack of a capture as one address range: the red zone below sp
// (OpenSSL's SHA-512 AVX2 loop keeps its CFA at [rsp - 8]) joined to the
// bytes from sp up.
#include "unwind/snapshot_bytes.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace loopprof {
namespace {

std::unique_ptr<lp_user_snapshot> snapshot(bool red_zone) {
  auto snap = std::make_unique<lp_user_snapshot>();
  snap->flags = LP_SNAP_REGS | (red_zone ? LP_SNAP_RED_ZONE : 0);
  snap->regs.sp = 0x7ffd0000;
  snap->stack_bytes = 64;
  for (int i = 0; i < LP_SNAP_RED_ZONE_BYTES; i++) snap->red_zone[i] = static_cast<uint8_t>(i);
  for (int i = 0; i < 64; i++) snap->stack[i] = static_cast<uint8_t>(0x80 + i);
  return snap;
}

TEST(SnapshotBytes, RedZoneIsReadableBelowSpWhenCopied) {
  auto snap = snapshot(true);
  const uint64_t sp = snap->regs.sp;
  EXPECT_EQ(snapshot_low(*snap), sp - 128);
  EXPECT_EQ(snapshot_high(*snap), sp + 64);
  uint64_t word = 0;
  ASSERT_TRUE(read_snapshot(*snap, sp - 8, &word, 8));
  EXPECT_EQ(word, 0x7f7e7d7c7b7a7978u);  // red_zone[120..127]
  uint8_t across[4];
  ASSERT_TRUE(read_snapshot(*snap, sp - 2, across, 4));  // straddles sp
  EXPECT_EQ(across[0], 126);
  EXPECT_EQ(across[1], 127);
  EXPECT_EQ(across[2], 0x80);
  EXPECT_EQ(across[3], 0x81);
  EXPECT_TRUE(read_snapshot(*snap, sp - 128, &word, 8));
  EXPECT_FALSE(read_snapshot(*snap, sp - 129, &word, 8));
  EXPECT_TRUE(read_snapshot(*snap, sp + 56, &word, 8));
  EXPECT_FALSE(read_snapshot(*snap, sp + 57, &word, 8));
}

TEST(SnapshotBytes, NothingBelowSpWithoutTheRedZone) {
  auto snap = snapshot(false);
  uint64_t word = 0;
  EXPECT_EQ(snapshot_low(*snap), snap->regs.sp);
  EXPECT_FALSE(read_snapshot(*snap, snap->regs.sp - 8, &word, 8));
  EXPECT_TRUE(read_snapshot(*snap, snap->regs.sp, &word, 8));
  EXPECT_EQ(word, 0x8786858483828180u);
}

// sp is the target's register: near the top of the address space, sp + 16 KiB
// wraps past 2^64. A partial copy there must read only its own bytes (the
// dwarf_unwind fuzzer's finding: the reader took the wrapped end of the stack
// copy for the start of the deeper bytes and read from a null span).
TEST(SnapshotBytes, SpNearTheTopOfTheAddressSpaceReadsOnlyWhatWasCopied) {
  auto snap = snapshot(true);
  snap->regs.sp = ~uint64_t{0} - 100;  // 64 stack bytes fit below 2^64, 16 KiB do not
  const uint64_t sp = snap->regs.sp;
  uint64_t word = 0;
  ASSERT_TRUE(read_snapshot(*snap, sp + 8, &word, 8));
  EXPECT_EQ(word, 0x8f8e8d8c8b8a8988u);  // stack[8..15]
  ASSERT_TRUE(read_snapshot(*snap, sp - 8, &word, 8));
  EXPECT_EQ(word, 0x7f7e7d7c7b7a7978u);
  EXPECT_FALSE(read_snapshot(*snap, sp + 60, &word, 8));  // past the 64 copied bytes
  EXPECT_FALSE(read_snapshot(*snap, sp + 64, &word, 1));
  EXPECT_FALSE(read_snapshot(*snap, 0, &word, 8));
  snap->regs.sp = 16;  // sp - 128 would wrap below 0
  EXPECT_FALSE(read_snapshot(*snap, ~uint64_t{0} - 7, &word, 8));
  EXPECT_FALSE(read_snapshot(*snap, 8, &word, 8));
}

}  // namespace
}  // namespace loopprof
