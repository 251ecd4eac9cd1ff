// Routes ring-buffer records (tagged by type) to the stall assembler, and
// reports stalls -- final ones as they end, ongoing ones while they last --
// to the output sinks.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bpf/abi.hpp"
#include "collector/cause_tracker.hpp"
#include "collector/stack_resolver.hpp"
#include "collector/stall_assembler.hpp"
#include "collector/summary_builder.hpp"
#include "latency/callback_stats.hpp"
#include "output/sink.hpp"
#include "target/target_process.hpp"

namespace loopprof {

class StallCollector {
 public:
  StallCollector(TargetProcess& target, StackResolver& resolver, std::vector<OutputSink*> sinks,
                 uint64_t threshold_ns, uint32_t sample_hz = 199, bool precise = false)
      : target_(target),
        resolver_(resolver),
        sinks_(std::move(sinks)),
        threshold_ns_(threshold_ns),
        sample_hz_(sample_hz),
        callbacks_(sample_hz ? 1000000000ull / sample_hz : 0, precise) {}

  void on_record(const void* data, size_t size);
  // Reports busy periods past the threshold that have not ended yet (once
  // each), and refreshes per-thread counters. `threads` is the BPF map.
  void check_ongoing(const std::vector<std::pair<pid_t, lp_thread>>& threads, uint64_t now_ns);
  // Busy periods past the threshold at this moment (for the exit report).
  std::vector<Stall> ongoing_now(const std::vector<std::pair<pid_t, lp_thread>>& threads,
                                 uint64_t now_ns);

  // Per-thread times and histograms read from the kernel (at exit).
  void note_task_stats(const std::vector<std::pair<pid_t, lp_task_stats>>& stats);
  const SummaryBuilder& summary();
  uint64_t malformed_records() const { return malformed_records_; }
  bool saw_loop() const { return saw_loop_; }

 private:
  void on_stall(const lp_stall_record& record);
  void on_capture(const lp_capture_record& record);
  void on_resume(const lp_resume_record& record);
  void on_loop_exit(const lp_loop_exit_record& record);
  void on_wake(const lp_wake_record& record);
  void on_step(const lp_step_record& record);
  void on_busy_end(const lp_busy_end_record& record);
  void report(const Stall& stall);
  Stall ongoing_stall(pid_t tid, const lp_thread& state, uint64_t now_ns, bool& past_threshold);

  TargetProcess& target_;
  StackResolver& resolver_;
  std::vector<OutputSink*> sinks_;
  uint64_t threshold_ns_;
  uint32_t sample_hz_;
  StallAssembler assembler_;
  CauseTracker causes_;
  CallbackStats callbacks_;
  struct OffCpuStep {
    std::string callback;
    std::optional<TaskInfo> task;
  };
  std::unordered_map<pid_t, OffCpuStep> off_cpu_step_;  // step of the open off-CPU interval
  SummaryBuilder summary_;
  std::set<std::pair<pid_t, uint64_t>> reported_ongoing_;  // (tid, seq)
  uint64_t malformed_records_ = 0;
  bool saw_loop_ = false;
};

}  // namespace loopprof
