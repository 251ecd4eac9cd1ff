// The loop model (bpf/loop_model.h) is the code the BPF programs run; here it
// is fed synthetic event sequences.
#include <gtest/gtest.h>

#include "bpf/abi.hpp"

namespace {

constexpr __u64 kMs = 1000000;
constexpr __u64 kThreshold = 100 * kMs;
constexpr __u64 kLoopSp = 0x7ffd0000f000;
constexpr __u64 kDeeperSp = 0x7ffd0000a000;
constexpr __s32 kLoopFd = 5;

class LoopThread {
 public:
  // Returns true when the wait closed a stall.
  bool enter(__u64 now, __u32 family, __s32 key, __u64 sp) {
    stalled_ = lp_on_wait_enter(&t_, now, family, key, sp, kThreshold, &end_) != 0;
    return stalled_;
  }
  bool loop_wait(__u64 now) { return enter(now, LP_WAIT_EPOLL, kLoopFd, kLoopSp); }
  void exit(__u64 now) { lp_on_wait_exit(&t_, now); }
  // exec: the task's scheduler run time at the switch-out (0: not known).
  bool out(__u64 now, __u32 reason = LP_OFF_SLEEP, __u64 exec = 0) {
    return lp_on_switch_out(&t_, now, reason, exec) != 0;
  }
  __u64 in(__u64 now) { return lp_on_switch_in(&t_, now); }

  lp_thread t_{};
  lp_stall_end end_{};
  bool stalled_ = false;
};

TEST(LoopModel, FirstWaitIsAdoptedAndIterationsAreCounted) {
  LoopThread l;
  EXPECT_FALSE(l.loop_wait(1 * kMs));
  l.exit(2 * kMs);
  EXPECT_FALSE(l.loop_wait(3 * kMs));
  EXPECT_EQ(l.t_.loop_family, static_cast<__u32>(LP_WAIT_EPOLL));
  EXPECT_EQ(l.t_.loop_key, kLoopFd);
  EXPECT_EQ(l.t_.iterations, 2u);
  EXPECT_EQ(l.t_.stalls, 0u);
}

TEST(LoopModel, BusyPeriodAtThresholdIsAStallAndJustBelowIsNot) {
  LoopThread l;
  l.loop_wait(0);
  l.exit(10 * kMs);
  EXPECT_FALSE(l.loop_wait(10 * kMs + kThreshold - 1));
  l.exit(200 * kMs);
  ASSERT_TRUE(l.loop_wait(200 * kMs + kThreshold));
  EXPECT_EQ(l.end_.start_ns, 200 * kMs);
  EXPECT_EQ(l.end_.end_ns, 200 * kMs + kThreshold);
  EXPECT_EQ(l.end_.seq, 2u);
}

TEST(LoopModel, TimeBeforeTheFirstLoopWaitReturnIsNotAStall) {
  LoopThread l;  // attached while the thread was busy: its start is unknown
  EXPECT_FALSE(l.loop_wait(500 * kMs));
}

TEST(LoopModel, SelectInsideAnEpollLoopIsBusyTime) {
  LoopThread l;
  l.loop_wait(0);
  l.exit(1 * kMs);
  // A callback blocks in select() on a pipe for 300 ms (e.g. select.select or
  // time.sleep on old CPython): not the loop's wait.
  EXPECT_FALSE(l.enter(2 * kMs, LP_WAIT_SELECT, 8, kDeeperSp));
  EXPECT_EQ(l.t_.in_wait, static_cast<__u32>(LP_IN_OTHER_WAIT));
  EXPECT_TRUE(lp_busy(&l.t_));
  l.exit(302 * kMs);
  ASSERT_TRUE(l.loop_wait(303 * kMs));
  EXPECT_EQ(l.end_.end_ns - l.end_.start_ns, 302 * kMs);
  EXPECT_EQ(l.t_.loop_family, static_cast<__u32>(LP_WAIT_EPOLL));
}

TEST(LoopModel, NestedEpollOnAnotherFdFromADeeperStackIsBusyTime) {
  LoopThread l;
  l.loop_wait(0);
  l.exit(1 * kMs);
  EXPECT_FALSE(l.enter(2 * kMs, LP_WAIT_EPOLL, 9, kDeeperSp));  // a client's private epoll
  l.exit(150 * kMs);
  ASSERT_TRUE(l.loop_wait(151 * kMs));
  EXPECT_EQ(l.t_.loop_key, kLoopFd);
}

TEST(LoopModel, ShallowerWaitReplacesALoopAdoptedMidCallback) {
  LoopThread l;
  // Attached while a callback sat in a nested epoll_wait on fd 9.
  l.enter(0, LP_WAIT_EPOLL, 9, kDeeperSp);
  l.exit(1 * kMs);
  EXPECT_TRUE(l.t_.loop_key == 9);
  l.loop_wait(2 * kMs);  // the real loop's wait, from a shallower stack
  EXPECT_EQ(l.t_.loop_key, kLoopFd);
  l.exit(3 * kMs);
  EXPECT_FALSE(l.enter(4 * kMs, LP_WAIT_EPOLL, 9, kDeeperSp));
}

TEST(LoopModel, EpollReplacesAPollLoopButNotTheOtherWayRound) {
  LoopThread l;
  l.enter(0, LP_WAIT_POLL, 3, kDeeperSp);
  EXPECT_EQ(l.t_.loop_family, static_cast<__u32>(LP_WAIT_POLL));
  l.exit(1 * kMs);
  EXPECT_FALSE(l.enter(2 * kMs, LP_WAIT_EPOLL, kLoopFd, kDeeperSp - 64));
  EXPECT_EQ(l.t_.loop_family, static_cast<__u32>(LP_WAIT_EPOLL));
  l.exit(3 * kMs);
  EXPECT_FALSE(l.enter(4 * kMs, LP_WAIT_POLL, 3, kLoopSp + 4096));
  EXPECT_EQ(l.t_.loop_family, static_cast<__u32>(LP_WAIT_EPOLL));
}

TEST(LoopModel, ALongRunOfAnotherWaitBecomesTheLoop) {
  LoopThread l;
  l.loop_wait(0);
  l.exit(1 * kMs);
  __u64 now = 2 * kMs;
  for (int i = 0; i < LP_ALT_ADOPT_COUNT - 1; ++i, now += 10) {
    EXPECT_FALSE(l.enter(now, LP_WAIT_EPOLL, 11, kDeeperSp));
    l.exit(now + 5);
  }
  l.enter(now, LP_WAIT_EPOLL, 11, kDeeperSp);
  EXPECT_EQ(l.t_.loop_key, 11);
}

TEST(LoopModel, OnAndOffCpuAddUpToTheDuration) {
  LoopThread l;
  l.loop_wait(0);
  l.exit(10 * kMs);
  ASSERT_TRUE(l.out(40 * kMs));   // 30 ms running
  EXPECT_FALSE(l.out(41 * kMs));  // already off
  EXPECT_EQ(l.in(240 * kMs), 200 * kMs);
  EXPECT_EQ(l.in(241 * kMs), 0u);  // not off
  ASSERT_TRUE(l.loop_wait(260 * kMs));
  EXPECT_EQ(l.end_.on_cpu_ns, 50 * kMs);
  EXPECT_EQ(l.end_.off_cpu_ns, 200 * kMs);
  EXPECT_EQ(l.end_.on_cpu_ns + l.end_.off_cpu_ns, l.end_.end_ns - l.end_.start_ns);
}

TEST(LoopModel, SwitchesInsideTheLoopWaitAreIdleNotBusy) {
  LoopThread l;
  l.loop_wait(0);
  EXPECT_FALSE(l.out(1 * kMs));
  EXPECT_EQ(l.in(500 * kMs), 0u);
  l.exit(500 * kMs);
  EXPECT_FALSE(l.loop_wait(501 * kMs));
}

TEST(LoopModel, OngoingStallIsVisibleWhileTheThreadIsStillBlocked) {
  LoopThread l;
  l.loop_wait(0);
  l.exit(10 * kMs);
  l.out(12 * kMs);  // blocked on a lock since 12 ms
  __u64 elapsed = 0, on = 0, off = 0;
  ASSERT_TRUE(lp_busy_so_far(&l.t_, 400 * kMs, &elapsed, &on, &off));
  EXPECT_EQ(elapsed, 390 * kMs);
  EXPECT_EQ(on, 2 * kMs);
  EXPECT_EQ(off, 388 * kMs);
  l.in(900 * kMs);
  ASSERT_TRUE(l.loop_wait(901 * kMs));  // and then its final duration
  EXPECT_EQ(l.end_.end_ns - l.end_.start_ns, 891 * kMs);
}

TEST(LoopModel, ThreadExitMidStallClosesTheStall) {
  LoopThread l;
  l.loop_wait(0);
  l.exit(10 * kMs);
  lp_stall_end end{};
  ASSERT_TRUE(lp_on_thread_exit(&l.t_, 250 * kMs, kThreshold, &end));
  EXPECT_EQ(end.end_ns - end.start_ns, 240 * kMs);
  EXPECT_EQ(end.on_cpu_ns, 240 * kMs);

  LoopThread idle;
  idle.loop_wait(0);
  EXPECT_FALSE(lp_on_thread_exit(&idle.t_, 250 * kMs, kThreshold, &end));  // exits idle
}

}  // namespace

namespace {

TEST(LoopModelCauses, BlockedTimeGoesToItsReasonAndTheRestToTheRunQueue) {
  LoopThread l;
  l.loop_wait(0);
  l.exit(10 * kMs);
  ASSERT_TRUE(l.out(20 * kMs, LP_OFF_FUTEX));
  EXPECT_EQ(lp_on_wakeup(&l.t_, 220 * kMs), 200 * kMs);
  EXPECT_EQ(lp_on_wakeup(&l.t_, 221 * kMs), 0u);  // one wake-up per interval
  __u64 blocked = 0, runq = 0;
  EXPECT_EQ(lp_on_switch_in_split(&l.t_, 230 * kMs, &blocked, &runq), 210 * kMs);
  EXPECT_EQ(blocked, 200 * kMs);
  EXPECT_EQ(runq, 10 * kMs);
  ASSERT_TRUE(l.out(240 * kMs, LP_OFF_RUNQ));  // preempted
  EXPECT_EQ(lp_on_wakeup(&l.t_, 245 * kMs), 0u);
  l.in(250 * kMs);
  ASSERT_TRUE(l.loop_wait(260 * kMs));
  EXPECT_EQ(l.end_.cause_ns[LP_OFF_FUTEX], 200 * kMs);
  EXPECT_EQ(l.end_.cause_ns[LP_OFF_RUNQ], 20 * kMs);
  EXPECT_EQ(l.end_.on_cpu_ns + l.end_.off_cpu_ns, 250 * kMs);
  __u64 causes = 0;
  for (__u64 c : l.end_.cause_ns) causes += c;
  EXPECT_EQ(causes, l.end_.off_cpu_ns);
}

TEST(LoopModelCauses, NextBusyPeriodStartsWithNoCauses) {
  LoopThread l;
  l.loop_wait(0);
  l.exit(10 * kMs);
  l.out(20 * kMs, LP_OFF_SLEEP);
  l.in(200 * kMs);
  ASSERT_TRUE(l.loop_wait(210 * kMs));
  EXPECT_EQ(l.t_.last_busy_ns, 200 * kMs);
  EXPECT_EQ(l.t_.max_busy_ns, 200 * kMs);
  EXPECT_EQ(l.t_.busy_hist[lp_hist_bucket(200 * kMs)], 1u);  // [131072, 262144) us
  EXPECT_EQ(lp_hist_bucket(200 * kMs), 17u);
  l.exit(300 * kMs);
  EXPECT_EQ(l.t_.idle_total_ns, 90 * kMs);
  for (__u64 c : l.t_.cause_ns) EXPECT_EQ(c, 0u);
}

TEST(LoopModelCauses, OngoingBreakdownIncludesTheOpenInterval) {
  LoopThread l;
  l.loop_wait(0);
  l.exit(10 * kMs);
  l.out(20 * kMs, LP_OFF_IO);
  lp_on_wakeup(&l.t_, 300 * kMs);
  __u64 cause[LP_OFF_COUNT] = {};
  lp_causes_so_far(&l.t_, 310 * kMs, cause);
  EXPECT_EQ(cause[LP_OFF_IO], 280 * kMs);
  EXPECT_EQ(cause[LP_OFF_RUNQ], 10 * kMs);
}

}  // namespace

namespace {

TEST(LoopModel, ClosingTheLoopsEpollFdEndsTheLoopUntilItsNextWait) {
  LoopThread l;
  l.loop_wait(0);
  l.exit(10 * kMs);
  EXPECT_FALSE(lp_on_close(&l.t_, kLoopFd + 1));  // another descriptor: nothing changes
  EXPECT_TRUE(lp_busy(&l.t_));
  ASSERT_TRUE(lp_on_close(&l.t_, kLoopFd));  // asyncio.run() returned, loop.close()
  EXPECT_FALSE(lp_busy(&l.t_));
  // 400 ms of work after the loop is gone, then a new loop on a new fd.
  EXPECT_FALSE(l.enter(410 * kMs, LP_WAIT_EPOLL, 7, kDeeperSp));
  EXPECT_EQ(l.t_.loop_key, 7);
  l.exit(411 * kMs);
  EXPECT_TRUE(l.enter(611 * kMs, LP_WAIT_EPOLL, 7, kDeeperSp));  // its stalls count again
}

}  // namespace

namespace {

// The sched_switch program sometimes never sees a busy thread switched back in
// (6.18 under load): the next event of the running thread repairs the interval
// from the scheduler's run-time counter.
TEST(LoopModelMissedSwitchIn, ASleepAfterAMissedSwitchInStaysOffCpu) {
  LoopThread l;
  l.loop_wait(0);
  l.exit(10 * kMs);
  ASSERT_TRUE(l.out(20 * kMs, LP_OFF_RUNQ, 1000 * kMs));  // preempted
  // Switched back in at 25 ms unseen; runs 10 ms, then sleeps 250 ms.
  __u64 blocked = 9, runq = 9;  // the resume the missed switch-in would have shipped
  EXPECT_EQ(lp_catch_up_switch_in(&l.t_, 35 * kMs, 1010 * kMs, &blocked, &runq), 5 * kMs);
  EXPECT_EQ(blocked, 0u);
  EXPECT_EQ(runq, 5 * kMs);
  ASSERT_TRUE(l.out(35 * kMs, LP_OFF_SLEEP, 1010 * kMs));
  l.in(285 * kMs);
  ASSERT_TRUE(l.loop_wait(290 * kMs));
  EXPECT_EQ(l.end_.cause_ns[LP_OFF_SLEEP], 250 * kMs);
  EXPECT_EQ(l.end_.cause_ns[LP_OFF_RUNQ], 5 * kMs);
  EXPECT_EQ(l.end_.on_cpu_ns, 10 * kMs + 10 * kMs + 5 * kMs);
  EXPECT_EQ(l.end_.on_cpu_ns + l.end_.off_cpu_ns, 280 * kMs);
}

TEST(LoopModelMissedSwitchIn, TheRunTimeSplitsTheIntervalAtAWait) {
  LoopThread l;
  l.loop_wait(0);
  l.exit(10 * kMs);
  ASSERT_TRUE(l.out(20 * kMs, LP_OFF_FUTEX, 500 * kMs));
  __u64 blocked = 0, runq = 9;
  EXPECT_EQ(lp_catch_up_switch_in(&l.t_, 220 * kMs, 530 * kMs, &blocked, &runq), 170 * kMs);
  EXPECT_EQ(blocked, 170 * kMs);
  EXPECT_EQ(runq, 0u);
  EXPECT_EQ(l.t_.off_cpu, 0u);
  ASSERT_TRUE(l.loop_wait(220 * kMs));
  EXPECT_EQ(l.end_.cause_ns[LP_OFF_FUTEX], 170 * kMs);
  EXPECT_EQ(l.end_.on_cpu_ns, 10 * kMs + 30 * kMs);
  EXPECT_EQ(l.end_.off_cpu_ns, 170 * kMs);
}

TEST(LoopModelMissedSwitchIn, UnknownRunTimeCountsTheIntervalOffCpuAndTooMuchCountsItOn) {
  LoopThread unknown;
  unknown.loop_wait(0);
  unknown.exit(10 * kMs);
  ASSERT_TRUE(unknown.out(20 * kMs, LP_OFF_SLEEP, 0));
  EXPECT_EQ(lp_catch_up_switch_in(&unknown.t_, 120 * kMs, 7 * kMs, nullptr, nullptr), 100 * kMs);
  EXPECT_EQ(unknown.t_.cause_ns[LP_OFF_SLEEP], 100 * kMs);

  LoopThread clamped;  // a run-time counter ahead of the wall clock is clamped
  clamped.loop_wait(0);
  clamped.exit(10 * kMs);
  ASSERT_TRUE(clamped.out(20 * kMs, LP_OFF_SLEEP, 100 * kMs));
  EXPECT_EQ(lp_catch_up_switch_in(&clamped.t_, 30 * kMs, 900 * kMs, nullptr, nullptr),
            1u);  // repaired, 0 off
  EXPECT_EQ(clamped.t_.off_cpu_ns, 0u);
  EXPECT_EQ(clamped.t_.on_cpu_ns, 20 * kMs);
}

TEST(LoopModelMissedSwitchIn, ARunningThreadNeedsNoRepair) {
  LoopThread l;
  l.loop_wait(0);
  l.exit(10 * kMs);
  EXPECT_EQ(lp_catch_up_switch_in(&l.t_, 20 * kMs, 5 * kMs, nullptr, nullptr), 0u);
  ASSERT_TRUE(l.out(20 * kMs, LP_OFF_SLEEP, 5 * kMs));
  l.in(30 * kMs);
  EXPECT_EQ(lp_catch_up_switch_in(&l.t_, 40 * kMs, 15 * kMs, nullptr, nullptr), 0u);
  EXPECT_EQ(l.t_.cause_ns[LP_OFF_SLEEP], 10 * kMs);
}

}  // namespace
