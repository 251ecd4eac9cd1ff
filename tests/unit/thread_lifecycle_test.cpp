// Per-thread state follows the live threads: the lifecycle fan-out, the
// bounded summary tables, and the per-thread tables forgetting exited threads.
#include "collector/thread_lifecycle.hpp"

#include <gtest/gtest.h>

#include "collector/stall_assembler.hpp"
#include "collector/summary_builder.hpp"
#include "latency/callback_stats.hpp"

namespace loopprof {
namespace {

constexpr uint64_t kMs = 1000000;

TEST(ThreadLifecycle, ExitFansOutToEveryTableInOrder) {
  ThreadLifecycle lifecycle;
  std::vector<std::string> calls;
  lifecycle.subscribe([&](pid_t tid) { calls.push_back("a" + std::to_string(tid)); });
  lifecycle.subscribe([&](pid_t tid) { calls.push_back("b" + std::to_string(tid)); });
  lifecycle.saw(7);
  lifecycle.saw(8);
  lifecycle.exited(7);
  EXPECT_EQ(calls, (std::vector<std::string>{"a7", "b7"}));
  EXPECT_EQ(lifecycle.tracked(), 1u);
  EXPECT_EQ(lifecycle.exits(), 1u);
}

TEST(ThreadLifecycle, SweepForgetsThreadsGoneWithoutTheirExitRecord) {
  ThreadLifecycle lifecycle;
  std::vector<pid_t> forgotten;
  lifecycle.subscribe([&](pid_t tid) { forgotten.push_back(tid); });
  for (pid_t tid : {1, 2, 3, 4}) lifecycle.saw(tid);
  EXPECT_EQ(lifecycle.sweep({1, 3, 99}), 2u);
  std::sort(forgotten.begin(), forgotten.end());
  EXPECT_EQ(forgotten, (std::vector<pid_t>{2, 4}));
  EXPECT_EQ(lifecycle.tracked(), 2u);
  EXPECT_EQ(lifecycle.sweep({1, 3}), 0u);
}

lp_task_stats times(uint64_t running_ms, uint64_t other_ms) {
  lp_task_stats s{};
  s.running_ns = running_ms * kMs;
  s.off_ns[LP_OFF_OTHER] = other_ms * kMs;
  return s;
}

lp_thread loop_state(uint64_t iterations, uint64_t busy_ms) {
  lp_thread t{};
  t.iterations = iterations;
  t.busy_total_ns = busy_ms * kMs;
  return t;
}

TEST(SummaryBuilder, ExitedThreadsAreFoldedIntoBoundedTablesWithHonestCounts) {
  SummaryBuilder summary;
  const pid_t kMain = 1;
  summary.note_loop_thread(kMain, "main", loop_state(1000, 50));
  summary.note_thread_times(kMain, "main", times(5000, 0));
  // 10,000 short threads, each a small loop, come and go.
  for (pid_t tid = 2; tid < 10002; ++tid) {
    summary.note_loop_thread(tid, "churn", loop_state(3, tid % 7));
    summary.note_thread_times(tid, "churn", times(1 + tid % 5, 1));
    summary.forget_thread(tid);
    ASSERT_LE(summary.live_rows(), 4u);
    ASSERT_LT(summary.exited_rows(), 2 * (SummaryBuilder::kLoopRows + SummaryBuilder::kThreadRows));
  }
  Summary s = summary.build({});
  ASSERT_EQ(s.loops.size(), SummaryBuilder::kLoopRows);
  EXPECT_EQ(s.loops.size() + s.loops_not_shown, 10001u);
  EXPECT_EQ(s.loops.front().tid, kMain);  // the busiest loop first
  ASSERT_EQ(s.threads.size(), SummaryBuilder::kThreadRows);
  EXPECT_EQ(s.threads.size() + s.threads_not_shown, 10001u);
  EXPECT_EQ(s.threads_exited, 10000u);
  EXPECT_EQ(s.threads.front().tid, kMain);
  for (size_t i = 1; i < s.threads.size(); ++i) EXPECT_EQ(s.threads[i].running_ns, 5 * kMs);
  // Nothing is lost in the sums: shown + not shown = all.
  uint64_t running = s.threads_not_shown_times.running_ns,
           other = s.threads_not_shown_times.other_ns;
  for (const ThreadTimes& t : s.threads) {
    running += t.running_ns;
    other += t.other_ns;
  }
  uint64_t expected_running = 5000 * kMs;
  for (pid_t tid = 2; tid < 10002; ++tid) expected_running += (1 + tid % 5) * kMs;
  EXPECT_EQ(running, expected_running);
  EXPECT_EQ(other, 10000 * kMs);
}

TEST(SummaryBuilder, AStallOfAnExitedLoopKeepsItsRow) {
  SummaryBuilder summary;
  Stall stall;
  stall.tid = 42;
  stall.thread = "worker";
  stall.duration_ns = 300 * kMs;
  summary.add_stall(stall);
  summary.forget_thread(42);
  EXPECT_EQ(summary.live_rows(), 0u);
  Summary s = summary.build({});
  ASSERT_EQ(s.loops.size(), 1u);
  EXPECT_EQ(s.loops[0].tid, 42);
  EXPECT_EQ(s.loops[0].blocked_ns, 300 * kMs);
  EXPECT_EQ(s.loops_not_shown, 0u);
}

TEST(StallAssembler, ForgetDropsTheOpenBusyPeriod) {
  StallAssembler assembler;
  assembler.on_sample(9, 1, Frames{Frame{.kind = FrameKind::native, .name = "f"}});
  assembler.forget(9);
  Stall stall =
      assembler.finish(9, StallTimes{.seq = 1, .duration_ns = 10 * kMs, .on_cpu_ns = 10 * kMs});
  for (const auto& stack : stall.stacks)
    for (const Frame& f : stack.frames) EXPECT_NE(f.name, "f");
}

TEST(CallbackStats, ForgetClosesTheThreadsOpenStepsAndDropsItsState) {
  CallbackStats stats(10 * kMs, false);
  Frames frames = {
      Frame{.kind = FrameKind::python, .name = "Handle._run", .file = "asyncio/events.py"},
      Frame{.kind = FrameKind::python, .name = "tick", .file = "/app/app.py"}};
  stats.on_sample(5, 1, frames);
  EXPECT_EQ(stats.threads_tracked(), 1u);
  stats.forget(5);
  EXPECT_EQ(stats.threads_tracked(), 0u);
  auto rows = stats.rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].count, 1u);
  EXPECT_EQ(rows[0].total_ns, 10 * kMs);
}

TEST(CallbackStats, StepTimesKeptPerCallbackAreBoundedWhileTotalsStayExact) {
  CallbackStats stats(0, true);
  for (uint64_t i = 1; i <= 3 * CallbackStats::kKeptSteps; ++i) stats.on_step(1, 0, i * 1000);
  auto rows = stats.rows();
  ASSERT_EQ(rows.size(), 1u);
  const uint64_t n = 3 * CallbackStats::kKeptSteps;
  EXPECT_EQ(rows[0].count, n);
  EXPECT_EQ(rows[0].total_ns, 1000 * n * (n + 1) / 2);
  EXPECT_EQ(rows[0].max_ns, n * 1000);
  // A uniform sample: its median is near the true one (n/2 us).
  EXPECT_NEAR(static_cast<double>(rows[0].p50_ns), n * 1000 / 2.0, n * 1000 * 0.05);
}

}  // namespace
}  // namespace loopprof
