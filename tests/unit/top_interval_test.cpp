// `loopprof top`'s interval arithmetic: per-interval lag percentiles and max
// from cumulative kernel counters, utilization, stall rate and worst stall
// over the window, merged stall stacks; the kernel-state snapshot; the screen.
#include <gtest/gtest.h>

#include "output/sink.hpp"
#include "top/interval_stats.hpp"
#include "top/loop_snapshot.hpp"
#include "top/top_render.hpp"

namespace loopprof::top {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1000 * kMs;

// Bucket of a busy period of `ns` as the kernel files it (log2 of us).
size_t bucket_of(uint64_t ns) {
  uint64_t us = ns / 1000;
  size_t b = 0;
  while (us > 1) {
    us >>= 1;
    ++b;
  }
  return b;
}

// Cumulative counters of one loop thread, built up iteration by iteration.
struct FakeLoop {
  LoopSnapshot s{.pid = 10, .tid = 11, .thread = "loop"};
  FakeLoop() { s.busy_hist.assign(32, 0); }
  FakeLoop& iterate(uint64_t busy_ns, uint64_t idle_ns, uint64_t count = 1) {
    for (uint64_t i = 0; i < count; ++i) {
      s.iterations++;
      s.busy_ns += busy_ns;
      s.idle_ns += idle_ns;
      s.max_busy_ns = std::max(s.max_busy_ns, busy_ns);
      s.busy_hist[bucket_of(busy_ns)]++;
    }
    return *this;
  }
};

Frame py(const char* name, uint32_t line) {
  return Frame{.kind = FrameKind::python, .name = name, .file = "/srv/app.py", .line = line};
}
Frame native(const char* name) {
  return Frame{.kind = FrameKind::native, .name = name};
}
Frame kernel(const char* name) {
  return Frame{.kind = FrameKind::kernel, .name = name};
}

Stall stall(uint64_t seq, uint64_t ns, bool ongoing = false) {
  Stall s{.pid = 10,
          .tid = 11,
          .thread = "loop",
          .seq = seq,
          .duration_ns = ns,
          .off_cpu_ns = ns,
          .ongoing = ongoing};
  s.breakdown.sleep_ns = ns;
  s.stacks.push_back({{native("main"), py("handler", 42), native("time_sleep"), kernel("schedule")},
                      ns / 1000,
                      CpuState::off_cpu});
  return s;
}

TEST(TopInterval, LagPercentilesComeFromTheIntervalsIterationsOnly) {
  IntervalAggregator agg(0);
  FakeLoop loop;
  loop.iterate(300 * kMs, 10 * kMs, 3);  // first interval: slow iterations
  TopFrame first = agg.next(1 * kSec, {loop.s}, {});
  ASSERT_EQ(first.loops.size(), 1u);
  EXPECT_EQ(first.loops[0].iterations, 3u);
  EXPECT_EQ(first.loops[0].lag_p50_ns, Log2Histogram::bucket_upper_ns(bucket_of(300 * kMs)));

  loop.iterate(100'000, 1 * kMs, 100);  // second interval: 100 us iterations only
  TopFrame second = agg.next(2 * kSec, {loop.s}, {});
  ASSERT_EQ(second.loops.size(), 1u);
  const LoopRow& row = second.loops[0];
  EXPECT_EQ(row.iterations, 100u);
  EXPECT_EQ(row.lag_p50_ns, Log2Histogram::bucket_upper_ns(bucket_of(100'000)));
  EXPECT_EQ(row.lag_p99_ns, Log2Histogram::bucket_upper_ns(bucket_of(100'000)));
  // The all-time max (300 ms) did not happen in this interval: the max is
  // bounded by the interval's highest bucket, and says it is a bound.
  EXPECT_FALSE(row.lag_max_exact);
  EXPECT_EQ(row.lag_max_ns, Log2Histogram::bucket_upper_ns(bucket_of(100'000)));
}

TEST(TopInterval, MaxIsExactWhenANewRecordOrAStallEndsInTheInterval) {
  IntervalAggregator agg(0);
  FakeLoop loop;
  loop.iterate(5 * kMs, 5 * kMs, 10).iterate(250 * kMs, 5 * kMs);
  TopFrame first = agg.next(1 * kSec, {loop.s}, {stall(11, 250 * kMs)});
  EXPECT_TRUE(first.loops[0].lag_max_exact);
  EXPECT_EQ(first.loops[0].lag_max_ns, 250 * kMs);

  // A 200 ms stall, below the record: its exact length is the interval's max.
  loop.iterate(5 * kMs, 5 * kMs, 10).iterate(200 * kMs, 5 * kMs);
  TopFrame second = agg.next(2 * kSec, {loop.s}, {stall(22, 200 * kMs)});
  EXPECT_TRUE(second.loops[0].lag_max_exact);
  EXPECT_EQ(second.loops[0].lag_max_ns, 200 * kMs);
}

TEST(TopInterval, ABusyPeriodUnderWayIsTheMaxAndCountsAsBusy) {
  IntervalAggregator agg(0);
  FakeLoop loop;
  loop.iterate(1 * kMs, 99 * kMs, 5);  // 0.5 s, 1% busy
  agg.next(1 * kSec, {loop.s}, {});
  // Then stuck for the whole next second: no iteration ends.
  loop.s.open_busy_ns = 1500 * kMs;
  loop.s.busy_ns += 1 * kSec;
  TopFrame frame = agg.next(2 * kSec, {loop.s}, {stall(6, 1500 * kMs, true)});
  const LoopRow& row = frame.loops[0];
  EXPECT_EQ(row.iterations, 0u);
  EXPECT_EQ(row.lag_p99_ns, 0u);
  EXPECT_EQ(row.lag_max_ns, 1500 * kMs);
  EXPECT_TRUE(row.lag_max_exact);
  EXPECT_DOUBLE_EQ(row.utilization, 1.0);
  EXPECT_EQ(row.stalls, 1u);
  ASSERT_TRUE(row.has_worst);
  EXPECT_TRUE(row.worst.ongoing);
  EXPECT_EQ(row.worst.culprit, "handler (/srv/app.py:42)");
  EXPECT_EQ(row.worst.cause, std::string("sleep"));
}

TEST(TopInterval, UtilizationIsBusyOverBusyPlusIdleOfTheInterval) {
  IntervalAggregator agg(0);
  FakeLoop loop;
  loop.iterate(10 * kMs, 90 * kMs, 10);  // 10%
  EXPECT_NEAR(agg.next(1 * kSec, {loop.s}, {}).loops[0].utilization, 0.10, 1e-9);
  loop.iterate(60 * kMs, 40 * kMs, 10);  // 60% in this interval, 35% overall
  EXPECT_NEAR(agg.next(2 * kSec, {loop.s}, {}).loops[0].utilization, 0.60, 1e-9);
}

TEST(TopInterval, StallRateAndWorstCoverTheWindowAndCountEachStallOnce) {
  IntervalAggregator agg(0, 10 * kSec);
  FakeLoop loop;
  // Reported ongoing in one interval, final in the next: one stall, and the
  // final length replaces the ongoing one.
  agg.next(1 * kSec, {loop.s}, {stall(1, 150 * kMs, true)});
  loop.iterate(400 * kMs, 0);
  TopFrame frame = agg.next(2 * kSec, {loop.s}, {stall(1, 400 * kMs)});
  const LoopRow& row = frame.loops[0];
  EXPECT_EQ(row.stalls, 1u);
  EXPECT_FALSE(row.worst.ongoing);
  EXPECT_EQ(row.worst.duration_ns, 400 * kMs);
  EXPECT_NEAR(row.stalls_per_minute, 1 * 60.0 / 2, 1e-9);  // 1 stall in 2 s watched

  loop.iterate(200 * kMs, 0);
  frame = agg.next(5 * kSec, {loop.s}, {stall(2, 200 * kMs)});
  EXPECT_EQ(frame.loops[0].stalls, 1u);
  EXPECT_NEAR(frame.loops[0].stalls_per_minute, 2 * 60.0 / 5, 1e-9);
  EXPECT_EQ(frame.loops[0].worst.duration_ns, 400 * kMs);

  // 12 s: the 400 ms stall (last seen at 2 s) left the 10 s window.
  frame = agg.next(12 * kSec, {loop.s}, {});
  EXPECT_EQ(frame.loops[0].stalls, 0u);
  EXPECT_EQ(frame.loops[0].worst.duration_ns, 200 * kMs);
  EXPECT_NEAR(frame.loops[0].stalls_per_minute, 1 * 60.0 / 10, 1e-9);
}

TEST(TopInterval, FinalStallIsNotReplacedByALateOngoingReport) {
  IntervalAggregator agg(0);
  FakeLoop loop;
  TopFrame frame = agg.next(1 * kSec, {loop.s}, {stall(3, 500 * kMs), stall(3, 300 * kMs, true)});
  EXPECT_FALSE(frame.loops[0].worst.ongoing);
  EXPECT_EQ(frame.loops[0].worst.duration_ns, 500 * kMs);
}

TEST(TopInterval, NewThreadAndCounterResetDiffAgainstZero) {
  IntervalAggregator agg(0);
  FakeLoop a;
  a.iterate(1 * kMs, 1 * kMs, 50);
  agg.next(1 * kSec, {a.s}, {});
  FakeLoop reused;  // same tid, counters from zero again (a new thread)
  reused.iterate(2 * kMs, 1 * kMs, 7);
  TopFrame frame = agg.next(2 * kSec, {reused.s}, {});
  EXPECT_EQ(frame.loops[0].iterations, 7u);
  // A thread that is gone has no row.
  EXPECT_TRUE(agg.next(3 * kSec, {}, {}).loops.empty());
}

TEST(TopInterval, StacksMergeBelowTheCulpritAndStayUntilTheNextStall) {
  IntervalAggregator agg(0);
  FakeLoop loop;
  Stall cpu{.pid = 10, .tid = 11, .thread = "loop", .seq = 1, .duration_ns = 300 * kMs};
  cpu.stacks.push_back(
      {{native("main"), py("burn", 7), native("PyNumber_Add")}, 100000, CpuState::on_cpu});
  cpu.stacks.push_back(
      {{native("main"), py("burn", 7), native("time_perf_counter")}, 150000, CpuState::on_cpu});
  cpu.stacks.push_back(
      {{native("main"), py("burn", 7), kernel("schedule")}, 50000, CpuState::off_cpu});
  TopFrame frame = agg.next(1 * kSec, {loop.s}, {cpu, stall(2, 100 * kMs)});
  ASSERT_EQ(frame.stacks.size(), 3u);
  EXPECT_EQ(frame.stacks[0].weight_ns, 250 * kMs);  // the two on-CPU samples of burn
  EXPECT_EQ(frame.stacks[0].state, CpuState::on_cpu);
  ASSERT_EQ(frame.stacks[0].frames.size(), 2u);
  EXPECT_EQ(frames_culprit(frame.stacks[0].frames), "burn (/srv/app.py:7)");
  EXPECT_EQ(frame.stacks[1].weight_ns, 100 * kMs);  // the sleep stall, cut at handler
  EXPECT_EQ(frame.stacks[2].weight_ns, 50 * kMs);
  EXPECT_EQ(frame.stacks_ns, 1 * kSec);

  // No stall in the next interval: the last stacks stay, with their time.
  TopFrame later = agg.next(2 * kSec, {loop.s}, {});
  EXPECT_EQ(later.stacks.size(), 3u);
  EXPECT_EQ(later.stacks_ns, 1 * kSec);
}

TEST(TopSnapshot, OpenBusyPeriodAndOpenWaitCount) {
  lp_thread t{};
  t.loop_family = LP_WAIT_EPOLL;
  t.iterations = 4;
  t.busy_total_ns = 40 * kMs;
  t.idle_total_ns = 60 * kMs;
  t.max_busy_ns = 20 * kMs;
  t.busy_start_ns = 1000 * kMs;  // busy since 1 s
  t.last_switch_ns = 1000 * kMs;
  t.in_wait = LP_NOT_WAITING;
  LoopSnapshot busy = loop_snapshot(1, 2, "loop", t, 1300 * kMs, 0);
  EXPECT_EQ(busy.open_busy_ns, 300 * kMs);
  EXPECT_EQ(busy.busy_ns, 340 * kMs);
  EXPECT_EQ(busy.idle_ns, 60 * kMs);
  EXPECT_TRUE(shows_as_loop(t, 1300 * kMs, 100 * kMs));

  t.busy_start_ns = 0;
  t.in_wait = LP_IN_LOOP_WAIT;
  t.wait_start_ns = 1200 * kMs;
  LoopSnapshot waiting = loop_snapshot(1, 2, "loop", t, 1300 * kMs, 0);
  EXPECT_EQ(waiting.open_busy_ns, 0u);
  EXPECT_EQ(waiting.busy_ns, 40 * kMs);
  EXPECT_EQ(waiting.idle_ns, 160 * kMs);

  // Waiting since before attach (seeded): the wait counts from attach.
  t.wait_start_ns = 0;
  LoopSnapshot seeded = loop_snapshot(1, 2, "loop", t, 1300 * kMs, 1000 * kMs);
  EXPECT_EQ(seeded.idle_ns, 360 * kMs);
}

TEST(TopSnapshot, OnlyLoopsShow) {
  lp_thread t{};
  EXPECT_FALSE(shows_as_loop(t, 0, 100 * kMs));  // never waited
  t.loop_family = LP_WAIT_EPOLL;
  t.iterations = 1;
  t.busy_start_ns = 1000 * kMs;
  EXPECT_FALSE(shows_as_loop(t, 1050 * kMs, 100 * kMs));  // one wait, busy 50 ms
  EXPECT_TRUE(shows_as_loop(t, 1150 * kMs, 100 * kMs));   // busy past the threshold
  t.iterations = 2;
  EXPECT_TRUE(shows_as_loop(t, 1050 * kMs, 100 * kMs));
}

TEST(TopRender, DurationsAndSortKeys) {
  EXPECT_EQ(format_duration(850'000), "850us");
  EXPECT_EQ(format_duration(12'500'000), "12.5ms");
  EXPECT_EQ(format_duration(2'400'000'000), "2.40s");
  EXPECT_EQ(parse_sort_key("stalls"), SortKey::stalls);
  EXPECT_EQ(parse_sort_key("nope"), std::nullopt);
  EXPECT_EQ(sort_key_for_key('u'), SortKey::utilization);

  std::vector<LoopRow> rows(3);
  rows[0] = {.tid = 1, .lag_p99_ns = 5, .utilization = 0.9, .stalls_per_minute = 1};
  rows[1] = {.tid = 2, .lag_p99_ns = 50, .utilization = 0.1, .stalls_per_minute = 3};
  rows[2] = {.tid = 3, .lag_p99_ns = 20, .utilization = 0.5, .stalls_per_minute = 2};
  sort_rows(rows, SortKey::lag_p99);
  EXPECT_EQ(rows[0].tid, 2);
  sort_rows(rows, SortKey::utilization);
  EXPECT_EQ(rows[0].tid, 1);
  sort_rows(rows, SortKey::stalls);
  EXPECT_EQ(rows[0].tid, 2);
  sort_rows(rows, SortKey::tid);
  EXPECT_EQ(rows[0].tid, 1);
}

TEST(TopRender, RowsNameTheWorstStallAndLinesFitTheWidth) {
  IntervalAggregator agg(0);
  FakeLoop loop;
  loop.iterate(300 * kMs, 200 * kMs, 2);
  TopFrame frame = agg.next(1 * kSec, {loop.s}, {stall(1, 300 * kMs), stall(2, 300 * kMs)});
  ScreenHeader header{
      .targets = "PID 10 (python3)", .clock = "12:00:00", .threshold_ns = 100 * kMs};
  ScreenText text = render_top(frame, header);
  std::string all;
  for (const auto& l : text.lines) all += l + "\n";
  EXPECT_NE(text.lines[text.columns_line].find("LAG p99"), std::string::npos) << all;
  const std::string& row = text.lines[text.columns_line + 1];
  EXPECT_NE(row.find("   10      11 loop"), std::string::npos) << all;
  EXPECT_NE(row.find("300.0ms"), std::string::npos) << all;
  EXPECT_NE(row.find("60.0%"), std::string::npos) << all;
  EXPECT_NE(row.find("sleep    handler (app.py:42)"), std::string::npos) << all;
  EXPECT_NE(all.find("in handler (app.py:42)"), std::string::npos) << all;
  // The folded stack keeps its leaf end: main;handler (/srv/app.py:42)
  EXPECT_NE(all.find("main;handler (/srv/app.py:42)"), std::string::npos) << all;

  ScreenText narrow = render_top(frame, header, {.width = 40, .height = 12, .stacks = 9});
  for (const auto& l : narrow.lines) EXPECT_LE(l.size(), 40u) << l;
  EXPECT_LE(narrow.lines.size(), 12u);
}

}  // namespace
}  // namespace loopprof::top
