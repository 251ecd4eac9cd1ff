// Routes ring-buffer records (tagged by type) to the stall assembler, and
// reports stalls -- final ones as they end, ongoing ones while they last --
// to the output sinks.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "bpf/abi.hpp"
#include "collector/cause_tracker.hpp"
#include "collector/pending_samples.hpp"
#include "collector/stack_extensions.hpp"
#include "collector/stack_resolver.hpp"
#include "collector/stall_assembler.hpp"
#include "collector/summary_builder.hpp"
#include "collector/thread_lifecycle.hpp"
#include "collector/wait_notes.hpp"
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
        callbacks_(sample_hz ? 1000000000ull / sample_hz : 0, precise),
        notes_(target.pid()) {
    subscribe_tables();
  }
  StallCollector(const StallCollector&) = delete;
  StallCollector& operator=(const StallCollector&) = delete;

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
  // CPU samples received, and those whose stacks were resolved (the others
  // were of busy periods that ended below the threshold).
  uint64_t samples() const { return samples_; }
  uint64_t samples_resolved() const { return samples_resolved_; }
  bool saw_loop() const { return saw_loop_; }
  // Every per-thread table subscribes here; sweep it with the live threads.
  ThreadLifecycle& lifecycle() { return lifecycle_; }
  // True once per exec record of the target (then re-read the process).
  bool take_exec() { return std::exchange(exec_pending_, false); }
  uint64_t execs() const { return execs_; }
  // Entries of the per-thread tables (for tests and the soak benchmark).
  size_t thread_entries() const;
  // Deep-stack records joined to their captures, and those lost.
  const StackExtensions& stack_extensions() const { return extensions_; }
  // What stalls waited on; notes of stalls under way at attach go here.
  WaitNotes& wait_notes() { return notes_; }
  // Looks at the target's live threads for what thread `tid` waits on (lock
  // holder, deadlock); nullopt when it cannot. Called by check_ongoing for a
  // stall past the threshold whose futex wait under way has lasted the
  // threshold too, at most once a second,
  // again every kLockReinspectNs while the stall lasts and no deadlock is
  // found (the second thread of a deadlock may block after the first).
  using LockInspector = std::function<std::optional<AttachNote>(pid_t tid)>;
  void set_lock_inspector(LockInspector inspector) { lock_inspector_ = std::move(inspector); }
  static constexpr uint64_t kLockInspectGapNs = 1'000'000'000;
  static constexpr uint64_t kLockReinspectNs = 5'000'000'000;

 private:
  void on_stall(const lp_stall_record& record);
  void on_capture(const lp_capture_record& record);
  bool defer_sample(const lp_capture_record& record, std::span<const uint8_t> deeper);
  void resolve_pending(pid_t tid, uint64_t seq);
  // True when it found something new to say about the stall's lock wait.
  bool inspect_lock_wait(pid_t tid, const lp_thread& state, uint64_t now_ns);
  void on_resume(const lp_resume_record& record);
  void on_loop_exit(const lp_loop_exit_record& record);
  void on_wake(const lp_wake_record& record);
  void on_step(const lp_step_record& record);
  void on_thread_exit(const lp_thread_exit_record& record);
  void on_exec(const lp_exec_record& record);
  void subscribe_tables();
  void on_busy_end(const lp_busy_end_record& record);
  void report(const Stall& stall);
  Stall ongoing_stall(pid_t tid, const lp_thread& state, uint64_t now_ns, bool& past_threshold);

  TargetProcess& target_;
  StackResolver& resolver_;
  std::vector<OutputSink*> sinks_;
  uint64_t threshold_ns_;
  uint32_t sample_hz_;
  StallAssembler assembler_;
  StackExtensions extensions_;  // deep stacks waiting for their capture
  CauseTracker causes_;
  CallbackStats callbacks_;
  // Samples of busy periods not past the threshold yet, stacks unresolved.
  PendingSamples pending_;
  // Threads seen running asyncio's Handle._run in Python: no native loop
  // (uvloop) can name their steps, so a sample without it has no callback.
  std::unordered_set<pid_t> asyncio_threads_;
  struct OffCpuStep {
    std::string callback;
    std::optional<TaskInfo> task;
  };
  std::unordered_map<pid_t, OffCpuStep> off_cpu_step_;  // step of the open off-CPU interval
  SummaryBuilder summary_;
  WaitNotes notes_;
  std::set<std::pair<pid_t, uint64_t>> reported_ongoing_;  // (tid, seq)
  LockInspector lock_inspector_;
  uint64_t last_lock_inspection_ns_ = 0;
  ThreadLifecycle lifecycle_;  // declared last: handlers point at the tables above
  uint64_t malformed_records_ = 0;
  uint64_t samples_ = 0;
  uint64_t samples_resolved_ = 0;
  uint64_t execs_ = 0;
  bool exec_pending_ = false;
  bool saw_loop_ = false;
};

}  // namespace loopprof
