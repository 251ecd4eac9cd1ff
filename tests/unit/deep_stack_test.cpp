// Deep stacks: the stack bytes above a capture's 16 KiB copy
// (LP_REC_STACK_MORE) joined to their capture (StackExtensions), read as one
// range with it (SnapshotBytes), and unwound through (a real recursion of
// this test, ~42 KiB deep, on its own thread).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "collector/stack_extensions.hpp"
#include "self_snapshot.hpp"
#include "unwind/dwarf_unwinder.hpp"
#include "unwind/snapshot_bytes.hpp"

namespace {

using loopprof::SnapshotBytes;
using loopprof::StackExtensions;

constexpr size_t kHeader = offsetof(lp_stack_more_record, stack);

// A record as the ring buffer holds it: the header, then `reserved` bytes.
std::vector<uint8_t> more_record(uint32_t tid, uint64_t ts_ns, uint64_t sp,
                                 const std::vector<uint8_t>& bytes,
                                 size_t reserved = LP_SNAP_MORE_SMALL_BYTES) {
  std::vector<uint8_t> out(kHeader + reserved);
  lp_stack_more_record header{};
  header.type = LP_REC_STACK_MORE;
  header.pid = 1;
  header.tid = tid;
  header.bytes = static_cast<uint32_t>(bytes.size());
  header.ts_ns = ts_ns;
  header.sp = sp;
  std::memcpy(out.data(), &header, kHeader);
  std::copy(bytes.begin(), bytes.end(), out.begin() + kHeader);
  return out;
}

std::unique_ptr<lp_capture_record> capture(uint32_t tid, uint64_t ts_ns, uint64_t sp,
                                           uint32_t flags) {
  auto r = std::make_unique<lp_capture_record>();
  r->type = LP_REC_CAPTURE;
  r->tid = tid;
  r->ts_ns = ts_ns;
  r->snap.regs.sp = sp;
  r->snap.stack_bytes = LP_SNAP_STACK_BYTES;
  r->snap.flags = LP_SNAP_REGS | flags;
  return r;
}

TEST(StackExtensions, JoinsTheRecordToTheCaptureWithItsTidAndTime) {
  StackExtensions joins;
  const std::vector<uint8_t> bytes = {1, 2, 3, 4, 5, 6, 7, 8};
  const auto rec = more_record(7, 1000, 0x7000, bytes);
  ASSERT_TRUE(joins.add(rec.data(), rec.size()));
  // Another thread's capture does not take it.
  EXPECT_TRUE(joins.take(*capture(8, 1000, 0x7000, LP_SNAP_MORE)).empty());
  const auto got = joins.take(*capture(7, 1000, 0x7000, LP_SNAP_MORE));
  EXPECT_EQ(std::vector<uint8_t>(got.begin(), got.end()), bytes);
  EXPECT_EQ(joins.joined(), 1u);
  EXPECT_EQ(joins.threads_tracked(), 0u) << "taken: nothing kept";
  EXPECT_EQ(joins.lost(), 1u) << "thread 8's capture said it had one";
}

TEST(StackExtensions, ACaptureWithoutTheFlagLeavesTheRecord) {
  StackExtensions joins;
  const auto rec = more_record(7, 1000, 0x7000, {9, 9});
  ASSERT_TRUE(joins.add(rec.data(), rec.size()));
  EXPECT_TRUE(joins.take(*capture(7, 900, 0x7000, 0)).empty());
  EXPECT_EQ(joins.lost(), 0u);
  EXPECT_EQ(joins.take(*capture(7, 1000, 0x7000, LP_SNAP_MORE)).size(), 2u);
}

TEST(StackExtensions, AnotherCaptureOfTheThreadGetsNothing) {
  StackExtensions joins;
  const auto rec = more_record(7, 1000, 0x7000, {9, 9});
  ASSERT_TRUE(joins.add(rec.data(), rec.size()));
  EXPECT_TRUE(joins.take(*capture(7, 1001, 0x7000, LP_SNAP_MORE)).empty()) << "other time";
  EXPECT_TRUE(joins.take(*capture(7, 1000, 0x7008, LP_SNAP_MORE)).empty()) << "other sp";
  EXPECT_EQ(joins.lost(), 2u);
  // A newer record of the thread replaces one whose capture never came.
  const auto newer = more_record(7, 2000, 0x6000, {1});
  ASSERT_TRUE(joins.add(newer.data(), newer.size()));
  EXPECT_EQ(joins.threads_tracked(), 1u);
  EXPECT_TRUE(joins.take(*capture(7, 1000, 0x7000, LP_SNAP_MORE)).empty());
  EXPECT_EQ(joins.take(*capture(7, 2000, 0x6000, LP_SNAP_MORE)).size(), 1u);
}

TEST(StackExtensions, ADroppedRecordIsCountedAndTheCaptureKeepsItsCopy) {
  StackExtensions joins;
  EXPECT_TRUE(joins.take(*capture(7, 1000, 0x7000, LP_SNAP_MORE_LOST)).empty());
  EXPECT_EQ(joins.lost(), 1u);
}

TEST(StackExtensions, RefusesMalformedRecordsAndForgetsExitedThreads) {
  StackExtensions joins;
  auto rec = more_record(7, 1000, 0x7000, {1, 2, 3});
  EXPECT_FALSE(joins.add(rec.data(), kHeader - 1));
  auto bad = rec;
  reinterpret_cast<lp_stack_more_record*>(bad.data())->bytes = LP_SNAP_MORE_SMALL_BYTES + 1;
  EXPECT_FALSE(joins.add(bad.data(), bad.size())) << "more bytes than the record holds";
  ASSERT_TRUE(joins.add(rec.data(), rec.size()));
  joins.forget(7);
  EXPECT_EQ(joins.threads_tracked(), 0u);
  EXPECT_TRUE(joins.take(*capture(7, 1000, 0x7000, LP_SNAP_MORE)).empty());
}

TEST(SnapshotBytes, ReadsAcrossTheCopyAndTheDeeperBytes) {
  auto snap = std::make_unique<lp_user_snapshot>();
  const uint64_t sp = 0x7ffd0000;
  snap->regs.sp = sp;
  snap->stack_bytes = LP_SNAP_STACK_BYTES;
  snap->flags = LP_SNAP_REGS;
  for (size_t i = 0; i < LP_SNAP_STACK_BYTES; i++) snap->stack[i] = static_cast<uint8_t>(i);
  std::vector<uint8_t> more(64);
  for (size_t i = 0; i < more.size(); i++) more[i] = static_cast<uint8_t>(0xa0 + i);
  const SnapshotBytes bytes(*snap, more);
  EXPECT_EQ(loopprof::snapshot_high(bytes), sp + LP_SNAP_STACK_BYTES + 64);
  uint8_t across[8];
  ASSERT_TRUE(loopprof::read_snapshot(bytes, sp + LP_SNAP_STACK_BYTES - 4, across, 8));
  const uint8_t want[8] = {0xfc, 0xfd, 0xfe, 0xff, 0xa0, 0xa1, 0xa2, 0xa3};
  EXPECT_EQ(std::memcmp(across, want, 8), 0);
  uint64_t word;
  EXPECT_TRUE(loopprof::read_snapshot(bytes, sp + LP_SNAP_STACK_BYTES + 56, &word, 8));
  EXPECT_FALSE(loopprof::read_snapshot(bytes, sp + LP_SNAP_STACK_BYTES + 57, &word, 8));
  // Without them the copy ends at 16 KiB.
  EXPECT_FALSE(loopprof::read_snapshot(*snap, sp + LP_SNAP_STACK_BYTES - 4, across, 8));
  // A copy cut short is not continued by them (they would not be contiguous).
  snap->stack_bytes = 4096;
  const SnapshotBytes short_copy(*snap, more);
  EXPECT_EQ(loopprof::snapshot_high(short_copy), sp + 4096);
  EXPECT_FALSE(loopprof::read_snapshot(short_copy, sp + LP_SNAP_STACK_BYTES, &word, 8));
}

// ---- a real deep stack ------------------------------------------------------

constexpr int kLevels = 40;  // ~42 KiB: 1 KiB of frame per level

struct DeepCapture {
  std::unique_ptr<lp_user_snapshot> snap = std::make_unique<lp_user_snapshot>();
  std::vector<uint8_t> above;
};

extern "C" __attribute__((noinline, noclone, optimize("omit-frame-pointer"))) void lp_deep_level(
    int levels, DeepCapture* out) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(levels);
  if (levels > 1) {
    lp_deep_level(levels - 1, out);
  } else {
    loopprof::testing::self_snapshot(out->snap.get());
    out->above = loopprof::testing::self_stack_above(*out->snap);
  }
  frame[sizeof frame - 1] = frame[0];
  asm volatile("" ::: "memory");
}

TEST(DeepStack, UnwindsThroughTheDeeperBytesToTheThreadEntry) {
  DeepCapture deep;
  pid_t tid = 0;
  std::thread([&] {
    tid = gettid();
    lp_deep_level(kLevels, &deep);
  }).join();
  ASSERT_EQ(deep.snap->stack_bytes, LP_SNAP_STACK_BYTES) << "the recursion outgrows the copy";
  ASSERT_GT(deep.above.size(), 0u);
  auto unwinder = loopprof::DwarfUnwinder::create(getpid());
  ASSERT_TRUE(unwinder.ok());
  loopprof::testing::SelfSymbols symbols;
  auto levels = [&](const loopprof::UserUnwind& u) {
    int n = 0;
    for (size_t i = 0; i < u.pcs.size(); i++) n += symbols.name(u.pcs[i], i > 0) == "lp_deep_level";
    return n;
  };

  const loopprof::UserUnwind cut = unwinder.value()->unwind(*deep.snap, tid);
  EXPECT_EQ(cut.end, loopprof::UserUnwind::End::snapshot_exhausted) << cut.error;
  EXPECT_LT(levels(cut), kLevels);

  const loopprof::UserUnwind whole =
      unwinder.value()->unwind(SnapshotBytes(*deep.snap, deep.above), tid);
  EXPECT_EQ(whole.end, loopprof::UserUnwind::End::complete) << whole.error;
  EXPECT_EQ(levels(whole), kLevels);
  EXPECT_GT(whole.stack_used, LP_SNAP_STACK_BYTES);
}

}  // namespace
