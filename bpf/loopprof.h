/* ABI shared by the BPF side (loopprof.bpf.c) and userspace: fixed-width
 * fields only, no pointers, no bool. Every ring-buffer record starts with a
 * __u32 type from enum lp_record_type. */
#ifndef LOOPPROF_H
#define LOOPPROF_H

#include "py_stack.h"
#include "user_snapshot.h"

#define LP_MAX_STACK_DEPTH 127

enum lp_record_type {
  LP_REC_STALL = 1,       /* a busy period ended at or above the threshold */
  LP_REC_CAPTURE = 2,     /* stacks of a loop thread during a busy period */
  LP_REC_RESUME = 3,      /* a loop thread that went off-CPU runs again */
  LP_REC_WAKE = 4,        /* a busy loop thread blocked off-CPU was woken up */
  LP_REC_STEP = 5,        /* precise mode: one callback step of a loop thread (uprobes) */
  LP_REC_LOOP_EXIT = 6,   /* a loop thread exited: its final counters */
  LP_REC_THREAD_EXIT = 7, /* any thread of a watched process is gone: its final times */
  LP_REC_EXEC = 8,        /* a watched process executed a new program */
  LP_REC_BUSY_END = 9,    /* a busy period below the threshold with captures ended */
  LP_REC_ANNOUNCE = 10,   /* discovery: an unwatched process waited in a poll-family call */
  LP_REC_STACK_MORE = 11, /* the stack bytes above a capture's copy (deep stacks) */
};

/* Per-thread state that did not fit in its map (keys of the `drops` map,
 * after the record types): counted, never silent. */
enum lp_map_full {
  LP_FULL_THREADS = 16,     /* `threads` map: a thread's loop was not followed */
  LP_FULL_TASK_STATS = 17,  /* `task_stats` map: a thread's times were not kept */
  LP_MISSED_SWITCH_IN = 18, /* a busy loop thread ran with no sched_switch seen (repaired) */
};
#define LP_DROP_KEYS 19

/* Why a thread is off CPU: set at switch-out from the task state and the
 * syscall it is in. The index of lp_thread.cause_ns and lp_task_stats.off_ns. */
enum lp_off_reason {
  LP_OFF_RUNQ = 0,  /* preempted, or woken and waiting for a CPU (run queue) */
  LP_OFF_FUTEX = 1, /* futex waits: locks, conditions, the GIL (told apart in userspace) */
  LP_OFF_SLEEP = 2, /* nanosleep, clock_nanosleep, select/poll with no descriptors */
  LP_OFF_IO = 3,    /* read/write/recv/send/poll on other descriptors, disk I/O */
  LP_OFF_OTHER = 4, /* any other blocking syscall */
  LP_OFF_IDLE = 5,  /* the loop's own wait (never part of a busy period) */
  LP_OFF_COUNT = 6,
};

/* Adds ns to cause[reason] with constant indices only (the BPF verifier
 * cannot always see a bounds check of a variable index survive clang). */
static inline __attribute__((always_inline)) void lp_add_cause(__u64* cause, __u32 reason,
                                                               __u64 ns) {
  switch (reason) {
    case LP_OFF_RUNQ:
      cause[LP_OFF_RUNQ] += ns;
      break;
    case LP_OFF_FUTEX:
      cause[LP_OFF_FUTEX] += ns;
      break;
    case LP_OFF_SLEEP:
      cause[LP_OFF_SLEEP] += ns;
      break;
    case LP_OFF_IO:
      cause[LP_OFF_IO] += ns;
      break;
    case LP_OFF_IDLE:
      cause[LP_OFF_IDLE] += ns;
      break;
    default:
      cause[LP_OFF_OTHER] += ns;
  }
}

#define LP_HIST_BUCKETS 32 /* a power of two; log2 buckets of microseconds: [2^i, 2^(i+1)) us */

enum lp_hist_kind {
  LP_HIST_RUNQ = 0,  /* run-queue latency per switch-in */
  LP_HIST_FUTEX = 1, /* time blocked per futex wait */
  LP_HIST_COUNT = 2,
};

/* Per thread of the target, kept in the `task_stats` map (key: tid) and
 * updated at every switch and wake-up of the thread (task_model.h). */
struct lp_task_stats {
  __u64 running_ns;
  __u64 off_ns[LP_OFF_COUNT]; /* off_ns[LP_OFF_RUNQ]: runnable but waiting */
  __u64 last_ns;              /* last switch in or out */
  __u64 wake_ns;              /* wake-up of the current off-CPU interval (0: none yet) */
  __u32 on_cpu;
  __u32 reason; /* enum lp_off_reason while off CPU */
  __u32 hist[LP_HIST_COUNT][LP_HIST_BUCKETS];
  __u32 pid; /* the thread's process */
  __u32 pad;
  __u64 exec_at_out_ns; /* the task's scheduler run time at its last switch-out */
};

enum lp_wake_flags {
  LP_WAKE_INTERRUPT = 1, /* woken by a timer or device, not by the current task */
  LP_WAKE_OTHER_PROCESS = 2,
};

enum lp_wait_family {
  LP_WAIT_NONE = 0,
  LP_WAIT_EPOLL = 1,  /* epoll_wait, epoll_pwait, epoll_pwait2: key = epfd */
  LP_WAIT_POLL = 2,   /* poll, ppoll: key = first pollfd's fd (-1 if none) */
  LP_WAIT_SELECT = 3, /* select, pselect6: key = nfds */
};

enum lp_capture_kind {
  LP_CAPTURE_OFFCPU = 1, /* sched_switch away from a busy loop thread */
  LP_CAPTURE_SAMPLE = 2, /* CPU sample while a loop thread was busy */
  LP_CAPTURE_WAKER = 3,  /* a thread of the target waking a blocked busy loop thread */
};

enum lp_stall_flags {
  LP_STALL_THREAD_EXIT = 1, /* the busy period ended because the thread exited */
};

/* Per loop thread, kept in the `threads` map (key: tid). Updated only by the
 * functions of loop_model.h; userspace reads it for ongoing stalls. */
struct lp_thread {
  __u64 seq;            /* busy-period number; bumped when a busy period starts */
  __u64 busy_start_ns;  /* 0: not busy (inside the loop's wait, or not yet seen) */
  __u64 last_switch_ns; /* last on/off-CPU transition inside the busy period */
  __u64 on_cpu_ns;      /* accounted so far in the busy period */
  __u64 off_cpu_ns;
  __u64 loop_sp; /* user stack pointer at the loop's wait */
  __u64 pending_sp;
  __u64 iterations; /* loop waits seen */
  __u64 stalls;
  __s32 loop_key;    /* identifies the loop's wait (see lp_wait_family) */
  __u32 loop_family; /* LP_WAIT_NONE until a wait was seen */
  __s32 alt_key;     /* a different wait repeated without a loop wait between */
  __u32 alt_family;
  __u32 alt_count;
  __u32 in_wait; /* enum lp_wait_state */
  __u32 off_cpu; /* 1 while switched out inside a busy period */
  __u32 pid;
  __u32 off_reason;                 /* enum lp_off_reason of the current off-CPU interval */
  __u64 wake_ns;                    /* its wake-up (0: not woken yet) */
  __u64 off_futex_addr;             /* LP_OFF_FUTEX: the futex word */
  __u64 cause_ns[LP_OFF_COUNT];     /* off-CPU time of the busy period by reason */
  __u64 last_busy_ns;               /* length of the busy period the last loop wait closed */
  __u64 wait_start_ns;              /* entry of the current loop wait */
  __u64 busy_total_ns;              /* all busy periods closed so far */
  __u64 idle_total_ns;              /* all loop waits returned so far */
  __u64 max_busy_ns;                /* longest busy period closed so far */
  __u32 busy_hist[LP_HIST_BUCKETS]; /* busy time per iteration (loop lag), log2 us */
  __u64 captured_seq;               /* last busy period a capture was shipped for */
  __u64 exec_at_out_ns;             /* the task's scheduler run time at its last switch-out */
};

enum lp_wait_state {
  LP_NOT_WAITING = 0,
  LP_IN_LOOP_WAIT = 1,  /* idle: the loop's own wait */
  LP_IN_OTHER_WAIT = 2, /* a poll-family call that is not the loop's: busy */
};

struct lp_stall_record {
  __u32 type; /* LP_REC_STALL */
  __u32 pid;
  __u32 tid;
  __u32 flags; /* enum lp_stall_flags */
  __u64 seq;
  __u64 start_ns; /* CLOCK_MONOTONIC, like bpf_ktime_get_ns() */
  __u64 end_ns;
  __u64 on_cpu_ns;
  __u64 off_cpu_ns;
  __s32 loop_key;
  __u32 loop_family;
  __u64 cause_ns[LP_OFF_COUNT]; /* off_cpu_ns by enum lp_off_reason */
};

struct lp_capture_record {
  __u32 type; /* LP_REC_CAPTURE */
  __u32 kind; /* enum lp_capture_kind */
  __u32 pid;
  __u32 tid;
  __u64 seq; /* busy period this capture belongs to */
  __u64 ts_ns;
  __s64 task_state;   /* switched-out task's __state (0 = preempted/runnable) */
  __u32 woken_tid;    /* LP_CAPTURE_WAKER: the loop thread woken; tid is the waker */
  __u32 off_reason;   /* LP_CAPTURE_OFFCPU: enum lp_off_reason */
  __s32 kstack_bytes; /* bpf_get_stack() result: bytes used, or negative error */
  __s32 ustack_bytes;
  __u64 kstack[LP_MAX_STACK_DEPTH];
  __u64 ustack[LP_MAX_STACK_DEPTH];
  struct lp_py_stack py;        /* Python frames (py_walk.bpf.h) */
  struct lp_user_snapshot snap; /* registers + stack bytes (user_snapshot.bpf.h) */
};

/* Deep stacks: the user stack above the copy of the capture that follows
 * (the one with the same tid and ts_ns, flagged LP_SNAP_MORE). Reserved before
 * that capture, so it comes first out of the ring buffer; either
 * LP_SNAP_MORE_SMALL_BYTES or LP_SNAP_MORE_BYTES of `stack` are reserved. */
struct lp_stack_more_record {
  __u32 type; /* LP_REC_STACK_MORE */
  __u32 pid;
  __u32 tid;
  __u32 bytes; /* bytes of `stack`: [sp + LP_SNAP_STACK_BYTES, ... + bytes) */
  __u64 ts_ns; /* the capture's ts_ns */
  __u64 sp;    /* the capture's regs.sp */
  __u8 stack[LP_SNAP_MORE_BYTES];
};

struct lp_loop_exit_record {
  __u32 type; /* LP_REC_LOOP_EXIT */
  __u32 tid;
  __u32 pid;
  __u32 pad;
  struct lp_thread state; /* final: the thread's map entry is deleted */
};

struct lp_resume_record {
  __u32 type; /* LP_REC_RESUME */
  __u32 tid;
  __u64 seq;
  __u64 ts_ns;
  __u64 off_ns;     /* length of the off-CPU interval that just ended */
  __u64 blocked_ns; /* its blocked part (switch-out to wake-up) */
  __u64 runq_ns;    /* its runnable part (wake-up or preemption to switch-in) */
  __u32 reason;     /* enum lp_off_reason of the blocked part */
  __u32 pid;
};

struct lp_wake_record {
  __u32 type; /* LP_REC_WAKE */
  __u32 woken_tid;
  __u32 waker_pid;
  __u32 waker_tid;
  __u64 seq; /* the woken thread's busy period */
  __u64 ts_ns;
  __u64 blocked_ns; /* switch-out to this wake-up */
  __u64 futex_addr; /* LP_OFF_FUTEX: the futex word waited on */
  __u32 reason;     /* enum lp_off_reason */
  __u32 flags;      /* enum lp_wake_flags */
  char waker_comm[16];
  __u32 woken_pid;
  __u32 pad;
};

struct lp_step_record {
  __u32 type; /* LP_REC_STEP */
  __u32 tid;
  __u32 pid;
  __u32 pad;
  __u64 seq; /* busy period of the step */
  __u64 start_ns;
  __u64 end_ns;
};

enum lp_thread_exit_flags {
  LP_TEXIT_NO_STATS = 1, /* no task_stats entry (the map was full): stats are zero */
};

/* Sent at the last switch-out of an exiting thread: its task_stats entry is
 * deleted, so a reused TID starts from zero. */
struct lp_thread_exit_record {
  __u32 type; /* LP_REC_THREAD_EXIT */
  __u32 tid;
  __u32 flags; /* enum lp_thread_exit_flags */
  __u32 pid;
  struct lp_task_stats stats; /* final */
};

struct lp_exec_record {
  __u32 type; /* LP_REC_EXEC */
  __u32 pid;
  __u32 tid;     /* the thread that executed (now the leader) */
  __u32 old_tid; /* its TID before the exec */
  __u64 ts_ns;
};

/* Its length bounds what the captures inside may be credited with. */
struct lp_busy_end_record {
  __u32 type; /* LP_REC_BUSY_END */
  __u32 tid;
  __u32 pid;
  __u32 pad;
  __u64 seq;
  __u64 duration_ns;
};

/* Discovery (announce in loopprof.bpf.c): a process that is not watched
 * waited in a poll-family call; userspace decides whether to watch it. */
struct lp_announce_record {
  __u32 type; /* LP_REC_ANNOUNCE */
  __u32 pid;
  __u32 tid;
  __u32 family; /* enum lp_wait_family */
  char comm[16];
};

#endif /* LOOPPROF_H */
