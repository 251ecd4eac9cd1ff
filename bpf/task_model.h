/* Per-thread time accounting for every thread of the target: running,
 * runnable-but-waiting (run queue), and blocked by reason, with log2
 * histograms of run-queue latency and futex waits. Plain C with no BPF helpers, shared
 * by loopprof.bpf.c and tests/unit/task_model_test.cpp. */
#ifndef LOOPPROF_TASK_MODEL_H
#define LOOPPROF_TASK_MODEL_H

#include "loopprof.h"
#include "lp_hist.h"

#ifndef LP_INLINE
#define LP_INLINE static inline __attribute__((always_inline))
#endif

LP_INLINE void lp_hist_add(struct lp_task_stats* s, __u32 kind, __u64 ns) {
  __u32 b = lp_hist_bucket(ns);

  if (kind < LP_HIST_COUNT) s->hist[kind][b & (LP_HIST_BUCKETS - 1)]++;
}

LP_INLINE void lp_task_switch_in(struct lp_task_stats* s, __u64 now);

/* The thread leaves the CPU for `reason` (enum lp_off_reason); exec_ns: its
 * scheduler run time (se.sum_exec_runtime). Still off CPU here means its
 * switch-in was missed (as in lp_catch_up_switch_in): what its run time grew
 * since the last switch-out is when it ran, at the end of the interval. */
LP_INLINE void lp_task_switch_out(struct lp_task_stats* s, __u64 now, __u32 reason, __u64 exec_ns) {
  if (!s->on_cpu && s->last_ns && now > s->last_ns) {
    __u64 ran = 0;
    if (s->exec_at_out_ns && exec_ns > s->exec_at_out_ns) ran = exec_ns - s->exec_at_out_ns;
    if (ran > now - s->last_ns) ran = now - s->last_ns;
    lp_task_switch_in(s, now - ran);
  }
  s->exec_at_out_ns = exec_ns;
  if (s->on_cpu && s->last_ns && now > s->last_ns) s->running_ns += now - s->last_ns;
  s->on_cpu = 0;
  s->reason = reason < LP_OFF_COUNT ? reason : (__u32)LP_OFF_OTHER;
  s->wake_ns = 0;
  s->last_ns = now;
}

/* A blocked thread is woken: its blocked time ends. Returns it (0: not blocked). */
LP_INLINE __u64 lp_task_wakeup(struct lp_task_stats* s, __u64 now) {
  __u64 blocked;
  __u32 reason = s->reason;

  if (s->on_cpu || s->wake_ns || !s->last_ns || reason == LP_OFF_RUNQ) return 0;
  blocked = now > s->last_ns ? now - s->last_ns : 0;
  s->wake_ns = now > s->last_ns ? now : s->last_ns;
  lp_add_cause(s->off_ns, reason, blocked);
  if (reason == LP_OFF_FUTEX) lp_hist_add(s, LP_HIST_FUTEX, blocked);
  return blocked ? blocked : 1;
}

/* The thread runs again: the run-queue part of its off-CPU time ends. */
LP_INLINE void lp_task_switch_in(struct lp_task_stats* s, __u64 now) {
  __u64 runq = 0;
  __u32 reason = s->reason;

  if (s->on_cpu || !s->last_ns || now < s->last_ns) {
    s->on_cpu = 1;
    s->last_ns = now;
    return;
  }
  if (reason == LP_OFF_RUNQ) {
    runq = now - s->last_ns;
  } else if (s->wake_ns) {
    runq = now > s->wake_ns ? now - s->wake_ns : 0;
  } else { /* its wake-up was not seen: all blocked */
    lp_add_cause(s->off_ns, reason, now - s->last_ns);
    if (reason == LP_OFF_FUTEX) lp_hist_add(s, LP_HIST_FUTEX, now - s->last_ns);
  }
  if (reason == LP_OFF_RUNQ || s->wake_ns) {
    s->off_ns[LP_OFF_RUNQ] += runq;
    lp_hist_add(s, LP_HIST_RUNQ, runq);
  }
  s->on_cpu = 1;
  s->wake_ns = 0;
  s->last_ns = now;
}

/* x86_64 syscall numbers the off-CPU classification knows. */
enum {
  LP_SC_READ = 0,
  LP_SC_WRITE = 1,
  LP_SC_OPEN = 2,
  LP_SC_POLL = 7,
  LP_SC_PREAD64 = 17,
  LP_SC_PWRITE64 = 18,
  LP_SC_READV = 19,
  LP_SC_WRITEV = 20,
  LP_SC_SELECT = 23,
  LP_SC_MSYNC = 26,
  LP_SC_PAUSE = 34,
  LP_SC_NANOSLEEP = 35,
  LP_SC_SENDFILE = 40,
  LP_SC_CONNECT = 42,
  LP_SC_ACCEPT = 43,
  LP_SC_SENDTO = 44,
  LP_SC_RECVFROM = 45,
  LP_SC_SENDMSG = 46,
  LP_SC_RECVMSG = 47,
  LP_SC_FLOCK = 73,
  LP_SC_FSYNC = 74,
  LP_SC_FDATASYNC = 75,
  LP_SC_FUTEX = 202,
  LP_SC_IO_GETEVENTS = 208,
  LP_SC_CLOCK_NANOSLEEP = 230,
  LP_SC_EPOLL_WAIT = 232,
  LP_SC_OPENAT = 257,
  LP_SC_PSELECT6 = 270,
  LP_SC_PPOLL = 271,
  LP_SC_SPLICE = 275,
  LP_SC_SYNC_FILE_RANGE = 277,
  LP_SC_EPOLL_PWAIT = 281,
  LP_SC_ACCEPT4 = 288,
  LP_SC_PREADV = 295,
  LP_SC_PWRITEV = 296,
  LP_SC_RECVMMSG = 299,
  LP_SC_SENDMMSG = 307,
  LP_SC_COPY_FILE_RANGE = 326,
  LP_SC_PREADV2 = 327,
  LP_SC_PWRITEV2 = 328,
  LP_SC_IO_URING_ENTER = 426,
  LP_SC_EPOLL_PWAIT2 = 441,
  LP_SC_FUTEX_WAITV = 449,
  LP_SC_FUTEX_WAKE = 454,
  LP_SC_FUTEX_WAIT = 455,
  LP_SC_FUTEX_REQUEUE = 456,
};

#define LP_TASK_UNINTERRUPTIBLE 0x2
#define LP_TASK_DEAD 0x80 /* __state at an exiting task's last switch-out */

#define LP_FUTEX_PRIVATE 128 /* FUTEX_PRIVATE_FLAG, FUTEX2_PRIVATE */

/* Can the task running at a futex waiter's wake-up be the one that woke it?
 * Only if it is in a futex call that wakes (a task waiting in futex, or any
 * other call, was just interrupted: by the waiter's timeout, for one) and,
 * from another process, only for a futex shared between processes (a private
 * futex is woken by its own process). nr: the current task's syscall; op: its
 * futex op (futex), or its flags (futex_wake). */
LP_INLINE int lp_futex_woken_by(long nr, __u64 op, int other_process) {
  if (nr == LP_SC_FUTEX) {
    __u32 cmd = (__u32)op & 127; /* FUTEX_CMD_MASK */
    int wakes = cmd == 1 /* WAKE */ || cmd == 3 /* REQUEUE */ || cmd == 4 /* CMP_REQUEUE */ ||
                cmd == 5 /* WAKE_OP */ || cmd == 7 /* UNLOCK_PI */ || cmd == 10 /* WAKE_BITSET */ ||
                cmd == 12 /* CMP_REQUEUE_PI */;
    return wakes && (!other_process || !(op & LP_FUTEX_PRIVATE));
  }
  if (nr == LP_SC_FUTEX_WAKE) return !other_process || !(op & LP_FUTEX_PRIVATE);
  if (nr == LP_SC_FUTEX_REQUEUE) return !other_process;
  return 0;
}

/* Why a thread that leaves the CPU does so. state: its __state (0: it was
 * preempted); nr: the syscall it is in (-1: none); arg0, arg1: its first
 * arguments (select/poll with no descriptors is a sleep). */
LP_INLINE __u32 lp_classify_off(__s64 state, long nr, __u64 arg0, __u64 arg1) {
  if (state == 0) return LP_OFF_RUNQ;
  switch (nr) {
    case LP_SC_FUTEX:
    case LP_SC_FUTEX_WAITV:
    case LP_SC_FUTEX_WAIT:
    case LP_SC_FLOCK:
      return LP_OFF_FUTEX;
    case LP_SC_NANOSLEEP:
    case LP_SC_CLOCK_NANOSLEEP:
    case LP_SC_PAUSE:
      return LP_OFF_SLEEP;
    case LP_SC_SELECT:
    case LP_SC_PSELECT6:
      return arg0 == 0 ? LP_OFF_SLEEP : LP_OFF_IO;
    case LP_SC_POLL:
    case LP_SC_PPOLL:
      return arg1 == 0 ? LP_OFF_SLEEP : LP_OFF_IO;
    case LP_SC_READ:
    case LP_SC_WRITE:
    case LP_SC_OPEN:
    case LP_SC_PREAD64:
    case LP_SC_PWRITE64:
    case LP_SC_READV:
    case LP_SC_WRITEV:
    case LP_SC_MSYNC:
    case LP_SC_SENDFILE:
    case LP_SC_CONNECT:
    case LP_SC_ACCEPT:
    case LP_SC_SENDTO:
    case LP_SC_RECVFROM:
    case LP_SC_SENDMSG:
    case LP_SC_RECVMSG:
    case LP_SC_FSYNC:
    case LP_SC_FDATASYNC:
    case LP_SC_IO_GETEVENTS:
    case LP_SC_EPOLL_WAIT:
    case LP_SC_OPENAT:
    case LP_SC_SPLICE:
    case LP_SC_SYNC_FILE_RANGE:
    case LP_SC_EPOLL_PWAIT:
    case LP_SC_ACCEPT4:
    case LP_SC_PREADV:
    case LP_SC_PWRITEV:
    case LP_SC_RECVMMSG:
    case LP_SC_SENDMMSG:
    case LP_SC_COPY_FILE_RANGE:
    case LP_SC_PREADV2:
    case LP_SC_PWRITEV2:
    case LP_SC_IO_URING_ENTER:
    case LP_SC_EPOLL_PWAIT2:
      return LP_OFF_IO;
  }
  if (state & LP_TASK_UNINTERRUPTIBLE) return LP_OFF_IO; /* page faults, disk waits */
  return LP_OFF_OTHER;
}

#endif /* LOOPPROF_TASK_MODEL_H */
