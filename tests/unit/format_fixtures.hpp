// Stalls for the format writers' tests: Python, native (with an inlined
// call) and kernel frames, two loop threads, several causes.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "model/stall.hpp"
#include "output/sink.hpp"

namespace loopprof::testing {

inline Frame py(const char* name, const char* file, uint32_t line) {
  return Frame{.kind = FrameKind::python, .name = name, .file = file, .line = line};
}
inline Frame native_at(const char* name, uint64_t address, bool inlined = false) {
  return Frame{.kind = FrameKind::native,
               .name = name,
               .module = "/usr/bin/python3.11",
               .file = "Python/ceval.c",
               .line = 100,
               .address = address,
               .offset = address - 0x400000,
               .inlined = inlined};
}
inline Frame kern(const char* name) {
  return Frame{.kind = FrameKind::kernel, .name = name, .module = "[kernel]", .address = 0xffff1};
}

// Three final stalls: 300 ms of lock (two stacks), 120 ms on CPU, 50 ms of
// sleep on a second loop thread.
inline std::vector<Stall> sample_stalls() {
  std::vector<Stall> stalls;
  Stall lock{.pid = 10,
             .tid = 11,
             .thread = "loop-main",
             .seq = 1,
             .start_ns = 1'000'000'000,
             .duration_ns = 300'000'000,
             .on_cpu_ns = 20'000'000,
             .off_cpu_ns = 280'000'000};
  lock.breakdown.lock_ns = 280'000'000;
  lock.breakdown.on_cpu_ns = 20'000'000;
  lock.stacks.push_back({{native_at("_start", 0x401000), py("handle", "app.py", 40),
                          py("take_lock", "app.py", 88), kern("futex_wait"), kern("schedule")},
                         280'000,
                         CpuState::off_cpu});
  lock.stacks.push_back({{native_at("_start", 0x401000), native_at("_PyEval_EvalFrame", 0x402000),
                          native_at("call_inline", 0x402000, true), py("handle", "app.py", 41)},
                         20'000,
                         CpuState::on_cpu});
  lock.wakers.push_back({.tid = 12,
                         .thread = "worker",
                         .frames = {py("release", "worker.py", 9)},
                         .blocked_ns = 280'000'000});
  stalls.push_back(lock);

  Stall cpu{.pid = 10,
            .tid = 11,
            .thread = "loop-main",
            .seq = 4,
            .start_ns = 2'000'000'000,
            .duration_ns = 120'000'000,
            .on_cpu_ns = 120'000'000};
  cpu.breakdown.on_cpu_ns = 120'000'000;
  cpu.stacks.push_back({{native_at("_start", 0x401000), py("handle", "app.py", 40),
                         py("crunch", "math_utils.py", 7)},
                        120'000,
                        CpuState::on_cpu});
  stalls.push_back(cpu);

  Stall sleep{.pid = 10,
              .tid = 13,
              .thread = "loop-2",
              .seq = 2,
              .start_ns = 1'500'000'000,
              .duration_ns = 50'000'000,
              .off_cpu_ns = 50'000'000};
  sleep.breakdown.sleep_ns = 50'000'000;
  sleep.stacks.push_back(
      {{py("nap", "sleepy.py", 3), kern("hrtimer_nanosleep")}, 50'000, CpuState::off_cpu});
  stalls.push_back(sleep);
  return stalls;
}

inline Summary sample_summary(const std::vector<Stall>& stalls) {
  Summary summary{.pid = 10,
                  .command = "python3 app.py",
                  .runtime = "CPython 3.11.4 (/usr/bin/python3.11)",
                  .wall_seconds = 5.25,
                  .threshold_ns = 20'000'000,
                  .stop_reason = "duration reached"};
  for (const Stall& s : stalls) {
    ++summary.stalls;
    summary.blocked_ns += s.duration_ns;
  }
  summary.worst = {stalls[0], stalls[1]};
  LoopThreadSummary loop{.tid = 11,
                         .thread = "loop-main",
                         .iterations = 900,
                         .stalls = 2,
                         .blocked_ns = 420'000'000,
                         .worst_ns = 300'000'000,
                         .busy_ns = 600'000'000,
                         .idle_ns = 4'000'000'000,
                         .busy_max_ns = 300'000'000};
  loop.busy_hist.counts = {0, 3, 10, 400, 20, 0, 1};
  summary.loops.push_back(loop);
  ThreadTimes t{.tid = 11,
                .thread = "loop-main",
                .running_ns = 700'000'000,
                .futex_ns = 280'000'000,
                .idle_ns = 4'000'000'000};
  t.futex_hist.counts = {1, 0, 2};
  summary.threads.push_back(t);
  summary.callbacks.push_back({.callback = "handle (app.py)",
                               .count = 40,
                               .total_ns = 500'000'000,
                               .p50_ns = 2'000'000,
                               .p99_ns = 300'000'000,
                               .max_ns = 300'000'000});
  summary.callback_method = "sampled";
  summary.dropped["samples"] = 3;
  return summary;
}

}  // namespace loopprof::testing
