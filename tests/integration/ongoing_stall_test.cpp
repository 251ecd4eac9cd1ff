// A loop stuck right now is reported while it is stuck ("ongoing": true),
// then again with its final duration once it runs again. Needs root.
#include <gtest/gtest.h>
#include <unistd.h>

#include "harness.hpp"
#include "scenario.hpp"
#include "stall_match.hpp"

namespace loopprof::test {
namespace {

TEST(OngoingStall, ReportedWhileStuckThenFinal) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  auto pythons = test_pythons();
  ASSERT_FALSE(pythons.empty());
  ScenarioResult r =
      run_scenario({{pythons.front().executable, fixture_source("stall_app.py"), "sleep:1500"}});
  ASSERT_TRUE(r.events_error.empty()) << r.events_error << "\n" << r.diagnostics;
  ASSERT_EQ(r.injections.size(), 1u) << r.diagnostics;
  const Injection& stuck = r.injections.front();
  pid_t tid = r.loop_tids.at("main");

  auto finals = stall_events(r.events, false, tid);
  const nlohmann::json* final_stall = stall_for(finals, stuck);
  ASSERT_TRUE(final_stall) << r.diagnostics;
  EXPECT_EQ(stall_duration_error((*final_stall)["duration_ms"].get<double>(), stuck), "")
      << final_stall->dump();

  // The same stall (tid + seq), reported before it ended.
  auto ongoings = stall_events(r.events, true, tid);
  const nlohmann::json* ongoing = nullptr;
  for (const auto& s : ongoings) {
    if (s["seq"] == (*final_stall)["seq"]) ongoing = &s;
  }
  ASSERT_TRUE(ongoing) << "no \"ongoing\": true event for seq " << (*final_stall)["seq"] << "\n"
                       << r.diagnostics;
  EXPECT_EQ(stall_schema_error(*ongoing), "") << ongoing->dump();
  EXPECT_EQ((*ongoing)["start_ns"], (*final_stall)["start_ns"]);
  double ongoing_ms = (*ongoing)["duration_ms"].get<double>();
  EXPECT_GE(ongoing_ms, 100.0) << ongoing->dump();
  EXPECT_LT(ongoing_ms, (*final_stall)["duration_ms"].get<double>() - 100) << ongoing->dump();
  auto ongoing_seen_at = (*ongoing)["start_ns"].get<uint64_t>() + uint64_t(ongoing_ms * 1e6);
  EXPECT_LT(ongoing_seen_at, stuck.end_ns) << "the ongoing report describes a stall already over";

  // And a human line said so while the fixture was still stuck.
  std::string tid_text = std::to_string(tid);
  bool said_while_stuck = false;
  for (const auto& line : r.loopprof_stdout) {
    if (line.text.find("stall") != std::string::npos &&
        line.text.find(tid_text) != std::string::npos && line.received < stuck.end_received) {
      said_while_stuck = true;
    }
  }
  EXPECT_TRUE(said_while_stuck) << "no stdout stall line before the fixture printed \"end\"\n"
                                << r.diagnostics;
}

}  // namespace
}  // namespace loopprof::test
