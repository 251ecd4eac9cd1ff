/* ABI shared by the BPF side (loopprof.bpf.c) and userspace: fixed-width
 * fields only, no pointers, no bool. Every ring-buffer record starts with a
 * __u32 type from enum lp_record_type. */
#ifndef LOOPPROF_H
#define LOOPPROF_H

#include "py_stack.h"
#include "user_snapshot.h"

#define LP_MAX_STACK_DEPTH 127

enum lp_record_type {
  LP_REC_STALL = 1,   /* a busy period ended at or above the threshold */
  LP_REC_CAPTURE = 2, /* stacks of a loop thread during a busy period */
  LP_REC_RESUME = 3,  /* a loop thread that went off-CPU runs again */
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
};

struct lp_capture_record {
  __u32 type; /* LP_REC_CAPTURE */
  __u32 kind; /* enum lp_capture_kind */
  __u32 pid;
  __u32 tid;
  __u64 seq; /* busy period this capture belongs to */
  __u64 ts_ns;
  __s64 task_state;   /* switched-out task's __state (0 = preempted/runnable) */
  __s32 kstack_bytes; /* bpf_get_stack() result: bytes used, or negative error */
  __s32 ustack_bytes;
  __u64 kstack[LP_MAX_STACK_DEPTH];
  __u64 ustack[LP_MAX_STACK_DEPTH];
  struct lp_py_stack py;        /* Python frames (py_walk.bpf.h) */
  struct lp_user_snapshot snap; /* registers + stack bytes (user_snapshot.bpf.h) */
};

struct lp_resume_record {
  __u32 type; /* LP_REC_RESUME */
  __u32 tid;
  __u64 seq;
  __u64 ts_ns;
  __u64 off_ns; /* length of the off-CPU interval that just ended */
};

#endif /* LOOPPROF_H */
