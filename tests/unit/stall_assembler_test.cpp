#include "collector/stall_assembler.hpp"

#include <gtest/gtest.h>

#include <numeric>

namespace loopprof {
namespace {

constexpr uint64_t kMs = 1000000;

Frames stack(std::initializer_list<const char*> names) {
  Frames frames;
  for (const char* name : names) frames.push_back(Frame{.kind = FrameKind::native, .name = name});
  return frames;
}

uint64_t total_weight(const Stall& stall) {
  return std::accumulate(stall.stacks.begin(), stall.stacks.end(), uint64_t{0},
                         [](uint64_t sum, const WeightedStack& s) { return sum + s.weight_us; });
}

const WeightedStack* find(const Stall& stall, const Frames& frames, CpuState state) {
  for (const auto& s : stall.stacks)
    if (s.frames == frames && s.state == state) return &s;
  return nullptr;
}

TEST(StallAssembler, OffCpuIntervalsKeepTheirStacksAndExactTime) {
  StallAssembler a;
  a.on_switch_out(7, 3, 100 * kMs, stack({"main", "handler", "nanosleep"}));
  a.on_resume(7, 3, 300 * kMs);
  Stall s = a.finish(7, {.seq = 3,
                         .start_ns = 99 * kMs,
                         .duration_ns = 301 * kMs,
                         .on_cpu_ns = 1 * kMs,
                         .off_cpu_ns = 300 * kMs});
  EXPECT_EQ(total_weight(s), 301000u);
  const WeightedStack* off = find(s, stack({"main", "handler", "nanosleep"}), CpuState::off_cpu);
  ASSERT_NE(off, nullptr);
  EXPECT_EQ(off->weight_us, 300000u);
  EXPECT_NE(find(s, unsampled_on_cpu_frames(), CpuState::on_cpu), nullptr);
}

TEST(StallAssembler, OnCpuTimeIsSplitByTheSamples) {
  StallAssembler a;
  for (int i = 0; i < 3; ++i) a.on_sample(7, 1, stack({"main", "burn"}));
  a.on_sample(7, 1, stack({"main", "hash"}));
  Stall s = a.finish(7, {.seq = 1, .duration_ns = 200 * kMs, .on_cpu_ns = 200 * kMs});
  EXPECT_EQ(find(s, stack({"main", "burn"}), CpuState::on_cpu)->weight_us, 150000u);
  EXPECT_EQ(find(s, stack({"main", "hash"}), CpuState::on_cpu)->weight_us, 50000u);
  EXPECT_EQ(s.stacks.front().frames, stack({"main", "burn"}));  // heaviest first
}

TEST(StallAssembler, WeightsAddUpExactlyDespiteRounding) {
  StallAssembler a;
  a.on_sample(7, 1, stack({"a"}));
  a.on_sample(7, 1, stack({"b"}));
  a.on_sample(7, 1, stack({"c"}));
  Stall s = a.finish(7, {.seq = 1, .duration_ns = 100000001, .on_cpu_ns = 100000001});
  EXPECT_EQ(total_weight(s), 100000u);
}

TEST(StallAssembler, CapturesOfAnEarlierBusyPeriodAreNotMixedIn) {
  StallAssembler a;
  a.on_sample(7, 1, stack({"old"}));  // busy period 1 ended short of the threshold
  a.on_sample(7, 2, stack({"new"}));
  Stall s = a.finish(7, {.seq = 2, .duration_ns = 120 * kMs, .on_cpu_ns = 120 * kMs});
  EXPECT_EQ(find(s, stack({"old"}), CpuState::on_cpu), nullptr);
  EXPECT_EQ(find(s, stack({"new"}), CpuState::on_cpu)->weight_us, 120000u);
}

TEST(StallAssembler, LostSwitchOutIsReportedAsUncapturedOffCpu) {
  StallAssembler a;
  a.on_resume(7, 1, 150 * kMs);  // its capture was dropped
  Stall s = a.finish(7, {.seq = 1, .duration_ns = 150 * kMs, .off_cpu_ns = 150 * kMs});
  EXPECT_EQ(find(s, uncaptured_off_cpu_frames(), CpuState::off_cpu)->weight_us, 150000u);
}

TEST(StallAssembler, OngoingIncludesTheOpenOffCpuIntervalAndForgetsNothing) {
  StallAssembler a;
  a.on_switch_out(7, 4, 10 * kMs, stack({"main", "lock_acquire", "futex_wait"}));
  Stall now = a.ongoing(7,
                        {.seq = 4,
                         .start_ns = 9 * kMs,
                         .duration_ns = 201 * kMs,
                         .on_cpu_ns = 1 * kMs,
                         .off_cpu_ns = 200 * kMs},
                        210 * kMs);
  EXPECT_TRUE(now.ongoing);
  EXPECT_EQ(find(now, stack({"main", "lock_acquire", "futex_wait"}), CpuState::off_cpu)->weight_us,
            200000u);
  a.on_resume(7, 4, 500 * kMs);
  Stall final_stall = a.finish(7, {.seq = 4,
                                   .start_ns = 9 * kMs,
                                   .duration_ns = 501 * kMs,
                                   .on_cpu_ns = 1 * kMs,
                                   .off_cpu_ns = 500 * kMs});
  EXPECT_FALSE(final_stall.ongoing);
  EXPECT_EQ(find(final_stall, stack({"main", "lock_acquire", "futex_wait"}), CpuState::off_cpu)
                ->weight_us,
            500000u);
}

}  // namespace
}  // namespace loopprof
