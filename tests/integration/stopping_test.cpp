// loopprof stops on SIGINT, SIGTERM and -d, exits 0, and leaves complete,
// mutually consistent outputs, even when it stops in the middle of a stall.
// Needs root.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "harness.hpp"
#include "stall_match.hpp"

namespace loopprof::test {
namespace {

struct Profiled {
  TempDir dir{"loopprof-stop"};
  std::string folded = dir.file("s.folded");
  std::string events = dir.file("s.jsonl");
  Process fixture;
  Process loopprof;

  // stall_app.py STEPS..., loopprof attached (with EXTRA args) and "go" sent.
  Profiled(const std::vector<std::string>& steps, const std::vector<std::string>& extra = {})
      : fixture(start_fixture(steps)), loopprof(attach(extra)) {
    fixture.write_stdin("go\n");
  }

  static Process start_fixture(const std::vector<std::string>& steps) {
    std::vector<std::string> argv{test_pythons().at(0).executable, fixture_source("stall_app.py")};
    argv.insert(argv.end(), steps.begin(), steps.end());
    Process p = Process::spawn({argv, {}, true});
    if (!p.wait_for_line(Stream::kStdout, "ready", milliseconds(15000))) {
      throw std::runtime_error("fixture not ready\n" + p.describe());
    }
    return p;
  }

  Process attach(std::vector<std::string> extra) {
    extra.insert(extra.end(), {"-o", folded, "--events", events});
    return run_loopprof(fixture.pid(), extra);
  }

  std::string diagnostics() const {
    return "fixture: " + fixture.describe() + "\nloopprof: " + loopprof.describe();
  }
};

// The folded weights add up to the stalls' total time (1 %): the final
// stalls, and those still blocked when loopprof stopped (their last report is
// marked "at_exit"), which the summary counts too.
void expect_consistent_outputs(const Profiled& p) {
  std::vector<nlohmann::json> events;
  ASSERT_NO_THROW(events = read_jsonl(p.events)) << p.diagnostics();
  std::vector<FoldedStack> folded;
  ASSERT_NO_THROW(folded = read_folded(p.folded)) << p.diagnostics();
  double stall_us = 0;
  size_t stalls = 0;
  for (const auto& s : stall_events(events, false)) {
    stall_us += s["duration_ms"].get<double>() * 1e3;
    ++stalls;
  }
  for (const auto& s : stall_events(events, true)) {
    if (!s.value("at_exit", false)) continue;
    stall_us += s["duration_ms"].get<double>() * 1e3;
    ++stalls;
  }
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["event"], "summary");
  EXPECT_EQ(events.back()["stalls"].get<size_t>(), stalls) << "summary and events disagree";
  double folded_us = static_cast<double>(total_weight(folded));
  EXPECT_NEAR(folded_us, stall_us, std::max(1000.0, 0.01 * stall_us))
      << "folded weights and final stalls disagree\n"
      << p.diagnostics();
}

TEST(Stopping, SigintInTheMiddleOfAStall) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  Profiled p({"sleep:200", "sleep:3000"});
  ASSERT_TRUE(
      p.fixture.wait_for_line(Stream::kStdout, "begin main sleep:3000", milliseconds(10000)));
  std::this_thread::sleep_for(milliseconds(600));
  p.loopprof.signal(SIGINT);
  EXPECT_EQ(p.loopprof.wait_exit(milliseconds(3000)), 0) << p.diagnostics();
  EXPECT_TRUE(p.fixture.running()) << "loopprof must leave the target running";
  expect_consistent_outputs(p);
  size_t at_exit = 0;
  for (const auto& s : stall_events(read_jsonl(p.events), true))
    at_exit += s.value("at_exit", false);
  EXPECT_EQ(at_exit, 1u) << "the 3 s sleep cut by SIGINT is reported at exit\n" << p.diagnostics();
}

TEST(Stopping, SigtermAfterAStall) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  Profiled p({"sleep:200", "idle:10000"});
  ASSERT_TRUE(p.fixture.wait_for_line(Stream::kStdout, "end main sleep:200", milliseconds(10000)));
  std::this_thread::sleep_for(milliseconds(200));
  p.loopprof.signal(SIGTERM);
  EXPECT_EQ(p.loopprof.wait_exit(milliseconds(3000)), 0) << p.diagnostics();
  auto events = read_jsonl(p.events);
  EXPECT_EQ(stall_events(events, false).size(), 1u) << p.diagnostics();
  expect_consistent_outputs(p);
}

TEST(Stopping, DurationEndsTheProfile) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  Profiled p({"healthy:8000"}, {"-d", "1"});
  auto started = Clock::now();  // attached
  auto code = p.loopprof.wait_exit(milliseconds(5000));
  auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - started).count();
  EXPECT_EQ(code, 0) << p.diagnostics();
  EXPECT_GE(took, 500) << p.diagnostics();
  EXPECT_LT(took, 3000) << p.diagnostics();
  EXPECT_TRUE(p.fixture.running());
  EXPECT_TRUE(stall_events(read_jsonl(p.events), false).empty()) << p.diagnostics();
}

}  // namespace
}  // namespace loopprof::test
