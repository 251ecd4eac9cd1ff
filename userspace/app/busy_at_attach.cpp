#include "app/busy_at_attach.hpp"

#include <fmt/format.h>

#include "target/live_threads.hpp"

namespace loopprof {

namespace {

// The busy period as the kernel side would have it, opened `lower_ns` ago.
lp_thread busy_state(pid_t pid, const LiveThread& t, bool has_epoll, uint64_t start_ns) {
  lp_thread state{};
  state.pid = static_cast<__u32>(pid);
  state.seq = 1;
  state.busy_start_ns = start_ns;
  state.last_switch_ns = start_ns;
  state.in_wait = LP_NOT_WAITING;
  // The loop's wait is not known yet: the next epoll wait is adopted (key -2
  // and sp 0 lose to any real one); a poll/select loop adopts its first wait.
  state.loop_family = has_epoll && t.loop != "GLib" ? LP_WAIT_EPOLL : LP_WAIT_NONE;
  state.loop_key = -2;
  if (t.state == "blocked") {
    state.off_cpu = 1;
    state.off_reason = t.off_reason;
    state.off_futex_addr = t.futex;
  }
  // Running or runnable: seeded on CPU. Which of the two it is changes by
  // the millisecond, and a thread seeded off CPU that is running by now
  // would have its switch-outs ignored (its time would all read as run queue).
  return state;
}

}  // namespace

size_t seed_busy_loops(pid_t pid, BpfSession& session, StallCollector& collector,
                       KernelSymbolizer& kernel, ProcessSymbolizer& process,
                       DwarfUnwinder* unwinder, uint64_t now_ns, bool verbose) {
  auto inspector = ThreadInspector::open(pid, kernel, process, unwinder);
  if (!inspector) {
    fmt::print(stderr,
               "loopprof: warning: {}; a loop already stuck at attach will not be reported\n",
               inspector.error().message);
    return 0;
  }
  auto live = (*inspector)->inspect();
  if (!live) {
    fmt::print(stderr,
               "loopprof: warning: {}; a loop already stuck at attach will not be reported\n",
               live.error().message);
    return 0;
  }
  bool has_epoll = false;
  for (const LiveThread& t : live->threads) has_epoll |= t.wait_family == LP_WAIT_EPOLL;
  for (const LiveThread& t : live->threads) has_epoll |= t.loop != "GLib" && !t.loop.empty();
  size_t seeded = 0;
  for (const LiveThread& t : live->threads) {
    if (t.loop.empty() || t.in_loop_wait || t.state == "stopped" || t.state == "traced") continue;
    // From the moment of the snapshot: its off-CPU time is a lower bound.
    uint64_t at = t.capture.ts_ns ? t.capture.ts_ns : now_ns;
    uint64_t lower = t.in_state_ns < at ? t.in_state_ns : 0;
    uint64_t start = at - lower;
    if (!session.seed_thread(t.tid, busy_state(pid, t, has_epoll, start))) continue;
    ++seeded;
    collector.wait_notes().began_before_attach(
        t.tid, 1,
        AttachNote{.waited_on = t.waiting_on(live->threads), .deadlock = live->deadlock_of(t.tid)});
    if (t.state == "blocked") {  // its stacks of the wait under way
      lp_capture_record capture = t.capture;
      capture.seq = 1;
      capture.ts_ns = start;
      capture.kind = LP_CAPTURE_OFFCPU;
      capture.off_reason = t.off_reason;
      collector.on_record(&capture, sizeof(capture));
    }
    if (verbose)
      fmt::print(stderr, "loopprof: {} loop thread {} ({}) busy at attach: {}{}\n", t.loop, t.tid,
                 t.name, t.state, lower ? fmt::format(" for at least {:.1f} ms", lower / 1e6) : "");
  }
  return seeded;
}

StallCollector::LockInspector lock_inspector(pid_t pid, KernelSymbolizer& kernel,
                                             ProcessSymbolizer& process,
                                             const std::unique_ptr<DwarfUnwinder>& unwinder) {
  return [pid, &kernel, &process, &unwinder](pid_t tid) -> std::optional<AttachNote> {
    auto inspector = ThreadInspector::open(pid, kernel, process, unwinder.get());
    if (!inspector) return std::nullopt;
    auto live = (*inspector)->inspect();
    if (!live) return std::nullopt;
    for (const LiveThread& t : live->threads)
      if (t.tid == tid)
        return AttachNote{.waited_on = t.waiting_on(live->threads),
                          .deadlock = live->deadlock_of(tid),
                          .before_attach = false};
    return std::nullopt;
  };
}

size_t seed_waiting_threads(const TargetProcess& target, BpfSession& session) {
  size_t seeded = 0;
  for (const PollWaiter& waiter : target.poll_waiters()) {
    lp_thread state{};
    state.pid = static_cast<__u32>(target.pid());
    state.loop_family = waiter.family;
    state.loop_key = waiter.key;
    state.loop_sp = waiter.user_sp;
    state.in_wait = LP_IN_LOOP_WAIT;
    session.seed_thread(waiter.tid, state);  // false: the BPF side knows it already
    ++seeded;
  }
  return seeded;
}

}  // namespace loopprof
