// CauseTracker: the stall breakdown (GIL told apart from other futex waits)
// and the wakers, from synthetic record sequences.
#include "collector/cause_tracker.hpp"

#include <gtest/gtest.h>

namespace loopprof {
namespace {

constexpr uint64_t kMs = 1000000;

Frame native(const char* name) {
  return Frame{.kind = FrameKind::native, .name = name};
}
Frame python(const char* name, const char* file, uint32_t line) {
  return Frame{.kind = FrameKind::python, .name = name, .file = file, .line = line};
}

Stall stall_of(pid_t tid, uint64_t seq, uint64_t duration, uint64_t on_cpu) {
  return Stall{.tid = tid,
               .seq = seq,
               .duration_ns = duration,
               .on_cpu_ns = on_cpu,
               .off_cpu_ns = duration - on_cpu};
}

TEST(CauseTracker, LockWaitNamesTheThreadThatReleasedIt) {
  CauseTracker tracker;
  tracker.on_switch_out(7, 1, {native("__futex_abstimed_wait_common"), native("sem_clockwait")},
                        LP_OFF_FUTEX);
  tracker.on_wake(7, 1,
                  WakeEvent{.waker_tid = 9,
                            .waker_thread = "cache-writer",
                            .blocked_ns = 290 * kMs,
                            .reason = LP_OFF_FUTEX});
  Frames waker_stack = {python("flush_cache", "cache.py", 88), native("futex_wake")};
  tracker.on_waker_stack(7, 1, 9, waker_stack);
  tracker.on_resume(7, 1, 290 * kMs);

  Stall stall = stall_of(7, 1, 300 * kMs, 5 * kMs);
  CauseTimes cause{};
  cause[LP_OFF_FUTEX] = 290 * kMs;
  cause[LP_OFF_RUNQ] = 3 * kMs;
  tracker.finish(stall, cause);
  EXPECT_EQ(stall.breakdown.lock_ns, 290 * kMs);
  EXPECT_EQ(stall.breakdown.gil_ns, 0u);
  EXPECT_EQ(stall.breakdown.runqueue_ns, 3 * kMs);
  EXPECT_EQ(stall.breakdown.other_ns, 2 * kMs);  // unaccounted rest
  EXPECT_STREQ(main_cause(stall.breakdown), "lock");
  ASSERT_EQ(stall.wakers.size(), 1u);
  EXPECT_EQ(stall.wakers[0].tid, 9);
  EXPECT_EQ(stall.wakers[0].thread, "cache-writer");
  EXPECT_EQ(stall.wakers[0].frames, waker_stack);
  EXPECT_EQ(stall.wakers[0].blocked_ns, 290 * kMs);
  EXPECT_FALSE(stall.wakers[0].gil);
}

TEST(CauseTracker, GilWaitTimeoutsGoToTheThreadThatDroppedTheGil) {
  CauseTracker tracker;
  Frames gil_wait = {python("handler", "app.py", 3), native("PyEval_RestoreThread"),
                     native("take_gil"), native("pthread_cond_timedwait")};
  for (int i = 0; i < 3; ++i) {  // the switch interval times out three times
    tracker.on_switch_out(7, 4, gil_wait, LP_OFF_FUTEX);
    tracker.on_wake(
        7, 4, WakeEvent{.blocked_ns = 5 * kMs, .reason = LP_OFF_FUTEX, .flags = LP_WAKE_INTERRUPT});
    tracker.on_resume(7, 4, 5 * kMs);
  }
  tracker.on_switch_out(7, 4, gil_wait, LP_OFF_FUTEX);
  tracker.on_wake(7, 4,
                  WakeEvent{.waker_tid = 11,
                            .waker_thread = "gil-hog",
                            .blocked_ns = 2 * kMs,
                            .reason = LP_OFF_FUTEX});
  tracker.on_waker_stack(7, 4, 11, {python("hog", "app.py", 40)});
  tracker.on_resume(7, 4, 2 * kMs);

  Stall stall = stall_of(7, 4, 20 * kMs, 3 * kMs);
  CauseTimes cause{};
  cause[LP_OFF_FUTEX] = 17 * kMs;
  tracker.finish(stall, cause);
  EXPECT_EQ(stall.breakdown.gil_ns, 17 * kMs);
  EXPECT_EQ(stall.breakdown.lock_ns, 0u);
  ASSERT_EQ(stall.wakers.size(), 1u);
  EXPECT_EQ(stall.wakers[0].thread, "gil-hog");
  EXPECT_EQ(stall.wakers[0].blocked_ns, 17 * kMs);
  EXPECT_TRUE(stall.wakers[0].gil);
}

TEST(CauseTracker, GilWaitIsRecognisedWithAndWithoutTheTakeGilSymbol) {
  EXPECT_TRUE(is_gil_wait({python("f", "a.py", 1), native("take_gil"), native("futex_wait")}));
  // stripped interpreter: take_gil is not nameable
  EXPECT_TRUE(is_gil_wait({python("f", "a.py", 1), native("python3.11+0x1234"),
                           native("__pthread_cond_wait_common"), native("futex_wait")}));
  // threading.Lock: a semaphore under PyThread_acquire_lock_timed
  EXPECT_FALSE(is_gil_wait({python("f", "a.py", 1), native("PyThread_acquire_lock_timed"),
                            native("sem_clockwait"), native("futex_wait")}));
  // a native program's condition variable is not a GIL
  EXPECT_FALSE(is_gil_wait({native("worker"), native("__pthread_cond_wait_common")}));
}

TEST(CauseTracker, SleepIsWokenByTheTimerAndAddsUp) {
  CauseTracker tracker;
  tracker.on_switch_out(7, 2, {native("clock_nanosleep")}, LP_OFF_SLEEP);
  tracker.on_wake(
      7, 2, WakeEvent{.blocked_ns = 300 * kMs, .reason = LP_OFF_SLEEP, .flags = LP_WAKE_INTERRUPT});
  tracker.on_resume(7, 2, 300 * kMs);
  Stall stall = stall_of(7, 2, 301 * kMs, 1 * kMs);
  CauseTimes cause{};
  cause[LP_OFF_SLEEP] = 300 * kMs;
  tracker.finish(stall, cause);
  const Breakdown& b = stall.breakdown;
  EXPECT_EQ(b.on_cpu_ns + b.runqueue_ns + b.lock_ns + b.gil_ns + b.sleep_ns + b.io_ns + b.other_ns,
            301 * kMs);
  ASSERT_EQ(stall.wakers.size(), 1u);
  EXPECT_EQ(stall.wakers[0].thread, "[timer]");
  EXPECT_EQ(stall.wakers[0].tid, 0);
}

TEST(CauseTracker, ABusyPeriodWithoutRecordsStillHasABreakdown) {
  CauseTracker tracker;
  Stall stall = stall_of(7, 3, 150 * kMs, 150 * kMs);
  tracker.finish(stall, CauseTimes{});
  EXPECT_EQ(stall.breakdown.on_cpu_ns, 150 * kMs);
  EXPECT_STREQ(main_cause(stall.breakdown), "on_cpu");
  EXPECT_TRUE(stall.wakers.empty());
}

}  // namespace
}  // namespace loopprof
