// SPDX-License-Identifier: GPL-2.0
/* Kernel side of loopprof: follows the target's poll-family syscalls, its
 * scheduling and CPU samples, keeps per-iteration bookkeeping in the
 * `threads` map (loop_model.h), and sends to userspace only stalls and the
 * stacks captured during busy periods. */
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
// clang-format on

#include "loopprof.h"

#include "loop_model.h"
#include "py_walk.bpf.h"
#include "user_snapshot.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by userspace between open and load. */
const volatile __u32 target_tgid = 0;
const volatile __u64 threshold_ns = 100000000ULL;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096); /* resized by userspace before load */
  __type(key, __u32);        /* tid */
  __type(value, struct lp_thread);
} threads SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 8 << 20); /* resized by userspace before load */
} events SEC(".maps");

/* Records that did not fit in the ring buffer, by enum lp_record_type. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} drops SEC(".maps");

static __always_inline void count_drop(__u32 type) {
  __u64* n = bpf_map_lookup_elem(&drops, &type);
  if (n) *n += 1;
}

static __always_inline struct lp_thread* thread_state(__u32 tid) {
  return bpf_map_lookup_elem(&threads, &tid);
}

static __always_inline struct lp_thread* thread_state_or_new(__u32 pid, __u32 tid) {
  struct lp_thread* t = thread_state(tid);
  struct lp_thread zero = {};

  if (t) return t;
  zero.pid = pid;
  bpf_map_update_elem(&threads, &tid, &zero, BPF_NOEXIST);
  return thread_state(tid);
}

static __always_inline void emit_stall(struct lp_thread* t, __u32 pid, __u32 tid,
                                       const struct lp_stall_end* end, __u32 flags) {
  struct lp_stall_record* r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

  if (!r) {
    count_drop(LP_REC_STALL);
    return;
  }
  r->type = LP_REC_STALL;
  r->pid = pid;
  r->tid = tid;
  r->flags = flags;
  r->seq = end->seq;
  r->start_ns = end->start_ns;
  r->end_ns = end->end_ns;
  r->on_cpu_ns = end->on_cpu_ns;
  r->off_cpu_ns = end->off_cpu_ns;
  r->loop_key = t->loop_key;
  r->loop_family = t->loop_family;
  bpf_ringbuf_submit(r, 0);
}

/* Stacks of the current task (a busy loop thread), taken where it stands. */
static __always_inline void emit_capture(void* ctx, const struct lp_thread* t, __u32 pid, __u32 tid,
                                         __u32 kind, __s64 task_state) {
  struct lp_capture_record* r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

  if (!r) {
    count_drop(LP_REC_CAPTURE);
    return;
  }
  r->type = LP_REC_CAPTURE;
  r->kind = kind;
  r->pid = pid;
  r->tid = tid;
  r->seq = t->seq;
  r->ts_ns = bpf_ktime_get_ns();
  r->task_state = task_state;
  r->kstack_bytes = bpf_get_stack(ctx, r->kstack, sizeof(r->kstack), 0);
  r->ustack_bytes = bpf_get_stack(ctx, r->ustack, sizeof(r->ustack), BPF_F_USER_STACK);
  lp_py_walk(&r->py, tid);
  lp_user_snapshot(ctx, &r->snap);
  bpf_ringbuf_submit(r, 0);
}

static __always_inline void emit_resume(const struct lp_thread* t, __u32 tid, __u64 now,
                                        __u64 off_ns) {
  struct lp_resume_record* r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

  if (!r) {
    count_drop(LP_REC_RESUME);
    return;
  }
  r->type = LP_REC_RESUME;
  r->tid = tid;
  r->seq = t->seq;
  r->ts_ns = now;
  r->off_ns = off_ns;
  bpf_ringbuf_submit(r, 0);
}

/* ---- poll-family syscalls ------------------------------------------------ */

static __always_inline __u64 current_user_sp(void) {
  struct task_struct* task = bpf_get_current_task_btf();
  struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(task);

  return BPF_CORE_READ(regs, sp);
}

static __always_inline int handle_wait_enter(__u32 family, __s32 key) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 pid = pid_tgid >> 32, tid = (__u32)pid_tgid;
  struct lp_stall_end end = {};
  struct lp_thread* t;
  __u64 now;

  if (pid != target_tgid) return 0;
  t = thread_state_or_new(pid, tid);
  if (!t) return 0;
  now = bpf_ktime_get_ns();
  if (lp_on_wait_enter(t, now, family, key, current_user_sp(), threshold_ns, &end))
    emit_stall(t, pid, tid, &end, 0);
  return 0;
}

static __always_inline int handle_wait_exit(void) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  struct lp_thread* t;

  if ((pid_tgid >> 32) != target_tgid) return 0;
  t = thread_state((__u32)pid_tgid);
  if (t) lp_on_wait_exit(t, bpf_ktime_get_ns());
  return 0;
}

static __always_inline __s32 first_pollfd(const void* ufds, __u64 nfds) {
  __s32 fd = -1;

  if (nfds == 0 || !ufds) return -1;
  if (bpf_probe_read_user(&fd, sizeof(fd), ufds)) return -1; /* struct pollfd: fd first */
  return fd;
}

/* Preferred hooks: one tracepoint per syscall, so nothing runs for the other
 * syscalls of the machine. Needs tracefs (userspace mounts it if missing). */
#define LP_SYSCALL_TP(name, family, key_expr)                  \
  SEC("tracepoint/syscalls/sys_enter_" #name)                  \
  int tp_enter_##name(struct trace_event_raw_sys_enter* ctx) { \
    return handle_wait_enter(family, key_expr);                \
  }                                                            \
  SEC("tracepoint/syscalls/sys_exit_" #name)                   \
  int tp_exit_##name(struct trace_event_raw_sys_exit* ctx) {   \
    return handle_wait_exit();                                 \
  }

LP_SYSCALL_TP(epoll_wait, LP_WAIT_EPOLL, (__s32)ctx->args[0])
LP_SYSCALL_TP(epoll_pwait, LP_WAIT_EPOLL, (__s32)ctx->args[0])
LP_SYSCALL_TP(epoll_pwait2, LP_WAIT_EPOLL, (__s32)ctx->args[0])
LP_SYSCALL_TP(poll, LP_WAIT_POLL, first_pollfd((const void*)ctx->args[0], ctx->args[1]))
LP_SYSCALL_TP(ppoll, LP_WAIT_POLL, first_pollfd((const void*)ctx->args[0], ctx->args[1]))
LP_SYSCALL_TP(select, LP_WAIT_SELECT, (__s32)ctx->args[0])
LP_SYSCALL_TP(pselect6, LP_WAIT_SELECT, (__s32)ctx->args[0])

/* Fallback when tracefs is unavailable: the raw sys_enter/sys_exit
 * tracepoints (run for every syscall, filtered here). x86_64 numbers. */
enum {
  LP_NR_POLL = 7,
  LP_NR_SELECT = 23,
  LP_NR_EPOLL_WAIT = 232,
  LP_NR_PSELECT6 = 270,
  LP_NR_PPOLL = 271,
  LP_NR_EPOLL_PWAIT = 281,
  LP_NR_EPOLL_PWAIT2 = 441,
};

static __always_inline __u32 wait_family_of(long nr) {
  switch (nr) {
    case LP_NR_EPOLL_WAIT:
    case LP_NR_EPOLL_PWAIT:
    case LP_NR_EPOLL_PWAIT2:
      return LP_WAIT_EPOLL;
    case LP_NR_POLL:
    case LP_NR_PPOLL:
      return LP_WAIT_POLL;
    case LP_NR_SELECT:
    case LP_NR_PSELECT6:
      return LP_WAIT_SELECT;
  }
  return LP_WAIT_NONE;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(raw_sys_enter, struct pt_regs* regs, long nr) {
  __u32 family;
  __u64 arg0;

  if ((bpf_get_current_pid_tgid() >> 32) != target_tgid) return 0;
  family = wait_family_of(nr);
  if (family == LP_WAIT_NONE) return 0;
  arg0 = BPF_CORE_READ(regs, di);
  if (family == LP_WAIT_POLL)
    return handle_wait_enter(family, first_pollfd((const void*)arg0, BPF_CORE_READ(regs, si)));
  return handle_wait_enter(family, (__s32)arg0);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(raw_sys_exit, struct pt_regs* regs, long ret) {
  if ((bpf_get_current_pid_tgid() >> 32) != target_tgid) return 0;
  if (wait_family_of(BPF_CORE_READ(regs, orig_ax)) == LP_WAIT_NONE) return 0;
  return handle_wait_exit();
}

/* ---- scheduler ------------------------------------------------------------ */

static __always_inline __s64 task_state_of(struct task_struct* task) {
  if (bpf_core_field_exists(task->__state)) return BPF_CORE_READ(task, __state);
  return 0;
}

static __always_inline int handle_switch(void* ctx, struct task_struct* prev,
                                         struct task_struct* next) {
  __u32 tgid = target_tgid;
  struct lp_thread* t;
  __u64 now = 0;

  if (BPF_CORE_READ(prev, tgid) == tgid) {
    __u32 tid = BPF_CORE_READ(prev, pid);
    t = thread_state(tid);
    now = bpf_ktime_get_ns();
    if (t && lp_on_switch_out(t, now))
      emit_capture(ctx, t, tgid, tid, LP_CAPTURE_OFFCPU, task_state_of(prev));
  }
  if (BPF_CORE_READ(next, tgid) == tgid) {
    __u32 tid = BPF_CORE_READ(next, pid);
    __u64 off;
    t = thread_state(tid);
    if (!t) return 0;
    if (!now) now = bpf_ktime_get_ns();
    off = lp_on_switch_in(t, now);
    if (off) emit_resume(t, tid, now, off);
  }
  return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(btf_sched_switch, bool preempt, struct task_struct* prev, struct task_struct* next) {
  return handle_switch(ctx, prev, next);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(raw_sched_switch, bool preempt, struct task_struct* prev, struct task_struct* next) {
  return handle_switch(ctx, prev, next);
}

static __always_inline int handle_exit(void) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 pid = pid_tgid >> 32, tid = (__u32)pid_tgid;
  struct lp_stall_end end = {};
  struct lp_thread* t;

  if (pid != target_tgid) return 0;
  t = thread_state(tid);
  if (!t) return 0;
  if (lp_on_thread_exit(t, bpf_ktime_get_ns(), threshold_ns, &end))
    emit_stall(t, pid, tid, &end, LP_STALL_THREAD_EXIT);
  bpf_map_delete_elem(&threads, &tid);
  return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(btf_sched_process_exit, struct task_struct* task) {
  return handle_exit();
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(raw_sched_process_exit, struct task_struct* task) {
  return handle_exit();
}

/* ---- CPU samples ---------------------------------------------------------- */

SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data* ctx) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 pid = pid_tgid >> 32, tid = (__u32)pid_tgid;
  struct lp_thread* t;

  if (pid != target_tgid) return 0;
  t = thread_state(tid);
  if (!t || !lp_busy(t)) return 0;
  emit_capture(ctx, t, pid, tid, LP_CAPTURE_SAMPLE, 0);
  return 0;
}
