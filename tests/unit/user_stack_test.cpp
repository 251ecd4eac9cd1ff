// The rule that picks between the kernel's frame-pointer walk and the DWARF
// unwind of a capture.
#include "unwind/user_stack.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "self_snapshot.hpp"

namespace {

using loopprof::best_user_stack;
using loopprof::choose_user_stack;
using loopprof::DwarfUnwinder;
using loopprof::UserStackSource;
using loopprof::UserUnwind;
using End = loopprof::UserUnwind::End;
using Pcs = std::vector<uint64_t>;

// Text is [0x1000, 0x2000) in these tests.
bool fake_text(uint64_t pc) {
  return pc >= 0x1000 && pc < 0x2000;
}

UserUnwind dwarf(Pcs pcs, End end) {
  UserUnwind out;
  out.pcs = std::move(pcs);
  out.end = end;
  return out;
}

TEST(UserStack, CompleteDwarfUnwindWins) {
  const Pcs fp = {0x1000, 0x1100, 0x1200, 0x1300, 0x1400};
  const auto got = choose_user_stack(fp, dwarf({0x1000, 0x1500, 0x1600}, End::complete), fake_text);
  EXPECT_EQ(got.pcs, (Pcs{0x1000, 0x1500, 0x1600}));
  EXPECT_EQ(got.source, UserStackSource::dwarf);
}

TEST(UserStack, FramePointerWalkIsCutAtTheFirstAddressOutsideText) {
  // DWARF failed after one frame; the walk goes 0x1000, 0x1100, then garbage.
  const Pcs fp = {0x1000, 0x1100, 0x7fff0000, 0x1200};
  const auto got = choose_user_stack(fp, dwarf({0x1000}, End::failed), fake_text);
  EXPECT_EQ(got.pcs, (Pcs{0x1000, 0x1100}));
}

TEST(UserStack, SplicesTheFramePointerWalkAboveTheLastDwarfFrame) {
  // The copied stack ended at 0x1300; frame pointers go on from there.
  const Pcs fp = {0x1000, 0x1300, 0x1400, 0x1500};
  const auto got = choose_user_stack(
      fp, dwarf({0x1000, 0x1100, 0x1200, 0x1300}, End::snapshot_exhausted), fake_text);
  EXPECT_EQ(got.pcs, (Pcs{0x1000, 0x1100, 0x1200, 0x1300, 0x1400, 0x1500}));
  EXPECT_EQ(got.source, UserStackSource::dwarf_then_frame_pointers);
}

TEST(UserStack, LongerChainWinsAndDwarfWinsTies) {
  const Pcs fp = {0x1000, 0x1800, 0x1900};
  EXPECT_EQ(choose_user_stack(fp, dwarf({0x1000, 0x1100}, End::snapshot_exhausted), fake_text).pcs,
            fp);
  EXPECT_EQ(
      choose_user_stack(fp, dwarf({0x1000, 0x1100, 0x1200}, End::snapshot_exhausted), fake_text)
          .source,
      UserStackSource::dwarf);
}

TEST(UserStack, RawWalkWhenNothingIsKnownText) {
  const Pcs fp = {0x90000, 0x90010};  // e.g. JIT code
  const auto got = choose_user_stack(fp, dwarf({}, End::failed), fake_text);
  EXPECT_EQ(got.pcs, fp);
}

std::unique_ptr<lp_capture_record> record_with_fp(const Pcs& fp) {
  auto rec = std::make_unique<lp_capture_record>();
  rec->type = LP_REC_CAPTURE;
  rec->pid = getpid();
  rec->tid = gettid();
  for (size_t i = 0; i < fp.size(); ++i) rec->ustack[i] = fp[i];
  rec->ustack_bytes = static_cast<int32_t>(fp.size() * sizeof(uint64_t));
  return rec;
}

TEST(UserStack, WithoutSnapshotTheFramePointerWalkIsUsed) {
  const Pcs fp = {0x1000, 0x1100};
  auto rec = record_with_fp(fp);
  EXPECT_EQ(best_user_stack(*rec, nullptr).pcs, fp);
  auto unwinder = DwarfUnwinder::create(getpid());
  ASSERT_TRUE(unwinder.ok());
  EXPECT_EQ(best_user_stack(*rec, unwinder.value().get()).source, UserStackSource::frame_pointers);
}

extern "C" __attribute__((noinline, noclone)) void lp_user_stack_leaf(lp_user_snapshot* out) {
  loopprof::testing::self_snapshot(out);
  asm volatile("" ::: "memory");
}

TEST(UserStack, RealCaptureWithBrokenFramePointersUsesDwarf) {
  auto rec = record_with_fp({});
  lp_user_stack_leaf(&rec->snap);
  // What a frame-pointer walk gives in code built without them: the leaf,
  // then whatever rbp pointed at.
  rec->ustack[0] = rec->snap.regs.ip;
  rec->ustack[1] = 0x4141414141414141ULL;
  rec->ustack_bytes = 16;
  auto unwinder = DwarfUnwinder::create(getpid());
  ASSERT_TRUE(unwinder.ok());
  const auto got = best_user_stack(*rec, unwinder.value().get());
  EXPECT_EQ(got.source, UserStackSource::dwarf);
  ASSERT_GE(got.pcs.size(), 3u);
  loopprof::testing::SelfSymbols symbols;
  EXPECT_EQ(symbols.name(got.pcs[1], true), "lp_user_stack_leaf");
  EXPECT_NE(symbols.name(got.pcs[2], true).find("RealCaptureWithBrokenFramePointersUsesDwarf"),
            std::string::npos);
}

}  // namespace
