// Two event loops in one process, each in its own thread: every stall is
// reported on the tid (and with the name) of the loop that stalled. Needs root.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <iostream>

#include "harness.hpp"
#include "scenario.hpp"
#include "stall_match.hpp"

namespace loopprof::test {
namespace {

TEST(LoopThreads, TwoLoopsAreReportedApart) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  auto pythons = test_pythons();
  ASSERT_FALSE(pythons.empty());
  // loop-a and loop-b stall at overlapping times, with different durations.
  ScenarioResult r = run_scenario(
      {{pythons.front().executable, fixture_source("stall_app.py"), "thread:loop-a", "sleep:300",
        "cpu:200", "thread:loop-b", "sleep:450", "healthy:300", "block:40"}});
  ASSERT_TRUE(r.events_error.empty()) << r.events_error << "\n" << r.diagnostics;
  EXPECT_EQ(r.fixture_exit, 0) << r.diagnostics;
  ASSERT_EQ(r.injections.size(), 5u) << r.diagnostics;
  ASSERT_EQ(r.loop_tids.size(), 2u);
  EXPECT_NE(r.loop_tids.at("loop-a"), r.loop_tids.at("loop-b"));

  for (const auto& inj : r.injections) {
    pid_t tid = r.loop_tids.at(inj.loop);
    auto mine = stall_events(r.events, false, tid);
    const nlohmann::json* stall = stall_for(mine, inj);
    if (inj.kind == "healthy" || inj.kind == "block") {
      EXPECT_FALSE(stall) << inj.loop << " " << inj.step() << ": " << stall->dump();
      continue;
    }
    ASSERT_TRUE(stall) << "no stall on " << inj.loop << " (tid " << tid << ") for " << inj.step()
                       << "\n"
                       << r.diagnostics;
    double ms = (*stall)["duration_ms"].get<double>();
    std::cout << fmt::format(
        "figure: target=two_loops loop={} kind={} injected_ms={} "
        "fixture_measured_ms={:.1f} fixture_window_ms={:.1f} loopprof_ms={:.1f}\n",
        inj.loop, inj.kind, inj.ms, inj.measured_ms(), inj.window_ms(), ms);
    EXPECT_EQ(stall_duration_error(ms, inj), "") << inj.loop;
    EXPECT_EQ((*stall)["thread"], inj.loop) << stall->dump();
  }
  // Exactly the three injected stalls, none on other threads.
  EXPECT_EQ(stall_events(r.events, false).size(), 3u) << r.diagnostics;
}

}  // namespace
}  // namespace loopprof::test
