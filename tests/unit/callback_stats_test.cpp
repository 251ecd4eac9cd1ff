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
