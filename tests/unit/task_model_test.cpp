// bpf/task_model.h: per-thread time accounting, histograms and the off-CPU
// classification the BPF programs run, fed synthetic sequences.
#include <gtest/gtest.h>

#include "bpf/abi.hpp"

namespace {

constexpr __u64 kUs = 1000;
constexpr __u64 kMs = 1000 * kUs;

TEST(TaskModel, HistogramBucketsAreLog2OfMicroseconds) {
  EXPECT_EQ(lp_hist_bucket(0), 0u);
  EXPECT_EQ(lp_hist_bucket(999), 0u);
  EXPECT_EQ(lp_hist_bucket(1 * kUs), 0u);
  EXPECT_EQ(lp_hist_bucket(2 * kUs), 1u);
  EXPECT_EQ(lp_hist_bucket(3 * kUs), 1u);
  EXPECT_EQ(lp_hist_bucket(4 * kUs), 2u);
  EXPECT_EQ(lp_hist_bucket(2 * kMs), 10u);   // 2000 us in [1024, 2048)
  EXPECT_EQ(lp_hist_bucket(20 * kMs), 14u);  // 20000 us in [16384, 32768)
  EXPECT_EQ(lp_hist_bucket(~0ull), static_cast<__u32>(LP_HIST_BUCKETS - 1));
}

TEST(TaskModel, ClassifiesWhatTheThreadBlockedIn) {
  EXPECT_EQ(lp_classify_off(0, LP_SC_FUTEX, 0, 0), static_cast<__u32>(LP_OFF_RUNQ));
  EXPECT_EQ(lp_classify_off(1, LP_SC_FUTEX, 0x1000, 9), static_cast<__u32>(LP_OFF_FUTEX));
  EXPECT_EQ(lp_classify_off(1, LP_SC_CLOCK_NANOSLEEP, 0, 0), static_cast<__u32>(LP_OFF_SLEEP));
  EXPECT_EQ(lp_classify_off(1, LP_SC_NANOSLEEP, 0, 0), static_cast<__u32>(LP_OFF_SLEEP));
  // time.sleep() before Python 3.11: select(0, NULL, NULL, NULL, &tv)
  EXPECT_EQ(lp_classify_off(1, LP_SC_SELECT, 0, 0), static_cast<__u32>(LP_OFF_SLEEP));
  EXPECT_EQ(lp_classify_off(1, LP_SC_SELECT, 5, 0), static_cast<__u32>(LP_OFF_IO));
  EXPECT_EQ(lp_classify_off(1, LP_SC_POLL, 0x1000, 1), static_cast<__u32>(LP_OFF_IO));
  EXPECT_EQ(lp_classify_off(1, LP_SC_READ, 3, 0), static_cast<__u32>(LP_OFF_IO));
  EXPECT_EQ(lp_classify_off(1, LP_SC_RECVFROM, 3, 0), static_cast<__u32>(LP_OFF_IO));
  EXPECT_EQ(lp_classify_off(2, -1, 0, 0), static_cast<__u32>(LP_OFF_IO));  // page fault, D state
  EXPECT_EQ(lp_classify_off(1, 61 /* wait4 */, 0, 0), static_cast<__u32>(LP_OFF_OTHER));
}

TEST(TaskModel, AFutexWaiterIsWokenOnlyByATaskInAFutexWakeOfItsKind) {
  constexpr __u64 kWakePrivate = 1 | LP_FUTEX_PRIVATE, kWaitPrivate = 0 | LP_FUTEX_PRIVATE;
  // The GIL's releaser (pthread_cond_signal: FUTEX_WAKE_PRIVATE) in its process.
  EXPECT_TRUE(lp_futex_woken_by(LP_SC_FUTEX, kWakePrivate, false));
  EXPECT_TRUE(lp_futex_woken_by(LP_SC_FUTEX, 10 /* WAKE_BITSET */ | LP_FUTEX_PRIVATE, false));
  // A task waiting in futex, or in any other call, was interrupted (the
  // waiter's own timeout fired on its CPU).
  EXPECT_FALSE(lp_futex_woken_by(LP_SC_FUTEX, kWaitPrivate, false));
  EXPECT_FALSE(lp_futex_woken_by(LP_SC_READ, 0, false));
  // Another process cannot wake a private futex: a timer interrupt that
  // landed in its own futex wake (seen: the GIL "held by" another process).
  EXPECT_FALSE(lp_futex_woken_by(LP_SC_FUTEX, kWakePrivate, true));
  EXPECT_FALSE(lp_futex_woken_by(LP_SC_FUTEX_WAKE, LP_FUTEX_PRIVATE, true));
  // A shared futex (multiprocessing's semaphores in shared memory) can.
  EXPECT_TRUE(lp_futex_woken_by(LP_SC_FUTEX, 1 /* WAKE, shared */, true));
  EXPECT_TRUE(lp_futex_woken_by(LP_SC_FUTEX_WAKE, 0, true));
}

TEST(TaskModel, SplitsTimeIntoRunningBlockedAndRunQueue) {
  lp_task_stats s{};
  lp_task_switch_in(&s, 1 * kMs);  // first sighting
  lp_task_switch_out(&s, 10 * kMs, LP_OFF_FUTEX, 0);
  EXPECT_EQ(s.running_ns, 9 * kMs);
  EXPECT_GT(lp_task_wakeup(&s, 40 * kMs), 0u);
  EXPECT_EQ(lp_task_wakeup(&s, 41 * kMs), 0u);  // already woken
  lp_task_switch_in(&s, 45 * kMs);
  EXPECT_EQ(s.off_ns[LP_OFF_FUTEX], 30 * kMs);
  EXPECT_EQ(s.off_ns[LP_OFF_RUNQ], 5 * kMs);
  EXPECT_EQ(s.hist[LP_HIST_FUTEX][lp_hist_bucket(30 * kMs)], 1u);
  EXPECT_EQ(s.hist[LP_HIST_RUNQ][lp_hist_bucket(5 * kMs)], 1u);

  lp_task_switch_out(&s, 50 * kMs, LP_OFF_RUNQ, 0);  // preempted: all run queue
  EXPECT_EQ(lp_task_wakeup(&s, 51 * kMs), 0u);
  lp_task_switch_in(&s, 57 * kMs);
  EXPECT_EQ(s.off_ns[LP_OFF_RUNQ], 12 * kMs);
  EXPECT_EQ(s.running_ns, 14 * kMs);

  lp_task_switch_out(&s, 60 * kMs, LP_OFF_SLEEP, 0);  // wake-up not seen: all blocked
  lp_task_switch_in(&s, 70 * kMs);
  EXPECT_EQ(s.off_ns[LP_OFF_SLEEP], 10 * kMs);
  EXPECT_EQ(s.off_ns[LP_OFF_RUNQ], 12 * kMs);
}

// A switch-in the sched_switch program missed (see LoopModelMissedSwitchIn):
// the next switch-out splits the interval by the scheduler's run time, so a
// sleep after it stays a sleep and the running time is not lost.
TEST(TaskModel, MissedSwitchInIsSplitByTheRunTime) {
  lp_task_stats s{};
  lp_task_switch_in(&s, 1 * kMs);
  lp_task_switch_out(&s, 10 * kMs, LP_OFF_RUNQ, 500 * kMs);  // preempted
  // Back on CPU at 14 ms unseen; runs 6 ms, then sleeps.
  lp_task_switch_out(&s, 20 * kMs, LP_OFF_SLEEP, 506 * kMs);
  EXPECT_EQ(s.off_ns[LP_OFF_RUNQ], 4 * kMs);
  EXPECT_EQ(s.running_ns, 9 * kMs + 6 * kMs);
  lp_task_switch_in(&s, 270 * kMs);
  EXPECT_EQ(s.off_ns[LP_OFF_SLEEP], 250 * kMs);

  lp_task_stats fresh{};  // first seen at a switch-out: nothing to repair
  lp_task_switch_out(&fresh, 10 * kMs, LP_OFF_SLEEP, 5 * kMs);
  EXPECT_EQ(fresh.running_ns, 0u);
  EXPECT_EQ(fresh.off_ns[LP_OFF_SLEEP], 0u);
}

}  // namespace
