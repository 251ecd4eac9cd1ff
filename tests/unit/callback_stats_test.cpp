// CallbackStats: per-callback step times estimated from captures.
#include "latency/callback_stats.hpp"

#include <gtest/gtest.h>

#include "latency/histogram.hpp"

namespace loopprof {
namespace {

constexpr uint64_t kMs = 1000000;

Frame py(const char* name, const char* file) {
  return Frame{.kind = FrameKind::python, .name = name, .file = file, .line = 1};
}

Frames running(const char* callback) {
  return {py("run_forever", "/usr/lib/python3.11/asyncio/base_events.py"),
          py("_run_once", "/usr/lib/python3.11/asyncio/base_events.py"),
          py("Handle._run", "/usr/lib/python3.11/asyncio/events.py"), py(callback, "/app/app.py"),
          py("helper", "/app/app.py")};
}

TEST(CallbackStats, TheCallbackIsTheFrameUnderHandleRun) {
  EXPECT_EQ(callback_of(running("handle_request")), "handle_request (app.py)");
  EXPECT_EQ(callback_of({py("main", "/app/app.py")}), "");
  Frames uvloop = {Frame{.kind = FrameKind::native, .name = "__pyx_f_6uvloop_4loop_6Handle__run"},
                   py("on_tick", "/app/app.py")};
  EXPECT_EQ(callback_of(uvloop), "on_tick (app.py)");
}

TEST(CallbackStats, StepsAreBusyPeriodsAndTimesComeFromSamplesAndOffCpu) {
  CallbackStats stats(10 * kMs, false);                                              // 100 Hz
  for (uint64_t seq = 1; seq <= 4; ++seq) stats.on_sample(5, seq, running("tick"));  // 4 x 10 ms
  for (int i = 0; i < 3; ++i) stats.on_sample(5, 9, running("slow"));
  stats.on_off_cpu(5, 9, "slow (app.py)", 200 * kMs);
  stats.on_sample(5, 10, {py("main", "/app/app.py")});  // no callback: ignored
  auto rows = stats.rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].callback, "slow (app.py)");
  EXPECT_EQ(rows[0].count, 1u);
  EXPECT_EQ(rows[0].total_ns, 230 * kMs);
  EXPECT_EQ(rows[0].max_ns, 230 * kMs);
  EXPECT_EQ(rows[1].callback, "tick (app.py)");
  EXPECT_EQ(rows[1].count, 4u);
  EXPECT_EQ(rows[1].p50_ns, 10 * kMs);
}

TEST(CallbackStats, PreciseStepsAreTimedByProbesAndNamedByCapturesInside) {
  CallbackStats stats(10 * kMs, true);
  stats.on_sample(5, 1, running("ignored"));  // samples do not make steps
  stats.note_callback(5, 105 * kMs, "slow (app.py)");
  stats.on_step(5, 100 * kMs, 130 * kMs);
  stats.on_step(5, 140 * kMs, 141 * kMs);  // nothing captured inside
  auto rows = stats.rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].callback, "slow (app.py)");
  EXPECT_EQ(rows[0].total_ns, 30 * kMs);
  EXPECT_EQ(rows[1].callback, "[step not sampled]");
  EXPECT_EQ(rows[1].max_ns, 1 * kMs);
}

TaskInfo task(std::string name, std::string coroutine) {
  return TaskInfo{.name = std::move(name), .coroutine = std::move(coroutine), .awaited_by = {}};
}

TEST(CallbackStats, ANamedTaskIsOneRowAndDefaultNamedTasksGroupByCoroutine) {
  CallbackStats stats(5 * kMs, false);
  uint64_t seq = 0;
  for (int i = 0; i < 3; ++i) {  // billing-sync: three steps, one 250 ms stall
    stats.on_off_cpu(7, ++seq, "sync_accounts (app.py)", 250 * kMs,
                     task("billing-sync", "sync_accounts"));
    stats.on_busy_end(7, seq, 251 * kMs);
  }
  stats.note_stall(task("billing-sync", "sync_accounts"));
  for (int i = 1; i <= 500; ++i) {  // a server: one default-named task per request
    stats.on_sampled_step(7, ++seq, "RequestHandler._handle_request (web_protocol.py)",
                          task("Task-" + std::to_string(i), "RequestHandler._handle_request"));
    stats.on_busy_end(7, seq, 1 * kMs);
  }
  auto callbacks = stats.rows();
  ASSERT_EQ(callbacks.size(), 2u);
  EXPECT_EQ(callbacks[0].callback, "Task \"billing-sync\"");
  EXPECT_EQ(callbacks[0].count, 3u);
  EXPECT_EQ(callbacks[1].callback, "RequestHandler._handle_request (web_protocol.py)");
  EXPECT_EQ(callbacks[1].count, 500u);
  auto tasks = stats.task_rows();
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].name, "billing-sync");
  EXPECT_EQ(tasks[0].coroutine, "sync_accounts");
  EXPECT_EQ(tasks[0].steps, 3u);
  EXPECT_EQ(tasks[0].busy_ns, 750 * kMs);
  EXPECT_EQ(tasks[0].worst_ns, 250 * kMs);
  EXPECT_EQ(tasks[0].stalls, 1u);
  EXPECT_EQ(tasks[1].name, "Task-*");
  EXPECT_EQ(tasks[1].coroutine, "RequestHandler._handle_request");
  EXPECT_EQ(tasks[1].steps, 500u);
  EXPECT_EQ(tasks[1].busy_ns, 500 * kMs) << "each 5 ms sample capped at its 1 ms busy period";
  EXPECT_TRUE(is_default_task_name("Task-12"));
  EXPECT_FALSE(is_default_task_name("Task-"));
  EXPECT_FALSE(is_default_task_name("Task-12a"));
  EXPECT_FALSE(is_default_task_name("billing-sync"));
}

TEST(CallbackStats, TablesStayBoundedWhateverTheProgramNames) {
  CallbackStats stats(5 * kMs, false);
  const size_t distinct = CallbackStats::kMaxRows + 500;
  for (size_t i = 0; i < distinct; ++i) {  // a task and a callback named per request
    std::string n = std::to_string(i);
    stats.on_sampled_step(9, i + 1, "handler_" + n + " (app.py)", task("req-" + n, "handle"));
    stats.on_sampled_step(9, i + 1, "callback_" + n + " (app.py)");
    stats.on_busy_end(9, i + 1, 10 * kMs);
  }
  auto callbacks = stats.rows();
  auto tasks = stats.task_rows();
  EXPECT_EQ(callbacks.size(), CallbackStats::kMaxRows + 1);
  EXPECT_EQ(tasks.size(), CallbackStats::kMaxRows + 1);
  uint64_t steps = 0;
  for (const auto& t : tasks) steps += t.steps;
  EXPECT_EQ(steps, distinct) << "folded, not lost";
  EXPECT_TRUE(std::any_of(tasks.begin(), tasks.end(),
                          [](const TaskRow& t) { return t.name == "[other tasks]"; }));
  EXPECT_TRUE(std::any_of(callbacks.begin(), callbacks.end(),
                          [](const CallbackRow& c) { return c.callback == "[other callbacks]"; }));
}

TEST(Log2Histogram, QuantilesAreBucketUpperBounds) {
  Log2Histogram h;
  h.counts.assign(32, 0);
  h.counts[10] = 90;  // [1024, 2048) us
  h.counts[14] = 10;  // [16384, 32768) us
  EXPECT_EQ(h.total(), 100u);
  EXPECT_EQ(h.quantile_ns(0.5), 2048u * 1000);
  EXPECT_EQ(h.quantile_ns(0.99), 32768u * 1000);
  EXPECT_EQ(Log2Histogram{}.quantile_ns(0.5), 0u);
}

}  // namespace
}  // namespace loopprof
