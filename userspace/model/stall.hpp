// What loopprof reports: a stall of one loop thread and the stacks it spent
// its time in.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/frame.hpp"

namespace loopprof {

enum class CpuState : uint8_t { on_cpu, off_cpu };

const char* cpu_state_name(CpuState state);

// A stack and the stall time spent in it (microseconds).
struct WeightedStack {
  Frames frames;
  uint64_t weight_us = 0;
  CpuState state = CpuState::on_cpu;
};

struct Stall {
  pid_t pid = 0;
  pid_t tid = 0;
  std::string thread;     // thread name (comm)
  uint64_t seq = 0;       // busy-period number of this thread
  uint64_t start_ns = 0;  // CLOCK_MONOTONIC
  uint64_t duration_ns = 0;
  uint64_t on_cpu_ns = 0;
  uint64_t off_cpu_ns = 0;
  bool ongoing = false;               // the loop is still blocked
  bool thread_exited = false;         // the busy period ended with the thread's exit
  std::vector<WeightedStack> stacks;  // weights add up to duration (in us)
};

}  // namespace loopprof
