// End-to-end: why the loop stalled. why_app.py blocks its asyncio loop for
// one known reason per step; each test asserts the stall's breakdown (and its
// waker) names that reason, and that the exit summary carries the in-kernel
// histograms and per-callback table. Needs root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <memory>

#include "harness.hpp"
#include "scenario.hpp"
#include "stall_match.hpp"

namespace loopprof::test {
namespace {

// An interpreter with symbols (take_gil must be nameable for GIL waits):
// a pyenv build if there is one.
std::string python_with_symbols() {
  auto pythons = test_pythons();
  for (const auto& py : pythons)
    if (py.executable.find(".pyenv") != std::string::npos) return py.executable;
  return pythons.empty() ? "python3" : pythons.front().executable;
}

struct WhyRun {
  std::unique_ptr<ScenarioResult> result;
  std::string error;
};

const WhyRun& why_run() {
  static WhyRun run = [] {
    WhyRun r;
    try {
      r.result = std::make_unique<ScenarioResult>(
          run_scenario({{python_with_symbols(), fixture_source("why_app.py"), "sleep:300",
                         "cpu:250", "pipe:300", "lock:300", "gil:300", "starve:400", "hist:50"},
                        {"-t", "100"},
                        milliseconds(60000)}));
    } catch (const std::exception& e) {
      r.error = e.what();
    }
    return r;
  }();
  return run;
}

double part(const nlohmann::json& stall, const char* name) {
  return stall.at("breakdown").at(name).get<double>();
}

class WhyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    const WhyRun& run = why_run();
    ASSERT_TRUE(run.result) << run.error;
    r_ = run.result.get();
    ASSERT_TRUE(r_->events_error.empty()) << r_->events_error << "\n" << r_->diagnostics;
    ASSERT_TRUE(r_->loop_tids.count("main")) << r_->diagnostics;
    finals_ = stall_events(r_->events, false, r_->loop_tids.at("main"));
  }

  // The final stall of the one injection of `kind`.
  const nlohmann::json& stall_of(const std::string& kind) {
    auto injections = r_->injections_of(kind);
    if (injections.size() != 1) throw std::runtime_error("no injection " + kind);
    const nlohmann::json* stall = stall_for(finals_, injections.front());
    if (!stall) throw std::runtime_error("no stall for " + kind + "\n" + r_->diagnostics);
    return *stall;
  }

  const nlohmann::json& summary() {
    for (const auto& e : r_->events)
      if (e.value("event", "") == "summary") return e;
    throw std::runtime_error("no summary");
  }

  const ScenarioResult* r_ = nullptr;
  std::vector<nlohmann::json> finals_;
};

TEST_F(WhyTest, BreakdownOfEveryStallAddsUpToItsDuration) {
  ASSERT_FALSE(finals_.empty());
  for (const auto& stall : finals_) {
    double sum = 0;
    for (const char* name :
         {"on_cpu_ms", "runqueue_ms", "lock_ms", "gil_ms", "sleep_ms", "io_ms", "other_ms"})
      sum += part(stall, name);
    EXPECT_NEAR(sum, stall.at("duration_ms").get<double>(), 3.0) << stall.dump();
  }
}

TEST_F(WhyTest, SleepIsSleepWokenByTheTimer) {
  const auto& s = stall_of("sleep");
  EXPECT_GE(part(s, "sleep_ms"), 250) << s.dump();
  EXPECT_EQ(s.at("cause"), "sleep");
  ASSERT_FALSE(s.at("wakers").empty());
  EXPECT_EQ(s.at("wakers")[0].at("thread"), "[timer]");
}

TEST_F(WhyTest, CpuBurnIsOnCpu) {
  const auto& s = stall_of("cpu");
  auto injection = r_->injections_of("cpu").front();
  // On a loaded machine part of the burn waits for a CPU: that is runqueue.
  EXPECT_GE(part(s, "on_cpu_ms"), injection.cpu_ms() * 0.8) << s.dump();
  EXPECT_GE(part(s, "on_cpu_ms") + part(s, "runqueue_ms"), s.at("duration_ms").get<double>() * 0.9);
  EXPECT_LT(part(s, "sleep_ms") + part(s, "lock_ms") + part(s, "io_ms"), 10);
}

TEST_F(WhyTest, BlockingPipeReadIsIoWokenByTheWriter) {
  const auto& s = stall_of("pipe");
  EXPECT_GE(part(s, "io_ms"), 250) << s.dump();
  EXPECT_EQ(s.at("cause"), "io");
  ASSERT_FALSE(s.at("wakers").empty());
  EXPECT_EQ(s.at("wakers")[0].at("thread"), "pipe-writer") << s.at("wakers").dump();
  // What it waited on, as the README shows it: "read on pipe:[123]".
  EXPECT_NE(s.value("waited_on", "").find("read on pipe:["), std::string::npos) << s.dump();
}

TEST_F(WhyTest, HeldLockNamesTheThreadAndFunctionThatReleasedIt) {
  const auto& s = stall_of("lock");
  EXPECT_GE(part(s, "lock_ms"), 250) << s.dump();
  EXPECT_LT(part(s, "gil_ms"), 20);
  EXPECT_EQ(s.at("cause"), "lock");
  ASSERT_FALSE(s.at("wakers").empty());
  const auto& waker = s.at("wakers")[0];
  EXPECT_EQ(waker.at("thread"), "cache-writer") << waker.dump();
  EXPECT_GE(waker.at("ms").get<double>(), 250);
  bool in_flush_cache = false;
  for (const auto& frame : waker.at("frames"))
    if (frame.get<std::string>().find("flush_cache") != std::string::npos) in_flush_cache = true;
  EXPECT_TRUE(in_flush_cache) << waker.dump();
}

TEST_F(WhyTest, GilHeldByAnotherThreadIsGilAndNamesTheHolder) {
  const auto& s = stall_of("gil");
  EXPECT_GE(part(s, "gil_ms"), 100) << s.dump();  // the hog is calibrated for ~300 ms
  EXPECT_LT(part(s, "lock_ms"), part(s, "gil_ms"));
  EXPECT_EQ(s.at("cause"), "gil");
  ASSERT_FALSE(s.at("wakers").empty());
  const auto& waker = s.at("wakers")[0];
  EXPECT_EQ(waker.at("thread"), "gil-hog") << waker.dump();
  EXPECT_TRUE(waker.at("gil").get<bool>());
  // The GIL changes hands at the holder's next eval-breaker check: in
  // hog_gil() or in the thread function (wait_for_gil.<locals>.hog) after it,
  // through drop_gil (whose caller has already swapped its thread state out,
  // so Python frames may be missing there).
  bool in_hog = false;
  for (const auto& frame : waker.at("frames")) {
    std::string label = frame.get<std::string>();
    if (label.find("hog") != std::string::npos || label.find("drop_gil") != std::string::npos)
      in_hog = true;
  }
  EXPECT_TRUE(in_hog) << waker.dump();
}

TEST_F(WhyTest, LoopSharingItsCpuWithABusyProcessWaitsInTheRunQueue) {
  const auto& s = stall_of("starve");
  EXPECT_GE(part(s, "runqueue_ms"), s.at("duration_ms").get<double>() * 0.25) << s.dump();
}

TEST_F(WhyTest, BusyTimeHistogramIsComputedInTheKernel) {
  const auto& loops = summary().at("loops");
  ASSERT_FALSE(loops.empty());
  const nlohmann::json* main_loop = nullptr;
  for (const auto& loop : loops)
    if (loop.at("tid") == r_->loop_tids.at("main")) main_loop = &loop;
  ASSERT_TRUE(main_loop);
  std::map<uint64_t, uint64_t> hist;  // le_us -> count
  for (const auto& bucket : main_loop->at("busy_hist"))
    hist[bucket.at("le_us").get<uint64_t>()] += bucket.at("count").get<uint64_t>();
  // hist:50 = 45 iterations of 1.5 ms ([1024, 2048) us, or the next bucket
  // when preempted) and 5 of 12 ms ([8192, 16384) us, or the next).
  EXPECT_GE(hist[2048] + hist[4096], 36u) << main_loop->dump();
  EXPECT_GE(hist[16384] + hist[32768], 4u) << main_loop->dump();
  EXPECT_LE(hist[16384], 10u) << main_loop->dump();
  EXPECT_GT(main_loop->at("utilization").get<double>(), 0);
  EXPECT_LT(main_loop->at("utilization").get<double>(), 1);
}

TEST_F(WhyTest, PerThreadTimesNameTheHelperThreads) {
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& t : summary().at("threads")) by_name[t.at("thread")] = t;
  ASSERT_TRUE(by_name.count("cache-writer"));
  EXPECT_GE(by_name["cache-writer"].at("sleep_ms").get<double>(), 250);
  ASSERT_TRUE(by_name.count("gil-hog"));
  EXPECT_GE(by_name["gil-hog"].at("running_ms").get<double>(), 100);
  EXPECT_FALSE(by_name["gil-hog"].at("runqueue_hist").empty());
}

TEST_F(WhyTest, PerCallbackTableSeparatesSlowFromFastCallbacks) {
  const auto& s = summary();
  EXPECT_NE(s.at("callback_method").get<std::string>().find("estimate"), std::string::npos);
  std::map<std::string, nlohmann::json> rows;
  for (const auto& row : s.at("callbacks")) rows[row.at("callback")] = row;
  ASSERT_TRUE(rows.count("slow_callback (why_app.py)")) << s.at("callbacks").dump();
  EXPECT_GE(rows["slow_callback (why_app.py)"].at("max_ms").get<double>(), 4.9);
  if (rows.count("fast_callback (why_app.py)"))
    EXPECT_LT(rows["fast_callback (why_app.py)"].at("p50_ms").get<double>(),
              rows["slow_callback (why_app.py)"].at("p50_ms").get<double>());
}

}  // namespace
}  // namespace loopprof::test

namespace loopprof::test {
namespace {

// --precise: a uprobe pair on context_run times every callback step exactly.
TEST(WhyPreciseTest, UprobesTimeEveryCallbackStep) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  std::string python = python_with_symbols();
  if (python.find(".pyenv") == std::string::npos)
    GTEST_SKIP() << "needs an interpreter with symbols (pyenv)";
  ScenarioResult r = run_scenario({{python, fixture_source("why_app.py"), "hist:50"},
                                   {"-t", "100", "--precise"},
                                   milliseconds(60000)});
  ASSERT_TRUE(r.events_error.empty()) << r.events_error << "\n" << r.diagnostics;
  const nlohmann::json* summary = nullptr;
  for (const auto& e : r.events)
    if (e.value("event", "") == "summary") summary = &e;
  ASSERT_TRUE(summary) << r.diagnostics;
  EXPECT_EQ(summary->at("callback_method").get<std::string>().rfind("precise", 0), 0u);
  uint64_t steps = 0;
  std::map<std::string, nlohmann::json> rows;
  for (const auto& row : summary->at("callbacks")) {
    steps += row.at("count").get<uint64_t>();
    rows[row.at("callback")] = row;
  }
  EXPECT_GE(steps, 100u);  // 50 callbacks + the task's steps around them
  ASSERT_TRUE(rows.count("slow_callback (why_app.py)")) << summary->at("callbacks").dump();
  // 12 ms of CPU each: timed, not estimated (a loaded machine may stretch it)
  EXPECT_GE(rows["slow_callback (why_app.py)"].at("p50_ms").get<double>(), 11.5);
  EXPECT_LT(rows["slow_callback (why_app.py)"].at("p50_ms").get<double>(), 40);
}

}  // namespace
}  // namespace loopprof::test
