#include "collector/cause_tracker.hpp"

#include <algorithm>

namespace loopprof {

namespace {

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

// take_gil names it where the interpreter has symbols. Stripped builds (e.g.
// Debian's) hide the static take_gil; there a Python thread blocked in a
// pthread condition variable (or re-taking its mutex) is taken as a GIL
// wait: on Linux CPython uses condition variables only for the GIL, its
// locks (threading.Lock) are semaphores (PyThread_acquire_lock).
bool is_gil_wait(const Frames& frames) {
  bool python = false, condition = false;
  for (const Frame& frame : frames) {
    if (frame.kind == FrameKind::python) python = true;
    if (frame.kind != FrameKind::native) continue;
    if (frame.name == "take_gil") return true;
    if (starts_with(frame.name, "PyThread_acquire_lock")) return false;
    if (starts_with(frame.name, "pthread_cond_") || starts_with(frame.name, "__pthread_cond_") ||
        starts_with(frame.name, "__pthread_mutex_cond_lock"))
      condition = true;
  }
  return python && condition;
}

CauseTracker::Period& CauseTracker::period(pid_t tid, uint64_t seq) {
  Period& p = threads_[tid];
  if (p.seq != seq) p = Period{.seq = seq};
  return p;
}

void CauseTracker::on_switch_out(pid_t tid, uint64_t seq, const Frames& frames, uint32_t reason) {
  Period& p = period(tid, seq);
  settle(p);
  p.open_gil = reason == LP_OFF_FUTEX && is_gil_wait(frames);
}

void CauseTracker::on_wake(pid_t tid, uint64_t seq, WakeEvent wake) {
  Period& p = period(tid, seq);
  settle(p);
  p.pending = PendingWake{.wake = std::move(wake), .gil = p.open_gil};
}

void CauseTracker::on_waker_stack(pid_t woken, uint64_t seq, pid_t waker, Frames frames) {
  Period& p = period(woken, seq);
  if (p.pending && p.pending->wake.waker_tid == waker) p.pending->frames = std::move(frames);
}

void CauseTracker::on_resume(pid_t tid, uint64_t seq, uint64_t blocked_ns) {
  Period& p = period(tid, seq);
  if (p.open_gil) p.gil_ns += blocked_ns;
  p.open_gil = false;
  settle(p);
}

// Turns the pending wake-up into waker time. A futex wait that ended by its
// timeout (woken from interrupt context) is given to the task that ends the
// wait for good: a GIL wait times out every switch interval until the holder
// drops the GIL.
void CauseTracker::settle(Period& p) {
  if (!p.pending) return;
  PendingWake pending = std::move(*p.pending);
  p.pending.reset();
  const WakeEvent& wake = pending.wake;
  bool interrupt = wake.flags & LP_WAKE_INTERRUPT;
  if (interrupt && wake.reason == LP_OFF_FUTEX) {
    p.chained_ns += wake.blocked_ns;
    p.chained_gil = p.chained_gil || pending.gil;
    return;
  }
  Waker waker;
  if (interrupt) {
    waker.thread = wake.reason == LP_OFF_SLEEP ? "[timer]" : "[interrupt]";
  } else {
    waker.tid = wake.waker_tid;
    waker.thread = wake.waker_thread;
    waker.frames = std::move(pending.frames);
  }
  waker.blocked_ns = wake.blocked_ns;
  waker.gil = pending.gil;
  if (wake.reason == LP_OFF_FUTEX) {
    waker.blocked_ns += p.chained_ns;
    waker.gil = waker.gil || p.chained_gil;
    p.chained_ns = 0;
    p.chained_gil = false;
  }
  auto key = std::make_pair(waker.tid, waker.frames);
  auto it = p.wakers.find(key);
  if (it == p.wakers.end()) {
    p.wakers.emplace(std::move(key), std::move(waker));
  } else {
    it->second.blocked_ns += waker.blocked_ns;
    it->second.gil = it->second.gil || waker.gil;
  }
}

void CauseTracker::fill(const Period& p, Stall& stall, const CauseTimes& cause, bool with_chained) {
  Breakdown& b = stall.breakdown;
  b.on_cpu_ns = stall.on_cpu_ns;
  b.runqueue_ns = cause[LP_OFF_RUNQ];
  b.gil_ns = std::min(p.gil_ns, cause[LP_OFF_FUTEX]);
  b.lock_ns = cause[LP_OFF_FUTEX] - b.gil_ns;
  b.sleep_ns = cause[LP_OFF_SLEEP];
  b.io_ns = cause[LP_OFF_IO];
  b.other_ns = cause[LP_OFF_OTHER] + cause[LP_OFF_IDLE];
  uint64_t sum =
      b.on_cpu_ns + b.runqueue_ns + b.lock_ns + b.gil_ns + b.sleep_ns + b.io_ns + b.other_ns;
  if (stall.duration_ns > sum) b.other_ns += stall.duration_ns - sum;

  stall.wakers.clear();
  for (const auto& [key, waker] : p.wakers) stall.wakers.push_back(waker);
  if (with_chained && p.chained_ns > 0)
    stall.wakers.push_back(Waker{.thread = "[timeout]", .blocked_ns = p.chained_ns});
  std::stable_sort(stall.wakers.begin(), stall.wakers.end(),
                   [](const Waker& a, const Waker& b) { return a.blocked_ns > b.blocked_ns; });
}

void CauseTracker::finish(Stall& stall, const CauseTimes& cause) {
  auto it = threads_.find(stall.tid);
  if (it == threads_.end() || it->second.seq != stall.seq) {
    fill(Period{}, stall, cause, true);
    return;
  }
  settle(it->second);
  fill(it->second, stall, cause, true);
  threads_.erase(it);
}

void CauseTracker::ongoing(Stall& stall, const CauseTimes& cause) const {
  auto it = threads_.find(stall.tid);
  Period p = it != threads_.end() && it->second.seq == stall.seq ? it->second : Period{};
  if (p.open_gil) {  // the open interval is counted by the kernel totals; add its GIL part
    p.gil_ns = cause[LP_OFF_FUTEX];
  }
  settle(p);
  fill(p, stall, cause, false);
}

}  // namespace loopprof
