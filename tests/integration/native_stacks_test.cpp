// End-to-end: native stacks of code built without frame pointers. The
// native_stall fixture stalls through a known chain of non-inlined functions
// (main -> run_loop -> dispatch -> handler_level1 -> handler_level2 ->
// burn_cpu | sleep_blocking); only DWARF (.eh_frame) unwinding of the stack
// snapshot recovers it, in every layout the fixture is built in (PIE,
// non-PIE, the middle of the chain in a shared library, stripped with
// separate debug info). Needs root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"
#include "scenario.hpp"
#include "stall_match.hpp"

namespace loopprof::test {
namespace {

const std::vector<std::string> kCpuChain = {"main",           "run_loop",       "dispatch",
                                            "handler_level1", "handler_level2", "burn_cpu"};
const std::vector<std::string> kSleepChain = {"main",           "run_loop",       "dispatch",
                                              "handler_level1", "handler_level2", "sleep_blocking"};

bool has_chain(const std::vector<std::string>& frames, const std::vector<std::string>& chain) {
  return std::search(frames.begin(), frames.end(), chain.begin(), chain.end()) != frames.end();
}

std::string describe_stacks(const nlohmann::json& stall) {
  std::string out;
  for (const auto& stack : stall["stacks"]) {
    out += "  " + stack.value("state", "?") + " " + std::to_string(stack.value("weight_us", 0)) +
           " us:";
    for (const auto& f : stack["frames"]) out += " " + f.get<std::string>();
    out += "\n";
  }
  return out;
}

struct Weights {
  uint64_t with_chain = 0;
  uint64_t total = 0;
};

// Stack weight of one state ("on_cpu", "off_cpu"), and the part whose frames
// hold `chain` as consecutive frames.
Weights chain_weight(const nlohmann::json& stall, const std::string& state,
                     const std::vector<std::string>& chain) {
  Weights w;
  for (const auto& stack : stall["stacks"]) {
    if (stack.value("state", "") != state) continue;
    const auto frames = stack["frames"].get<std::vector<std::string>>();
    const uint64_t weight = stack.value("weight_us", uint64_t{0});
    w.total += weight;
    if (has_chain(frames, chain)) w.with_chain += weight;
  }
  return w;
}

struct CachedRun {
  std::unique_ptr<ScenarioResult> result;
  std::string error;
};

const CachedRun& run_of(const std::string& fixture) {
  static std::map<std::string, CachedRun> runs;
  auto it = runs.find(fixture);
  if (it != runs.end()) return it->second;
  CachedRun run;
  try {
    run.result = std::make_unique<ScenarioResult>(
        run_scenario({{fixture_binary(fixture), "cpu:400", "sleep:400"}}));
  } catch (const std::exception& e) {
    run.error = e.what();
  }
  return runs.emplace(fixture, std::move(run)).first->second;
}

class NativeStacksTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    const CachedRun& run = run_of(GetParam());
    ASSERT_TRUE(run.result) << run.error;
    r_ = run.result.get();
    ASSERT_TRUE(r_->events_error.empty()) << r_->events_error << "\n" << r_->diagnostics;
    ASSERT_EQ(r_->fixture_exit, 0) << r_->diagnostics;
    finals_ = stall_events(r_->events, false);
  }

  const nlohmann::json& stall_of(const std::string& kind) {
    const auto injections = r_->injections_of(kind);
    EXPECT_EQ(injections.size(), 1u) << r_->diagnostics;
    const nlohmann::json* stall = injections.empty() ? nullptr : stall_for(finals_, injections[0]);
    if (!stall) {
      ADD_FAILURE() << "no stall for " << kind << "\n" << r_->diagnostics;
      static const nlohmann::json empty = {{"stacks", nlohmann::json::array()}};
      return empty;
    }
    return *stall;
  }

  const ScenarioResult* r_ = nullptr;
  std::vector<nlohmann::json> finals_;
};

TEST_P(NativeStacksTest, OnCpuStallShowsTheExactChain) {
  const auto& stall = stall_of("cpu");
  // CPU samples: the burn is on-CPU all along.
  const Weights on = chain_weight(stall, "on_cpu", kCpuChain);
  ASSERT_GT(on.total, 0u) << describe_stacks(stall);
  EXPECT_GE(on.with_chain * 10, on.total * 9)
      << "at least 90% of the sampled time must show main;...;burn_cpu\n"
      << describe_stacks(stall);
}

TEST_P(NativeStacksTest, OffCpuStallShowsTheExactChain) {
  const auto& stall = stall_of("sleep");
  const Weights off = chain_weight(stall, "off_cpu", kSleepChain);
  ASSERT_GT(off.total, 0u) << describe_stacks(stall);
  EXPECT_GE(off.with_chain * 10, off.total * 9)
      << "at least 90% of the blocked time must show main;...;sleep_blocking\n"
      << describe_stacks(stall);
}

TEST_P(NativeStacksTest, ChainEndsAtTheStalledFunction) {
  // Nothing user-level between handler_level2 and the leaf of the chain but
  // burn_cpu's inlined clock helper, libc or kernel frames: the unwinder did not skip or invent
  // frames in the middle.
  const auto& stall = stall_of("cpu");
  for (const auto& stack : stall["stacks"]) {
    auto frames = stack["frames"].get<std::vector<std::string>>();
    auto it = std::search(frames.begin(), frames.end(), kCpuChain.begin(), kCpuChain.end());
    if (it == frames.end()) continue;
    auto after = it + static_cast<long>(kCpuChain.size());
    for (; after != frames.end(); ++after) {
      // burn_cpu's own inlined clock helper (chain.c: now_ns) is named where
      // DWARF is at hand (e.g. the stripped build's debug file).
      // An address in the vDSO (where clock_gettime runs) is the right frame
      // even when the vDSO image gives it no name.
      EXPECT_TRUE(after->ends_with("_[k]") || after->find("clock_gettime") != std::string::npos ||
                  *after == "now_ns_[i]" || after->starts_with("[vdso]"))
          << "unexpected frame after burn_cpu: " << *after << "\n"
          << describe_stacks(stall);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, NativeStacksTest,
                         ::testing::Values("native_stall", "native_stall_nopie",
                                           "native_stall_shlib", "native_stall_stripped"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace loopprof::test

namespace loopprof::test {
namespace {

// The hot leaf is hand-written assembly without unwind info that clobbers
// rbp (tests/fixtures/native/chain.c, asm_spin_nocfi): the unwinder resumes
// at its verified return address and the chain is complete, up to main.
TEST(NativeStacksAsm, LeafWithoutUnwindInfoKeepsTheWholeChain) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ScenarioResult r = run_scenario({{fixture_binary("native_stall"), "asm:400"}});
  ASSERT_TRUE(r.events_error.empty()) << r.events_error << "\n" << r.diagnostics;
  ASSERT_EQ(r.fixture_exit, 0) << r.diagnostics;
  const auto finals = stall_events(r.events, false);
  const auto injections = r.injections_of("asm");
  ASSERT_EQ(injections.size(), 1u) << r.diagnostics;
  const nlohmann::json* stall = stall_for(finals, injections[0]);
  ASSERT_NE(stall, nullptr) << r.diagnostics;
  const std::vector<std::string> chain = {"main",           "run_loop",       "dispatch",
                                          "handler_level1", "handler_level2", "burn_asm",
                                          "asm_spin_nocfi"};
  const Weights on = chain_weight(*stall, "on_cpu", chain);
  ASSERT_GT(on.total, 0u) << describe_stacks(*stall);
  EXPECT_GE(on.with_chain * 10, on.total * 9)
      << "at least 90% of the sampled time must show main;...;burn_asm;asm_spin_nocfi\n"
      << describe_stacks(*stall);
}

}  // namespace
}  // namespace loopprof::test

namespace loopprof::test {
namespace {

// Deep stacks: the stall happens under ~48 KiB of recursion (46 frames of
// deep_descend, 1 KiB each: tests/fixtures/native/chain.c), three times the
// 16 KiB stack copy. The stack above the copy travels in LP_REC_STACK_MORE
// records: every stack reaches main, with every level of the recursion, on
// CPU (samples) and off CPU (the sleep). Without them the unwind runs out of
// copied stack inside the recursion and the stack is [truncated].
TEST(NativeStacksDeep, StallUnderDeepRecursionReachesMain) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ScenarioResult r =
      run_scenario({{fixture_binary("native_stall"), "deepcpu:400", "deepsleep:400"}});
  ASSERT_TRUE(r.events_error.empty()) << r.events_error << "\n" << r.diagnostics;
  ASSERT_EQ(r.fixture_exit, 0) << r.diagnostics;
  const auto finals = stall_events(r.events, false);
  const std::vector<std::string> root = {"main",           "run_loop",       "dispatch",
                                         "handler_level1", "handler_level2", "deep_descend"};
  const std::pair<std::string, std::string> cases[] = {{"deepcpu", "burn_cpu"},
                                                       {"deepsleep", "sleep_blocking"}};
  for (const auto& [kind, leaf] : cases) {
    const auto injections = r.injections_of(kind);
    ASSERT_EQ(injections.size(), 1u) << r.diagnostics;
    const nlohmann::json* stall = stall_for(finals, injections[0]);
    ASSERT_NE(stall, nullptr) << kind << "\n" << r.diagnostics;
    uint64_t total = 0, whole = 0, truncated = 0;
    for (const auto& stack : (*stall)["stacks"]) {
      const auto frames = stack["frames"].get<std::vector<std::string>>();
      const uint64_t weight = stack.value("weight_us", uint64_t{0});
      if (std::find(frames.begin(), frames.end(), leaf) == frames.end()) continue;
      total += weight;
      const auto levels = std::count(frames.begin(), frames.end(), "deep_descend");
      if (has_chain(frames, root) && levels == 46) whole += weight;
      if (!frames.empty() && frames.front() == "[truncated]") truncated += weight;
    }
    ASSERT_GT(total, 0u) << kind << "\n" << describe_stacks(*stall);
    EXPECT_GE(whole * 10, total * 9)
        << kind << ": at least 90% of the stack time must run from main through all 46 levels"
        << " of deep_descend to " << leaf << "\n"
        << describe_stacks(*stall);
    EXPECT_LE(truncated * 20, total) << kind << ": [truncated] over 5%\n"
                                     << describe_stacks(*stall);
  }
}

}  // namespace
}  // namespace loopprof::test
