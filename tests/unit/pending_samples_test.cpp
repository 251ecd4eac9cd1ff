#include "collector/pending_samples.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace loopprof {
namespace {

std::unique_ptr<lp_capture_record> sample(pid_t tid, uint64_t seq, uint64_t ts_ns) {
  auto r = std::make_unique<lp_capture_record>();
  r->type = LP_REC_CAPTURE;
  r->kind = LP_CAPTURE_SAMPLE;
  r->tid = static_cast<__u32>(tid);
  r->seq = seq;
  r->ts_ns = ts_ns;
  r->ustack[0] = ts_ns;  // a stack to recognise the copy by
  return r;
}

TEST(PendingSamples, AStallTakesItsBusyPeriodsSamplesInOrder) {
  PendingSamples p;
  for (uint64_t ts = 1; ts <= 3; ts++) ASSERT_TRUE(p.keep(*sample(7, 5, ts)));
  ASSERT_TRUE(p.keep(*sample(8, 2, 10)));
  auto taken = p.take(7, 5);
  ASSERT_EQ(taken.size(), 3u);
  for (uint64_t i = 0; i < 3; i++) {
    EXPECT_EQ(taken[i].record->ts_ns, i + 1);
    EXPECT_EQ(taken[i].record->ustack[0], i + 1);
  }
  EXPECT_TRUE(p.take(7, 5).empty());  // taken once
  EXPECT_EQ(p.kept(), 1u);            // the other thread's stays
}

TEST(PendingSamples, ABusyPeriodEndingBelowTheThresholdDropsItsSamples) {
  PendingSamples p;
  ASSERT_TRUE(p.keep(*sample(7, 5, 1)));
  p.drop(7, 4);  // an older busy period: nothing to drop
  EXPECT_EQ(p.kept(), 1u);
  p.drop(7, 5);
  EXPECT_EQ(p.kept(), 0u);
  EXPECT_EQ(p.threads_tracked(), 0u);
  EXPECT_TRUE(p.take(7, 5).empty());
}

TEST(PendingSamples, ANewBusyPeriodReplacesTheOldOnesSamples) {
  PendingSamples p;
  ASSERT_TRUE(p.keep(*sample(7, 5, 1)));
  ASSERT_TRUE(p.keep(*sample(7, 6, 2)));  // busy period 5's end was lost
  EXPECT_TRUE(p.take(7, 5).empty());
  auto taken = p.take(7, 6);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].record->ts_ns, 2u);
}

TEST(PendingSamples, ABusyPeriodKeepsAtMostItsCapThenTheCallerResolves) {
  PendingSamples p;
  for (size_t i = 0; i < PendingSamples::kMaxPerPeriod; i++) ASSERT_TRUE(p.keep(*sample(7, 5, i)));
  EXPECT_FALSE(p.keep(*sample(7, 5, 999)));
  EXPECT_EQ(p.take(7, 5).size(), PendingSamples::kMaxPerPeriod);
}

TEST(PendingSamples, AnExitedThreadIsForgotten) {
  PendingSamples p;
  ASSERT_TRUE(p.keep(*sample(7, 5, 1)));
  p.forget(7);
  EXPECT_EQ(p.threads_tracked(), 0u);
  EXPECT_TRUE(p.take(7, 5).empty());
}

}  // namespace
}  // namespace loopprof
