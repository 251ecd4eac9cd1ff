// End-to-end: the stacks of CPU samples are resolved only for busy periods
// that become stalls. why_app.py runs 50 short callbacks (no stall: their
// samples must not be resolved, yet the per-callback table must name them)
// and one 150 ms CPU burn (a stall: all of its samples must be resolved,
// those taken before it reached the 100 ms threshold too). Needs root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <regex>

#include "harness.hpp"
#include "scenario.hpp"
#include "stall_match.hpp"

namespace loopprof::test {
namespace {

TEST(DeferredStacks, OnlyStallSamplesAreResolvedAndTheCallbackTableKeepsTheRest) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  auto pythons = test_pythons();
  ASSERT_FALSE(pythons.empty());
  ScenarioResult r = run_scenario(
      {{pythons.front().executable, fixture_source("why_app.py"), "hist:50", "cpu:150"},
       {"-t", "100", "-v"},
       milliseconds(60000)});
  ASSERT_TRUE(r.events_error.empty()) << r.events_error << "\n" << r.diagnostics;

  // "loopprof: N CPU samples, M of them resolved to stacks (...)" (-v, at exit)
  std::smatch m;
  static const std::regex counts("loopprof: (\\d+) CPU samples, (\\d+) of them resolved");
  ASSERT_TRUE(std::regex_search(r.diagnostics, m, counts)) << r.diagnostics;
  const uint64_t taken = std::stoull(m[1]), resolved = std::stoull(m[2]);

  auto burns = r.injections_of("cpu");
  ASSERT_EQ(burns.size(), 1u) << r.diagnostics;
  ASSERT_TRUE(r.loop_tids.count("main")) << r.diagnostics;
  const nlohmann::json* stall =
      stall_for(stall_events(r.events, false, r.loop_tids.at("main")), burns.front());
  ASSERT_TRUE(stall) << r.diagnostics;
  // 199 Hz: one sample per 5 ms of CPU. Had the samples taken before the
  // threshold been dropped, about a third of them would be resolved.
  const double expected = burns.front().cpu_ms() / 5.03;
  EXPECT_GE(static_cast<double>(resolved), 0.7 * expected)
      << taken << " samples, " << resolved << " resolved; the stall ran " << burns.front().cpu_ms()
      << " ms on CPU\n"
      << r.diagnostics;
  // The short callbacks' samples (about 25) were never resolved.
  EXPECT_LT(resolved + 10, taken) << r.diagnostics;

  const nlohmann::json* summary = nullptr;
  for (const auto& e : r.events)
    if (e.value("event", "") == "summary") summary = &e;
  ASSERT_TRUE(summary) << r.diagnostics;
  std::map<std::string, nlohmann::json> rows;
  for (const auto& row : summary->at("callbacks")) rows[row.at("callback")] = row;
  ASSERT_TRUE(rows.count("slow_callback (why_app.py)")) << summary->at("callbacks").dump();
  EXPECT_GE(rows["slow_callback (why_app.py)"].at("max_ms").get<double>(), 4.9);
  EXPECT_TRUE(rows.count("fast_callback (why_app.py)")) << summary->at("callbacks").dump();
}

}  // namespace
}  // namespace loopprof::test
