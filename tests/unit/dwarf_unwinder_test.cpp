// Unwinds real snapshots of this test's own stack, taken in a known chain of
// functions compiled without frame pointers.
#include "unwind/dwarf_unwinder.hpp"

#include <dlfcn.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "self_snapshot.hpp"
#include "symbols/symbolizer.hpp"

namespace {

using loopprof::DwarfUnwinder;
using loopprof::UserUnwind;
using loopprof::testing::self_snapshot;
using loopprof::testing::SelfSymbols;

#define LP_CHAIN_FN extern "C" __attribute__((noinline, noclone, optimize("omit-frame-pointer")))

// Each level does work after its call, so none is a tail call.
LP_CHAIN_FN void lp_unwind_chain_level3(lp_user_snapshot* out, size_t bytes) {
  self_snapshot(out, bytes);
  asm volatile("" ::: "memory");
}
LP_CHAIN_FN void lp_unwind_chain_level2(lp_user_snapshot* out, size_t bytes) {
  lp_unwind_chain_level3(out, bytes);
  asm volatile("" ::: "memory");
}
LP_CHAIN_FN void lp_unwind_chain_level1(lp_user_snapshot* out, size_t bytes) {
  lp_unwind_chain_level2(out, bytes);
  asm volatile("" ::: "memory");
}

std::unique_ptr<lp_user_snapshot> snapshot_in_chain(size_t bytes = LP_SNAP_STACK_BYTES) {
  auto snap = std::make_unique<lp_user_snapshot>();
  lp_unwind_chain_level1(snap.get(), bytes);
  return snap;
}

std::vector<std::string> names(const std::vector<uint64_t>& pcs) {
  SelfSymbols symbols;
  std::vector<std::string> out;
  for (size_t i = 0; i < pcs.size(); ++i) out.push_back(symbols.name(pcs[i], i > 0));
  return out;
}

std::unique_ptr<DwarfUnwinder> self_unwinder() {
  auto unwinder = DwarfUnwinder::create(getpid());
  EXPECT_TRUE(unwinder.ok()) << (unwinder.ok() ? "" : unwinder.error().message);
  return unwinder.ok() ? std::move(unwinder.value()) : nullptr;
}

const std::vector<std::string> kChain = {"_ZN8loopprof7testing13self_snapshotEP16lp_user_snapshotm",
                                         "lp_unwind_chain_level3", "lp_unwind_chain_level2",
                                         "lp_unwind_chain_level1"};

TEST(DwarfUnwinder, UnwindsTheExactChainOfASnapshot) {
  auto snap = snapshot_in_chain();
  auto unwinder = self_unwinder();
  ASSERT_TRUE(unwinder);
  const UserUnwind out = unwinder->unwind(*snap, gettid());
  ASSERT_GE(out.pcs.size(), kChain.size()) << out.error;
  EXPECT_EQ(out.pcs[0], snap->regs.ip);
  const auto got = names(out.pcs);
  EXPECT_EQ(std::vector<std::string>(got.begin(), got.begin() + kChain.size()), kChain);
  // The caller of the chain: this test's body.
  EXPECT_NE(got[kChain.size()].find("UnwindsTheExactChainOfASnapshot"), std::string::npos)
      << got[kChain.size()];
}

TEST(DwarfUnwinder, ReachesTheThreadEntryWhenTheWholeStackIsCopied) {
  std::unique_ptr<lp_user_snapshot> snap;
  pid_t tid = 0;
  std::thread([&] {
    tid = gettid();
    snap = snapshot_in_chain();
  }).join();
  ASSERT_EQ(snap->flags, LP_SNAP_REGS);
  ASSERT_LT(snap->stack_bytes, LP_SNAP_STACK_BYTES) << "a new thread's stack is shallow";
  auto unwinder = self_unwinder();
  ASSERT_TRUE(unwinder);
  // The thread is gone: only the snapshot is read.
  const UserUnwind out = unwinder->unwind(*snap, tid);
  EXPECT_EQ(out.end, UserUnwind::End::complete) << out.error;
  EXPECT_GT(out.stack_used, 0u);
  EXPECT_LE(out.stack_used, snap->stack_bytes);
  // Named by loopprof's own symbolizer: the test helper's bare libdwfl report
  // of this process intermittently fails to name libc/libstdc++ addresses.
  auto symbolizer = loopprof::ProcessSymbolizer::create(getpid());
  std::vector<std::string> got;
  for (size_t i = 0; i < out.pcs.size(); ++i)
    got.push_back(symbolizer->symbolize(out.pcs[i], i > 0).front().name);  // containing function
  ASSERT_GE(got.size(), kChain.size() + 2);
  EXPECT_NE(got[0].find("self_snapshot"), std::string::npos) << got[0];  // demangled here
  EXPECT_EQ(std::vector<std::string>(got.begin() + 1, got.begin() + kChain.size()),
            std::vector<std::string>(kChain.begin() + 1, kChain.end()));
  std::string chain;
  for (size_t i = 0; i < got.size(); ++i)
    chain += (got[i].empty() ? fmt::format("?{:#x}", out.pcs[i]) : got[i]) + ";";
  EXPECT_TRUE(got.back().ends_with("clone3")) << chain << ": not a glibc thread's outermost";
  EXPECT_EQ(got[got.size() - 2], "start_thread") << chain;
}

TEST(DwarfUnwinder, StopsWhereTheCopiedStackEnds) {
  auto full = snapshot_in_chain();
  auto unwinder = self_unwinder();
  ASSERT_TRUE(unwinder);
  const UserUnwind whole = unwinder->unwind(*full, gettid());

  // Keep only the bytes below the second return address: the unwind gets
  // the leaf and its caller, then needs memory that was not copied.
  auto partial = std::make_unique<lp_user_snapshot>(*full);
  partial->stack_bytes = 0;
  const UserUnwind none = unwinder->unwind(*partial, gettid());
  EXPECT_EQ(none.end, UserUnwind::End::snapshot_exhausted);
  ASSERT_EQ(none.pcs.size(), 1u) << "the leaf comes from the registers alone";
  EXPECT_EQ(none.pcs[0], full->regs.ip);

  for (uint32_t bytes = 8; bytes < full->stack_bytes; bytes += 8) {
    partial->stack_bytes = bytes;
    const UserUnwind out = unwinder->unwind(*partial, gettid());
    if (out.pcs.size() < 3) continue;
    EXPECT_EQ(out.end, UserUnwind::End::snapshot_exhausted);
    EXPECT_EQ(std::vector<uint64_t>(whole.pcs.begin(), whole.pcs.begin() + out.pcs.size()), out.pcs)
        << "a shorter copy gives a prefix of the same chain";
    break;
  }
}

TEST(DwarfUnwinder, SnapshotWithoutRegistersGivesNothing) {
  auto snap = std::make_unique<lp_user_snapshot>();
  auto unwinder = self_unwinder();
  ASSERT_TRUE(unwinder);
  const UserUnwind out = unwinder->unwind(*snap, gettid());
  EXPECT_EQ(out.end, UserUnwind::End::no_snapshot);
  EXPECT_TRUE(out.pcs.empty());
}

TEST(DwarfUnwinder, HonoursTheDepthLimit) {
  auto snap = snapshot_in_chain();
  auto unwinder = DwarfUnwinder::create(getpid(), {.max_frames = 2});
  ASSERT_TRUE(unwinder.ok());
  const UserUnwind out = unwinder.value()->unwind(*snap, gettid());
  EXPECT_EQ(out.end, UserUnwind::End::depth_limit);
  EXPECT_EQ(out.pcs.size(), 2u);
}

TEST(DwarfUnwinder, KnowsTheTextOfTheProcess) {
  auto unwinder = self_unwinder();
  ASSERT_TRUE(unwinder);
  EXPECT_TRUE(unwinder->in_text(reinterpret_cast<uint64_t>(&lp_unwind_chain_level1)));
  EXPECT_TRUE(unwinder->in_text(reinterpret_cast<uint64_t>(&write)));  // libc
  int on_stack = 0;
  EXPECT_FALSE(unwinder->in_text(reinterpret_cast<uint64_t>(&on_stack)));
  EXPECT_FALSE(unwinder->in_text(0));
}

TEST(DwarfUnwinder, FailsForAMissingProcess) {
  auto unwinder = DwarfUnwinder::create(0x7ffffff0);
  ASSERT_FALSE(unwinder.ok());
  EXPECT_NE(unwinder.error().message.find("failed to read /proc/"), std::string::npos)
      << unwinder.error().message;
}

// A library loaded after the unwinder was created (dlopen) is found by the
// refresh that a PC outside every known module triggers.
TEST(DwarfUnwinder, RefreshesForALibraryLoadedLater) {
  struct Candidate {
    const char* library;
    const char* symbol;
  };
  const Candidate candidates[] = {{"libcap.so.2", "cap_init"},
                                  {"libacl.so.1", "acl_init"},
                                  {"libcrypt.so.1", "crypt"},
                                  {"libbz2.so.1.0", "BZ2_bzlibVersion"},
                                  {"liblzma.so.5", "lzma_version_number"},
                                  {"libz.so.1", "zlibVersion"}};
  auto unwinder =
      DwarfUnwinder::create(getpid(), {.refresh_interval = std::chrono::milliseconds(0)});
  ASSERT_TRUE(unwinder.ok());
  uint64_t entry = 0;
  for (const auto& c : candidates) {
    if (dlopen(c.library, RTLD_NOW | RTLD_NOLOAD)) continue;  // already mapped
    void* handle = dlopen(c.library, RTLD_NOW | RTLD_LOCAL);
    if (!handle) continue;
    if (void* fn = dlsym(handle, c.symbol)) {
      entry = reinterpret_cast<uint64_t>(fn);
      break;
    }
  }
  if (!entry) GTEST_SKIP() << "no unloaded system library to dlopen";
  EXPECT_FALSE(unwinder.value()->in_text(entry)) << "loaded after the unwinder was created";

  // The state right after a call into the library's function: its entry,
  // with the return address (the snapshot's own ip) pushed on the stack.
  auto inner = snapshot_in_chain();
  auto called = std::make_unique<lp_user_snapshot>(*inner);
  called->regs.ip = entry;
  called->regs.sp = inner->regs.sp - 8;
  std::memcpy(called->stack, &inner->regs.ip, 8);
  std::memcpy(called->stack + 8, inner->stack, LP_SNAP_STACK_BYTES - 8);
  called->stack_bytes = std::min<uint32_t>(inner->stack_bytes + 8, LP_SNAP_STACK_BYTES);

  const UserUnwind out = unwinder.value()->unwind(*called, gettid());
  EXPECT_TRUE(unwinder.value()->in_text(entry));
  ASSERT_GE(out.pcs.size(), 2u) << out.error;
  EXPECT_EQ(out.pcs[0], entry);
  EXPECT_EQ(out.pcs[1], inner->regs.ip);
  const UserUnwind direct = unwinder.value()->unwind(*inner, gettid());
  EXPECT_EQ(std::vector<uint64_t>(out.pcs.begin() + 1, out.pcs.end()), direct.pcs);
}

// A function whose unwind rule reads its CFA from the red zone, as OpenSSL's
// SHA-512 AVX2 loop does: CFA = [rsp - 8] + 8 (DW_CFA_def_cfa_expression:
// DW_OP_breg7 -8; DW_OP_deref; DW_OP_plus_uconst 8). Never executed.
asm(R"(
  .text
  .globl lp_red_zone_cfa_fn
  .type lp_red_zone_cfa_fn, @function
lp_red_zone_cfa_fn:
  .cfi_startproc
  nop
  .cfi_escape 0x0f, 0x05, 0x77, 0x78, 0x06, 0x23, 0x08
  nop
  nop
  ret
  .cfi_endproc
  .size lp_red_zone_cfa_fn, . - lp_red_zone_cfa_fn
)");
extern "C" void lp_red_zone_cfa_fn();

// The state inside lp_red_zone_cfa_fn after it moved its stack pointer 256
// bytes down and kept the address of its return address slot at [rsp - 8],
// called from where the snapshot `inner` was taken.
std::unique_ptr<lp_user_snapshot> inside_red_zone_fn(const lp_user_snapshot& inner,
                                                     bool red_zone_copied) {
  auto snap = std::make_unique<lp_user_snapshot>(inner);
  const uint64_t slot = inner.regs.sp - 8;  // the return address
  const uint64_t sp = slot - 256;
  snap->regs.ip = reinterpret_cast<uint64_t>(&lp_red_zone_cfa_fn) + 1;
  snap->regs.sp = sp;
  std::memset(snap->stack, 0, LP_SNAP_STACK_BYTES);
  std::memcpy(snap->stack + (slot - sp), &inner.regs.ip, 8);
  std::memcpy(snap->stack + (inner.regs.sp - sp), inner.stack, LP_SNAP_STACK_BYTES - 264);
  snap->stack_bytes = std::min<uint32_t>(inner.stack_bytes + 264, LP_SNAP_STACK_BYTES);
  const uint64_t cfa_minus_8 = slot;  // [rsp - 8] + 8 = slot + 8 = CFA
  std::memset(snap->red_zone, 0, sizeof(snap->red_zone));
  std::memcpy(snap->red_zone + LP_SNAP_RED_ZONE_BYTES - 8, &cfa_minus_8, 8);
  snap->flags = LP_SNAP_REGS | (red_zone_copied ? LP_SNAP_RED_ZONE : 0);
  return snap;
}

TEST(DwarfUnwinder, ReadsTheCfaFromTheRedZone) {
  auto unwinder = self_unwinder();
  ASSERT_TRUE(unwinder);
  auto inner = snapshot_in_chain();
  const UserUnwind direct = unwinder->unwind(*inner, gettid());
  ASSERT_GE(direct.pcs.size(), 4u);

  const UserUnwind out = unwinder->unwind(*inside_red_zone_fn(*inner, true), gettid());
  ASSERT_GE(out.pcs.size(), 2u) << out.error;
  EXPECT_EQ(out.pcs[1], inner->regs.ip);
  EXPECT_EQ(std::vector<uint64_t>(out.pcs.begin() + 1, out.pcs.end()), direct.pcs)
      << fmt::format("{}", fmt::join(names(out.pcs), ";"));

  // Without the red zone the rule cannot be evaluated: the frame is lost.
  const UserUnwind blind = unwinder->unwind(*inside_red_zone_fn(*inner, false), gettid());
  EXPECT_NE(std::vector<uint64_t>(blind.pcs.begin() + std::min<size_t>(1, blind.pcs.size()),
                                  blind.pcs.end()),
            direct.pcs);
}

}  // namespace
