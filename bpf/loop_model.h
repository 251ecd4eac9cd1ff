/* The loop-iteration model: which wait is the loop's, where busy periods start
 * and end, and how their time splits between on- and off-CPU. Plain C with no
 * BPF helpers, so the same code runs in the kernel (loopprof.bpf.c) and in the
 * unit tests (tests/unit/loop_model_test.cpp).
 *
 * A busy period runs from the return of the loop's wait to the loop's next
 * wait. The loop's wait is recognised by (family, key) -- the epoll fd for
 * epoll -- not by the syscall alone, so a callback blocking in select()/poll()
 * on something else is busy time. Which wait is the loop's:
 *  - the first wait seen on a thread is adopted;
 *  - an epoll wait replaces a poll/select loop; poll/select never replace epoll;
 *  - within a family, a wait on another key made from a shallower user stack
 *    (higher stack pointer) replaces the loop: the loop's own wait is the
 *    outermost one, callbacks run deeper;
 *  - a wait on another key repeated LP_ALT_ADOPT_COUNT times with no wait on
 *    the loop's key in between replaces the loop (the old loop was closed and
 *    a new one runs deeper in the same thread).
 */
#ifndef LOOPPROF_LOOP_MODEL_H
#define LOOPPROF_LOOP_MODEL_H

#include "loopprof.h"
#include "lp_hist.h"

#ifndef LP_INLINE
#define LP_INLINE static inline __attribute__((always_inline))
#endif

#define LP_ALT_ADOPT_COUNT 256

/* What ended a busy period, filled when one ends at or above the threshold. */
struct lp_stall_end {
  __u64 seq;
  __u64 start_ns;
  __u64 end_ns;
  __u64 on_cpu_ns;
  __u64 off_cpu_ns;
  __u64 cause_ns[LP_OFF_COUNT];
};

LP_INLINE void lp_fill_end(const struct lp_thread* t, __u64 now, struct lp_stall_end* end) {
  end->seq = t->seq;
  end->start_ns = t->busy_start_ns;
  end->end_ns = now;
  end->on_cpu_ns = t->on_cpu_ns;
  end->off_cpu_ns = t->off_cpu_ns;
  for (int i = 0; i < LP_OFF_COUNT; i++) end->cause_ns[i] = t->cause_ns[i];
}

LP_INLINE void lp_adopt_loop(struct lp_thread* t, __u32 family, __s32 key, __u64 sp) {
  t->loop_family = family;
  t->loop_key = key;
  t->loop_sp = sp;
  t->alt_count = 0;
}

/* Is this wait the loop's own? May re-designate the loop (see above). */
LP_INLINE int lp_is_loop_wait(struct lp_thread* t, __u32 family, __s32 key, __u64 sp) {
  int t_epoll = t->loop_family == LP_WAIT_EPOLL;
  int w_epoll = family == LP_WAIT_EPOLL;

  if (t->loop_family == LP_WAIT_NONE) {
    lp_adopt_loop(t, family, key, sp);
    return 1;
  }
  if (family == t->loop_family && key == t->loop_key) {
    t->alt_count = 0;
    if (sp > t->loop_sp) t->loop_sp = sp;
    return 1;
  }
  if (w_epoll != t_epoll) {
    if (!w_epoll) return 0; /* poll/select inside an epoll loop: busy time */
    lp_adopt_loop(t, family, key, sp);
    return 1;
  }
  if (sp > t->loop_sp) {
    lp_adopt_loop(t, family, key, sp);
    return 1;
  }
  if (t->alt_count > 0 && t->alt_family == family && t->alt_key == key) {
    t->alt_count++;
  } else {
    t->alt_family = family;
    t->alt_key = key;
    t->alt_count = 1;
  }
  if (t->alt_count >= LP_ALT_ADOPT_COUNT) {
    lp_adopt_loop(t, family, key, sp);
    return 1;
  }
  return 0;
}

/* The thread is on CPU and a busy period is open: close the running slice. */
LP_INLINE void lp_account_running(struct lp_thread* t, __u64 now) {
  if (now > t->last_switch_ns) t->on_cpu_ns += now - t->last_switch_ns;
  t->last_switch_ns = now;
}

/* The process closed descriptor `fd`: a loop waiting on it as its epoll fd is
 * gone (asyncio.run() returned, loop.close()). The thread is no loop until its
 * next poll-family wait, so what it does after is not a busy period. Returns
 * 1 if this thread's loop was closed. */
LP_INLINE int lp_on_close(struct lp_thread* t, __s32 fd) {
  if (t->loop_family != LP_WAIT_EPOLL || t->loop_key != fd) return 0;
  t->loop_family = LP_WAIT_NONE;
  t->loop_key = -1;
  t->alt_count = 0;
  t->busy_start_ns = 0;
  t->in_wait = LP_NOT_WAITING;
  t->off_cpu = 0;
  return 1;
}

LP_INLINE int lp_busy(const struct lp_thread* t) {
  return t->busy_start_ns != 0 && t->in_wait != LP_IN_LOOP_WAIT;
}

/* Entry of a poll-family syscall. Returns 1 and fills *end when it closes a
 * busy period of at least threshold_ns. */
LP_INLINE int lp_on_wait_enter(struct lp_thread* t, __u64 now, __u32 family, __s32 key, __u64 sp,
                               __u64 threshold_ns, struct lp_stall_end* end) {
  int stalled = 0;

  if (!lp_is_loop_wait(t, family, key, sp)) {
    t->in_wait = LP_IN_OTHER_WAIT;
    return 0;
  }
  t->iterations++;
  t->last_busy_ns = 0;
  if (t->busy_start_ns != 0) {
    lp_account_running(t, now);
    t->last_busy_ns = now - t->busy_start_ns;
    t->busy_total_ns += t->last_busy_ns;
    if (t->last_busy_ns > t->max_busy_ns) t->max_busy_ns = t->last_busy_ns;
    t->busy_hist[lp_hist_bucket(t->last_busy_ns) & (LP_HIST_BUCKETS - 1)]++;
    if (now - t->busy_start_ns >= threshold_ns) {
      lp_fill_end(t, now, end);
      t->stalls++;
      stalled = 1;
    }
  }
  t->wait_start_ns = now;
  t->busy_start_ns = 0;
  t->in_wait = LP_IN_LOOP_WAIT;
  return stalled;
}

/* Return of a poll-family syscall: leaving the loop's wait opens a busy period. */
LP_INLINE void lp_on_wait_exit(struct lp_thread* t, __u64 now) {
  if (t->in_wait == LP_IN_LOOP_WAIT) {
    if (t->wait_start_ns && now > t->wait_start_ns) t->idle_total_ns += now - t->wait_start_ns;
    t->wait_start_ns = 0;
    t->seq++;
    t->busy_start_ns = now;
    t->last_switch_ns = now;
    t->on_cpu_ns = 0;
    t->off_cpu_ns = 0;
    t->off_cpu = 0;
    t->wake_ns = 0;
    for (int i = 0; i < LP_OFF_COUNT; i++) t->cause_ns[i] = 0;
  }
  t->in_wait = LP_NOT_WAITING;
}

/* The thread leaves the CPU (reason: enum lp_off_reason; exec_ns: its
 * scheduler run time, task->se.sum_exec_runtime). Returns 1 when it does so
 * inside a busy period (its stacks are then worth capturing). A thread still
 * marked off CPU missed its switch-in: repair that first
 * (lp_catch_up_switch_in). */
LP_INLINE int lp_on_switch_out(struct lp_thread* t, __u64 now, __u32 reason, __u64 exec_ns) {
  if (!lp_busy(t) || t->off_cpu) return 0;
  lp_account_running(t, now);
  t->off_cpu = 1;
  t->exec_at_out_ns = exec_ns;
  t->off_reason = reason < LP_OFF_COUNT ? reason : (__u32)LP_OFF_OTHER;
  t->wake_ns = 0;
  return 1;
}

/* A blocked thread is woken up. Returns the time it was blocked (0 when it
 * is not off CPU in a busy period, or was already woken). */
LP_INLINE __u64 lp_on_wakeup(struct lp_thread* t, __u64 now) {
  if (!t->off_cpu || t->wake_ns || t->off_reason == LP_OFF_RUNQ) return 0;
  t->wake_ns = now > t->last_switch_ns ? now : t->last_switch_ns;
  return t->wake_ns - t->last_switch_ns ? t->wake_ns - t->last_switch_ns : 1;
}

/* How an off-CPU interval [last_switch_ns, now) splits into blocked time
 * (switch-out to wake-up) and run-queue time (wake-up or preemption to now). */
LP_INLINE void lp_split_off(const struct lp_thread* t, __u64 now, __u64* blocked, __u64* runq) {
  __u64 off = now > t->last_switch_ns ? now - t->last_switch_ns : 0;

  if (t->off_reason == LP_OFF_RUNQ) {
    *blocked = 0;
    *runq = off;
  } else if (t->wake_ns && t->wake_ns <= now) {
    *blocked = t->wake_ns - t->last_switch_ns;
    *runq = now - t->wake_ns;
  } else { /* the wake-up was not seen: all blocked */
    *blocked = off;
    *runq = 0;
  }
}

/* The thread runs again. Returns the off-CPU time that ended (0 if none);
 * *blocked and *runq (may be null) get its split. */
LP_INLINE __u64 lp_on_switch_in_split(struct lp_thread* t, __u64 now, __u64* blocked, __u64* runq) {
  __u64 b = 0, r = 0, off;

  if (!t->off_cpu) return 0;
  if (now < t->last_switch_ns) now = t->last_switch_ns;
  lp_split_off(t, now, &b, &r);
  off = now - t->last_switch_ns;
  t->off_cpu = 0;
  t->off_cpu_ns += off;
  t->cause_ns[LP_OFF_RUNQ] += r;
  if (t->off_reason != LP_OFF_RUNQ) lp_add_cause(t->cause_ns, t->off_reason, b);
  t->last_switch_ns = now;
  t->wake_ns = 0;
  if (blocked) *blocked = b;
  if (runq) *runq = r;
  return off ? off : 1;
}

LP_INLINE __u64 lp_on_switch_in(struct lp_thread* t, __u64 now) {
  return lp_on_switch_in_split(t, now, 0, 0);
}

/* The thread is running (in a syscall of its own, at its exit, or being
 * switched out) yet still marked off CPU: the kernel ran it again without the
 * sched_switch program seeing it as `next`. Measured on 6.18 under heavy load
 * (1-2 per 100 busy periods at load 15); left alone, the rest of the interval,
 * a sleep included, would count as on-CPU. exec_ns is the task's scheduler
 * run time now: what it grew since the switch-out is time the thread ran (put
 * at the end of the interval), the rest was off CPU for the recorded reason.
 * Returns the off-CPU time it closed (0: nothing to repair; at least 1 when
 * it repaired one: the caller counts it and ships the resume the switch-in
 * would have), *blocked and *runq (may be null) its split. */
LP_INLINE __u64 lp_catch_up_switch_in(struct lp_thread* t, __u64 now, __u64 exec_ns, __u64* blocked,
                                      __u64* runq) {
  __u64 span, off, ran = 0;

  if (!t->off_cpu) return 0;
  if (now < t->last_switch_ns) now = t->last_switch_ns;
  span = now - t->last_switch_ns;
  if (t->exec_at_out_ns && exec_ns > t->exec_at_out_ns) ran = exec_ns - t->exec_at_out_ns;
  if (ran > span) ran = span;
  off = lp_on_switch_in_split(t, now - ran, blocked, runq);
  lp_account_running(t, now);
  return off ? off : 1;
}

/* The thread exits. Returns 1 and fills *end if it dies in a stall. */
LP_INLINE int lp_on_thread_exit(struct lp_thread* t, __u64 now, __u64 threshold_ns,
                                struct lp_stall_end* end) {
  if (!lp_busy(t)) return 0;
  if (t->off_cpu) {
    lp_on_switch_in(t, now);
  } else {
    lp_account_running(t, now);
  }
  if (now - t->busy_start_ns < threshold_ns) return 0;
  lp_fill_end(t, now, end);
  t->stalls++;
  return 1;
}

/* Userspace view of a busy period still open at `now` (an ongoing stall when
 * *elapsed >= threshold). Returns 0 if the thread is not busy. */
LP_INLINE int lp_busy_so_far(const struct lp_thread* t, __u64 now, __u64* elapsed, __u64* on_cpu,
                             __u64* off_cpu) {
  __u64 slice;

  if (!lp_busy(t) || now < t->busy_start_ns) return 0;
  slice = now > t->last_switch_ns ? now - t->last_switch_ns : 0;
  *elapsed = now - t->busy_start_ns;
  *on_cpu = t->on_cpu_ns + (t->off_cpu ? 0 : slice);
  *off_cpu = t->off_cpu_ns + (t->off_cpu ? slice : 0);
  return 1;
}

/* Off-CPU time by reason of a busy period still open at `now` (cause[] has
 * LP_OFF_COUNT entries), the open off-CPU interval included. */
LP_INLINE void lp_causes_so_far(const struct lp_thread* t, __u64 now, __u64* cause) {
  __u64 b = 0, r = 0;

  for (int i = 0; i < LP_OFF_COUNT; i++) cause[i] = t->cause_ns[i];
  if (!t->off_cpu) return;
  lp_split_off(t, now, &b, &r);
  cause[LP_OFF_RUNQ] += r;
  if (t->off_reason != LP_OFF_RUNQ) lp_add_cause(cause, t->off_reason, b);
}

#endif /* LOOPPROF_LOOP_MODEL_H */
