#include "collector/stall_collector.hpp"

#include <fmt/format.h>

#include <cstring>

namespace loopprof {

namespace {

// Copies a record out of the ring buffer if it has the expected size.
template <typename Record>
bool read_record(const void* data, size_t size, Record& out) {
  if (size < sizeof(Record)) return false;
  std::memcpy(&out, data, sizeof(Record));
  return true;
}

}  // namespace

void StallCollector::on_record(const void* data, size_t size) {
  __u32 type = 0;
  if (size < sizeof(type)) {
    ++malformed_records_;
    return;
  }
  std::memcpy(&type, data, sizeof(type));
  switch (type) {
    case LP_REC_STALL: {
      lp_stall_record record;
      if (read_record(data, size, record)) return on_stall(record);
      break;
    }
    case LP_REC_CAPTURE:
      // Large: used in place rather than copied.
      if (size >= sizeof(lp_capture_record))
        return on_capture(*static_cast<const lp_capture_record*>(data));
      break;
    case LP_REC_STACK_MORE:  // comes right before its capture
      if (extensions_.add(data, size)) return;
      break;
    case LP_REC_RESUME: {
      lp_resume_record record;
      if (read_record(data, size, record)) return on_resume(record);
      break;
    }
    case LP_REC_STEP: {
      lp_step_record record;
      if (read_record(data, size, record)) return on_step(record);
      break;
    }
    case LP_REC_BUSY_END: {
      lp_busy_end_record record;
      if (read_record(data, size, record)) return on_busy_end(record);
      break;
    }
    case LP_REC_LOOP_EXIT: {
      lp_loop_exit_record record;
      if (read_record(data, size, record)) return on_loop_exit(record);
      break;
    }
    case LP_REC_THREAD_EXIT: {
      lp_thread_exit_record record;
      if (read_record(data, size, record)) return on_thread_exit(record);
      break;
    }
    case LP_REC_EXEC: {
      lp_exec_record record;
      if (read_record(data, size, record)) return on_exec(record);
      break;
    }
    case LP_REC_WAKE: {
      lp_wake_record record;
      if (read_record(data, size, record)) return on_wake(record);
      break;
    }
    default:
      fmt::print(stderr, "loopprof: BUG: unknown ring-buffer record type {} ({} bytes)\n", type,
                 size);
  }
  ++malformed_records_;
}

void StallCollector::subscribe_tables() {
  lifecycle_.subscribe([this](pid_t tid) {
    assembler_.forget(tid);
    extensions_.forget(tid);
    causes_.forget(tid);
    notes_.forget(tid);
    callbacks_.forget(tid);
    pending_.forget(tid);
    asyncio_threads_.erase(tid);
    off_cpu_step_.erase(tid);
    reported_ongoing_.erase(reported_ongoing_.lower_bound({tid, 0}),
                            reported_ongoing_.upper_bound({tid, UINT64_MAX}));
    summary_.forget_thread(tid);
    target_.forget_thread(tid);  // last: the others may still name it
  });
}

size_t StallCollector::thread_entries() const {
  return lifecycle_.tracked() + assembler_.threads_tracked() + extensions_.threads_tracked() +
         causes_.threads_tracked() + notes_.threads_tracked() + off_cpu_step_.size() +
         reported_ongoing_.size() + callbacks_.threads_tracked() + pending_.threads_tracked() +
         asyncio_threads_.size() + summary_.live_rows() + target_.names_kept();
}

void StallCollector::on_thread_exit(const lp_thread_exit_record& record) {
  pid_t tid = static_cast<pid_t>(record.tid);
  if (!(record.flags & LP_TEXIT_NO_STATS))
    summary_.note_thread_times(tid, target_.thread_name(tid), record.stats);
  lifecycle_.exited(tid);
}

void StallCollector::on_exec(const lp_exec_record& record) {
  ++execs_;
  exec_pending_ = true;
  if (record.old_tid != record.tid) lifecycle_.exited(static_cast<pid_t>(record.old_tid));
  target_.note_exec();
}

void StallCollector::on_capture(const lp_capture_record& record) {
  pid_t tid = static_cast<pid_t>(record.tid);
  if (record.pid == static_cast<__u32>(target_.pid())) lifecycle_.saw(tid);
  target_.thread_name(tid);  // remember it while the thread exists
  std::span<const uint8_t> deeper = extensions_.take(record);
  if (record.kind == LP_CAPTURE_SAMPLE) {
    ++samples_;
    if (defer_sample(record, deeper)) return;
    ++samples_resolved_;
  }
  Frames frames = resolver_.resolve(record, deeper);
  std::optional<TaskInfo> task;
  if (record.kind != LP_CAPTURE_WAKER) task = resolver_.task(record, frames);
  if (callbacks_.precise() && record.kind != LP_CAPTURE_WAKER)
    callbacks_.note_callback(tid, record.ts_ns, callback_of(frames), task);
  switch (record.kind) {
    case LP_CAPTURE_SAMPLE:
      callbacks_.on_sample(tid, record.seq, frames, task);
      assembler_.on_sample(tid, record.seq, std::move(frames));
      break;
    case LP_CAPTURE_WAKER:
      causes_.on_waker_stack(static_cast<pid_t>(record.woken_tid), record.seq, tid,
                             std::move(frames));
      break;
    default:
      causes_.on_switch_out(tid, record.seq, frames, record.off_reason);
      notes_.on_switch_out(record, frames);
      off_cpu_step_[tid] = OffCpuStep{callback_of(frames), std::move(task)};
      assembler_.on_switch_out(tid, record.seq, record.ts_ns, std::move(frames));
  }
}

// A CPU sample of a busy period not known to be a stall: the per-callback
// table takes what it needs from it now (LoopStep), its stack waits in
// pending_ until the busy period reaches the threshold (resolve_pending) or
// ends below it (on_busy_end). False: resolve it now.
bool StallCollector::defer_sample(const lp_capture_record& record,
                                  std::span<const uint8_t> deeper) {
  pid_t tid = static_cast<pid_t>(record.tid);
  if (reported_ongoing_.count({tid, record.seq})) return false;  // a stall already
  std::optional<LoopStep> step = resolver_.loop_step(record);
  if (!step) return false;
  if (step->handle_run == LoopStep::HandleRun::python)
    asyncio_threads_.insert(tid);
  else if (step->handle_run == LoopStep::HandleRun::not_seen && !asyncio_threads_.count(tid))
    return false;  // uvloop's native Handle__run shows only in the whole stack
  if (!pending_.keep(record, deeper)) return false;
  if (callbacks_.precise()) callbacks_.note_callback(tid, record.ts_ns, step->callback, step->task);
  callbacks_.on_sampled_step(tid, record.seq, step->callback, step->task);
  return true;
}

// Busy period `seq` of `tid` reached the threshold: its kept samples become
// stacks of the stall.
void StallCollector::resolve_pending(pid_t tid, uint64_t seq) {
  for (const PendingSamples::Sample& sample : pending_.take(tid, seq)) {
    ++samples_resolved_;
    assembler_.on_sample(tid, seq, resolver_.resolve(*sample.record, sample.deeper));
  }
}

void StallCollector::on_loop_exit(const lp_loop_exit_record& record) {
  pid_t tid = static_cast<pid_t>(record.tid);
  lifecycle_.saw(tid);
  summary_.note_loop_thread(tid, target_.thread_name(tid), record.state);
}

void StallCollector::on_resume(const lp_resume_record& record) {
  pid_t tid = static_cast<pid_t>(record.tid);
  lifecycle_.saw(tid);
  causes_.on_resume(tid, record.seq, record.blocked_ns);
  notes_.on_resume(tid, record.seq, record.blocked_ns);
  if (auto it = off_cpu_step_.find(tid); it != off_cpu_step_.end()) {
    callbacks_.on_off_cpu(tid, record.seq, it->second.callback, record.off_ns, it->second.task);
    off_cpu_step_.erase(it);
  }
  assembler_.on_resume(tid, record.seq, record.off_ns);
}

void StallCollector::on_wake(const lp_wake_record& record) {
  WakeEvent wake{.waker_tid = static_cast<pid_t>(record.waker_tid),
                 .blocked_ns = record.blocked_ns,
                 .reason = record.reason,
                 .flags = record.flags};
  std::string comm(record.waker_comm, strnlen(record.waker_comm, sizeof(record.waker_comm)));
  if (record.flags & LP_WAKE_OTHER_PROCESS)
    wake.waker_thread = fmt::format("{} (PID {})", comm, record.waker_pid);
  else {
    lifecycle_.saw(wake.waker_tid);
    wake.waker_thread = target_.thread_name(wake.waker_tid);
  }
  if (wake.waker_thread.empty()) wake.waker_thread = comm;
  lifecycle_.saw(static_cast<pid_t>(record.woken_tid));
  causes_.on_wake(static_cast<pid_t>(record.woken_tid), record.seq, std::move(wake));
}

void StallCollector::on_step(const lp_step_record& record) {
  lifecycle_.saw(static_cast<pid_t>(record.tid));
  callbacks_.on_step(static_cast<pid_t>(record.tid), record.start_ns, record.end_ns);
}

void StallCollector::on_busy_end(const lp_busy_end_record& record) {
  pending_.drop(static_cast<pid_t>(record.tid), record.seq);
  callbacks_.on_busy_end(static_cast<pid_t>(record.tid), record.seq, record.duration_ns);
}

void StallCollector::note_task_stats(const std::vector<std::pair<pid_t, lp_task_stats>>& stats) {
  for (const auto& [tid, s] : stats) summary_.note_thread_times(tid, target_.thread_name(tid), s);
}

const SummaryBuilder& StallCollector::summary() {
  summary_.set_callbacks(
      callbacks_.rows(),
      callbacks_.precise()
          ? std::string("precise: a uprobe pair on CPython's context_run times every callback "
                        "step; names from the captures inside each step")
      : sample_hz_
          ? fmt::format("estimate: each CPU sample counts one period ({:.1f} ms at {} Hz), "
                        "capped at the measured length of the busy period it ran in; off-CPU "
                        "intervals measured; by Task the program named, else by the frame under "
                        "Handle._run",
                        1000.0 / sample_hz_, sample_hz_)
          : "estimate: measured off-CPU intervals only (sampling is off, -F 0)");
  summary_.set_tasks(callbacks_.task_rows());
  return summary_;
}

void StallCollector::on_stall(const lp_stall_record& record) {
  pid_t tid = static_cast<pid_t>(record.tid);
  lifecycle_.saw(tid);
  saw_loop_ = true;
  StallTimes times{.seq = record.seq,
                   .start_ns = record.start_ns,
                   .duration_ns = record.end_ns - record.start_ns,
                   .on_cpu_ns = record.on_cpu_ns,
                   .off_cpu_ns = record.off_cpu_ns};
  resolve_pending(tid, record.seq);
  Stall stall = assembler_.finish(tid, times);
  stall.task = callbacks_.main_task(tid, record.seq);
  if (stall.task) callbacks_.note_stall(*stall.task);
  callbacks_.on_busy_end(tid, record.seq, times.duration_ns);
  CauseTimes cause{};
  for (size_t i = 0; i < cause.size(); ++i) cause[i] = record.cause_ns[i];
  causes_.finish(stall, cause);
  stall.pid = static_cast<pid_t>(record.pid);
  stall.thread = target_.thread_name(tid);
  stall.thread_exited = record.flags & LP_STALL_THREAD_EXIT;
  notes_.apply(stall);
  if (stall.thread_exited) {
    assembler_.forget(tid);
    extensions_.forget(tid);
    causes_.forget(tid);
    notes_.forget(tid);
  }
  reported_ongoing_.erase({tid, record.seq});
  summary_.add_stall(stall);
  report(stall);
}

void StallCollector::report(const Stall& stall) {
  for (OutputSink* sink : sinks_) sink->stall(stall);
}

Stall StallCollector::ongoing_stall(pid_t tid, const lp_thread& state, uint64_t now_ns,
                                    bool& past_threshold) {
  __u64 elapsed = 0, on_cpu = 0, off_cpu = 0;
  past_threshold =
      lp_busy_so_far(&state, now_ns, &elapsed, &on_cpu, &off_cpu) && elapsed >= threshold_ns_;
  if (!past_threshold) return {};
  StallTimes times{.seq = state.seq,
                   .start_ns = state.busy_start_ns,
                   .duration_ns = elapsed,
                   .on_cpu_ns = on_cpu,
                   .off_cpu_ns = off_cpu};
  resolve_pending(tid, state.seq);
  Stall stall = assembler_.ongoing(tid, times, now_ns);
  stall.task = callbacks_.main_task(tid, state.seq);
  CauseTimes cause{};
  __u64 so_far[LP_OFF_COUNT] = {};
  lp_causes_so_far(&state, now_ns, so_far);
  for (size_t i = 0; i < cause.size(); ++i) cause[i] = so_far[i];
  causes_.ongoing(stall, cause);
  stall.pid = target_.pid();
  stall.tid = tid;
  stall.thread = target_.thread_name(tid);
  notes_.apply(stall);
  return stall;
}

void StallCollector::check_ongoing(const std::vector<std::pair<pid_t, lp_thread>>& threads,
                                   uint64_t now_ns) {
  for (const auto& [tid, state] : threads) {
    lifecycle_.saw(tid);
    if (state.iterations > 0) {
      saw_loop_ = true;
      summary_.note_loop_thread(tid, target_.thread_name(tid), state);
    }
    bool reported = reported_ongoing_.count({tid, state.seq}) > 0;
    bool learned = inspect_lock_wait(tid, state, now_ns);
    if (reported && !learned) continue;
    bool past_threshold = false;
    Stall stall = ongoing_stall(tid, state, now_ns, past_threshold);
    if (!past_threshold) continue;
    reported_ongoing_.insert({tid, state.seq});
    report(stall);  // again when a lock holder or a deadlock is newly known
  }
}

bool StallCollector::inspect_lock_wait(pid_t tid, const lp_thread& state, uint64_t now_ns) {
  if (!lock_inspector_ || !state.off_cpu || state.off_reason != LP_OFF_FUTEX) return false;
  __u64 elapsed = 0, on_cpu = 0, off_cpu = 0;
  if (!lp_busy_so_far(&state, now_ns, &elapsed, &on_cpu, &off_cpu) || elapsed < threshold_ns_)
    return false;
  // The futex wait under way has itself lasted the threshold: a lock held
  // long, not the GIL's hand-overs (every 5 ms) or a short contended lock.
  if (now_ns < state.last_switch_ns + threshold_ns_) return false;
  const AttachNote* known = notes_.lock_note(tid, state.seq);
  if (known && (known->before_attach || !known->deadlock.empty() ||
                now_ns - known->inspected_ns < kLockReinspectNs))
    return false;
  if (last_lock_inspection_ns_ && now_ns - last_lock_inspection_ns_ < kLockInspectGapNs)
    return false;
  last_lock_inspection_ns_ = now_ns;
  std::optional<AttachNote> note = lock_inspector_(tid);
  if (!note) note = AttachNote{};
  note->inspected_ns = now_ns;
  bool news = !known ? !note->waited_on.empty() || !note->deadlock.empty()
                     : note->waited_on != known->waited_on || note->deadlock != known->deadlock;
  notes_.lock_wait_seen(tid, state.seq, std::move(*note));
  return news;
}

std::vector<Stall> StallCollector::ongoing_now(
    const std::vector<std::pair<pid_t, lp_thread>>& threads, uint64_t now_ns) {
  std::vector<Stall> stalls;
  for (const auto& [tid, state] : threads) {
    bool past_threshold = false;
    Stall stall = ongoing_stall(tid, state, now_ns, past_threshold);
    if (past_threshold) stalls.push_back(std::move(stall));
  }
  return stalls;
}

}  // namespace loopprof
