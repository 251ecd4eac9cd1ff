// SPDX-License-Identifier: GPL-2.0
/* Kernel side of loopprof: follows the poll-family syscalls, scheduling and
 * CPU samples of the watched processes (the `watched` map), keeps per-iteration bookkeeping in the
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
#include "task_model.h"
#include "user_snapshot.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Wake-ups: only stall records wake the reader (BPF_RB_FORCE_WAKEUP); the
 * others (BPF_RB_NO_WAKEUP) wait for its next tick, a quarter of the
 * threshold at most. Waking it for every capture made it preempt the very
 * thread it watches on a busy CPU, which made more captures. */

/* Set by userspace between open and load. */
const volatile __u64 threshold_ns = 100000000ULL;
/* Discovery (the agent with no selector): a poll-family wait of a process
 * that is not watched is announced to userspace, at most once per
 * announce_interval_ns per process. */
const volatile __u32 discover = 0;
const volatile __u64 announce_interval_ns = 10000000000ULL;
/* CPU samples are taken only once a busy period has lasted this long (0:
 * from its start). Resolving the stacks of every sample of healthy short
 * iterations cost more than everything else together on a busy server. */
const volatile __u64 sample_min_busy_ns = 0;

/* The processes traced (key: tgid), filled by userspace. Every program looks
 * its task up here first: a process that is not watched pays this lookup. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024); /* resized by userspace before load */
  __type(key, __u32);
  __type(value, __u32);
} watched SEC(".maps");

/* Discovery's memory of unwatched processes that waited: a process is
 * announced at its second poll-family wait (a loop waits again and again; a
 * one-off poll is no loop), then at most once per announce_interval_ns. */
struct lp_announce_state {
  __u64 last_ns; /* last announcement (0: never) */
  __u64 waits;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32); /* tgid */
  __type(value, struct lp_announce_state);
} announced SEC(".maps");

static __always_inline int is_watched(__u32 tgid) {
  return bpf_map_lookup_elem(&watched, &tgid) != 0;
}

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096); /* resized by userspace before load */
  __type(key, __u32);        /* tid */
  __type(value, struct lp_thread);
} threads SEC(".maps");

/* Every thread of the target: time by state, histograms (task_model.h). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096); /* resized by userspace before load */
  __type(key, __u32);        /* tid */
  __type(value, struct lp_task_stats);
} task_stats SEC(".maps");

/* Initial map values (too large for the BPF stack). */
static const struct lp_thread zero_thread;
static const struct lp_task_stats zero_task_stats;

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 8 << 20); /* resized by userspace before load */
} events SEC(".maps");

/* Records that did not fit in the ring buffer, by enum lp_record_type. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, LP_DROP_KEYS); /* record types, then enum lp_map_full */
  __type(key, __u32);
  __type(value, __u64);
} drops SEC(".maps");

static __always_inline void count_drop(__u32 type) {
  __u64* n = bpf_map_lookup_elem(&drops, &type);
  if (n) *n += 1;
}

/* A ring-buffer record with its type set, or NULL: then counted as a drop of
 * that type. Every record type starts with its __u32 type. */
static __always_inline void* reserve_record(__u32 type, __u64 size) {
  __u32* r = bpf_ringbuf_reserve(&events, size, 0);

  if (!r) {
    count_drop(type);
    return 0;
  }
  *r = type;
  return r;
}

/* A poll-family wait of an unwatched process: tell userspace (rate-limited),
 * which decides whether to watch it. */
static __always_inline void announce(__u32 pid, __u32 tid, __u32 family) {
  struct lp_announce_state* s = bpf_map_lookup_elem(&announced, &pid);
  struct lp_announce_record* r;
  __u64 now;

  if (!s) {
    struct lp_announce_state first = {.waits = 1};
    bpf_map_update_elem(&announced, &pid, &first, BPF_NOEXIST);
    return;
  }
  s->waits++;
  now = bpf_ktime_get_ns();
  if (s->last_ns && now - s->last_ns < announce_interval_ns) return;
  s->last_ns = now;
  r = reserve_record(LP_REC_ANNOUNCE, sizeof(*r));
  if (!r) return;
  r->pid = pid;
  r->tid = tid;
  r->family = family;
  bpf_get_current_comm(r->comm, sizeof(r->comm));
  bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
}

static __always_inline struct lp_thread* thread_state(__u32 tid) {
  return bpf_map_lookup_elem(&threads, &tid);
}

static __always_inline struct lp_thread* thread_state_or_new(__u32 pid, __u32 tid) {
  struct lp_thread* t = thread_state(tid);

  if (t) return t;
  bpf_map_update_elem(&threads, &tid, &zero_thread, BPF_NOEXIST);
  t = thread_state(tid);
  if (t)
    t->pid = pid;
  else
    count_drop(LP_FULL_THREADS);
  return t;
}

static __always_inline void emit_stall(struct lp_thread* t, __u32 pid, __u32 tid,
                                       const struct lp_stall_end* end, __u32 flags) {
  struct lp_stall_record* r = reserve_record(LP_REC_STALL, sizeof(*r));

  if (!r) return;
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
  for (int i = 0; i < LP_OFF_COUNT; i++) r->cause_ns[i] = end->cause_ns[i];
  bpf_ringbuf_submit(r, BPF_RB_FORCE_WAKEUP); /* userspace reports it now */
}

/* Deep stacks: when the current task's stack goes on above the capture's
 * copy, the record that carries the rest (up to LP_SNAP_MORE_BYTES), reserved
 * before the capture so that it comes out of the ring buffer first, and
 * filled. `flags` receives LP_SNAP_MORE, or LP_SNAP_MORE_LOST when it did
 * not fit. The record size is one of two constants (the verifier wants a
 * constant; ring space is what is reserved). */
static __always_inline struct lp_stack_more_record* reserve_stack_more(struct task_struct* task,
                                                                       __u64 sp, __u64 extent,
                                                                       __u32* flags) {
  const __u64 header = __builtin_offsetof(struct lp_stack_more_record, stack);
  __u64 want = lp_stack_more_wanted(extent);
  struct lp_stack_more_record* m;

  *flags = 0;
  if (!want) return 0;
  if (want <= LP_SNAP_MORE_SMALL_BYTES) {
    m = reserve_record(LP_REC_STACK_MORE, header + LP_SNAP_MORE_SMALL_BYTES);
    if (m) lp_fill_stack_more(task, m, sp, want, LP_SNAP_MORE_SMALL_BYTES / LP_SNAP_CHUNK_BYTES);
  } else {
    m = reserve_record(LP_REC_STACK_MORE, sizeof(*m));
    if (m) lp_fill_stack_more(task, m, sp, want, LP_SNAP_MORE_BYTES / LP_SNAP_CHUNK_BYTES);
  }
  *flags = m ? LP_SNAP_MORE : LP_SNAP_MORE_LOST;
  return m;
}

/* Stacks of the current task, taken where it stands: a busy loop thread, or
 * (LP_CAPTURE_WAKER) the thread waking one up (woken_tid). */
static __always_inline void emit_capture(void* ctx, const struct lp_thread* t, __u32 pid, __u32 tid,
                                         __u32 kind, __s64 task_state, __u32 woken_tid,
                                         __u32 off_reason) {
  struct task_struct* task = bpf_get_current_task_btf();
  __u64 sp = lp_user_sp(task);
  __u64 extent = sp && lp_snap_max_bytes ? lp_stack_extent(task, sp) : 0;
  __u32 more_flags = 0;
  struct lp_stack_more_record* m = reserve_stack_more(task, sp, extent, &more_flags);
  struct lp_capture_record* r = reserve_record(LP_REC_CAPTURE, sizeof(*r));

  if (!r) {
    if (m) bpf_ringbuf_discard(m, BPF_RB_NO_WAKEUP);
    return;
  }
  r->kind = kind;
  r->pid = pid;
  r->tid = tid;
  r->seq = t->seq;
  r->ts_ns = bpf_ktime_get_ns();
  r->task_state = task_state;
  r->woken_tid = woken_tid;
  r->off_reason = off_reason;
  r->kstack_bytes = bpf_get_stack(ctx, r->kstack, sizeof(r->kstack), 0);
  r->ustack_bytes = bpf_get_stack(ctx, r->ustack, sizeof(r->ustack), BPF_F_USER_STACK);
  lp_py_walk(&r->py, pid);
  lp_user_snapshot_extent(task, &r->snap, extent);
  if (m) {
    /* Only the continuation of a whole 16 KiB copy joins it. */
    if (r->snap.stack_bytes == LP_SNAP_STACK_BYTES && r->snap.regs.sp == sp && m->bytes) {
      m->pid = pid;
      m->tid = tid;
      m->ts_ns = r->ts_ns;
      bpf_ringbuf_submit(m, BPF_RB_NO_WAKEUP);
      r->snap.flags |= LP_SNAP_MORE;
    } else {
      bpf_ringbuf_discard(m, BPF_RB_NO_WAKEUP);
    }
  } else if (r->snap.stack_bytes == LP_SNAP_STACK_BYTES) {
    r->snap.flags |= more_flags;
  }
  bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
}

/* A busy period with captures ended below the threshold: its length caps
 * the estimate of the callback steps sampled in it. */
static __always_inline void emit_busy_end(const struct lp_thread* t, __u32 tid) {
  struct lp_busy_end_record* r = reserve_record(LP_REC_BUSY_END, sizeof(*r));

  if (!r) return;
  r->tid = tid;
  r->pid = t->pid;
  r->pad = 0;
  r->seq = t->seq;
  r->duration_ns = t->last_busy_ns;
  bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
}

static __always_inline void emit_resume(const struct lp_thread* t, __u32 tid, __u64 now,
                                        __u64 off_ns, __u64 blocked_ns, __u64 runq_ns) {
  struct lp_resume_record* r = reserve_record(LP_REC_RESUME, sizeof(*r));

  if (!r) return;
  r->pid = t->pid;
  r->tid = tid;
  r->seq = t->seq;
  r->ts_ns = now;
  r->off_ns = off_ns;
  r->blocked_ns = blocked_ns;
  r->runq_ns = runq_ns;
  r->reason = t->off_reason;
  bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
}

static __always_inline struct lp_task_stats* task_stats_or_new(__u32 pid, __u32 tid) {
  struct lp_task_stats* s = bpf_map_lookup_elem(&task_stats, &tid);

  if (s) return s;
  bpf_map_update_elem(&task_stats, &tid, &zero_task_stats, BPF_NOEXIST);
  s = bpf_map_lookup_elem(&task_stats, &tid);
  if (s)
    s->pid = pid;
  else
    count_drop(LP_FULL_TASK_STATS);
  return s;
}

/* Start of the callback step a loop thread is in (key: tid); precise mode. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096); /* resized by userspace before load */
  __type(key, __u32);
  __type(value, __u64);
} step_start SEC(".maps");

/* The last switch-out of an exiting thread: ships its final times and
 * deletes every per-thread entry, so a reused TID starts from zero. */
static __always_inline void emit_thread_exit(__u32 pid, __u32 tid, const struct lp_task_stats* s) {
  struct lp_thread_exit_record* r = reserve_record(LP_REC_THREAD_EXIT, sizeof(*r));

  if (r) {
    r->tid = tid;
    r->flags = s ? 0 : LP_TEXIT_NO_STATS;
    r->pid = pid;
    if (s)
      __builtin_memcpy(&r->stats, s, sizeof(r->stats));
    else
      __builtin_memset(&r->stats, 0, sizeof(r->stats));
    bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
  }
  bpf_map_delete_elem(&task_stats, &tid);
  bpf_map_delete_elem(&threads, &tid);
  bpf_map_delete_elem(&step_start, &tid);
}

/* ---- poll-family syscalls ------------------------------------------------ */

static __always_inline __u64 current_user_sp(void) {
  struct task_struct* task = bpf_get_current_task_btf();
  struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(task);

  return BPF_CORE_READ(regs, sp);
}

/* The current task's scheduler run time (se.sum_exec_runtime, ns). */
static __always_inline __u64 current_exec_ns(void) {
  struct task_struct* task = bpf_get_current_task_btf();

  return BPF_CORE_READ(task, se.sum_exec_runtime);
}

/* Thread `tid` runs (exec_ns: its scheduler run time): a switch-in the
 * sched_switch program missed is repaired, counted, and its resume shipped,
 * so userspace closes the off-CPU interval its stacks were captured for. */
static __always_inline void repair_switch_in(struct lp_thread* t, __u32 tid, __u64 now,
                                             __u64 exec_ns) {
  __u64 blocked = 0, runq = 0, off = lp_catch_up_switch_in(t, now, exec_ns, &blocked, &runq);

  if (!off) return;
  count_drop(LP_MISSED_SWITCH_IN);
  emit_resume(t, tid, now, off, blocked, runq);
}

/* The current thread runs: see repair_switch_in. */
static __always_inline void catch_up_switch_in(struct lp_thread* t, __u64 now) {
  repair_switch_in(t, (__u32)bpf_get_current_pid_tgid(), now, current_exec_ns());
}

static __always_inline int handle_wait_enter(__u32 family, __s32 key) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 pid = pid_tgid >> 32, tid = (__u32)pid_tgid;
  struct lp_stall_end end = {};
  struct lp_thread* t;
  __u64 now;

  if (!is_watched(pid)) {
    if (discover) announce(pid, tid, family);
    return 0;
  }
  t = thread_state_or_new(pid, tid);
  if (!t) return 0;
  now = bpf_ktime_get_ns();
  catch_up_switch_in(t, now);
  if (lp_on_wait_enter(t, now, family, key, current_user_sp(), threshold_ns, &end))
    emit_stall(t, pid, tid, &end, 0);
  else if (t->last_busy_ns && t->captured_seq == t->seq)
    emit_busy_end(t, tid);
  return 0;
}

static __always_inline int handle_wait_exit(void) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  struct lp_thread* t;

  if (!is_watched(pid_tgid >> 32)) return 0;
  t = thread_state((__u32)pid_tgid);
  if (t) {
    __u64 now = bpf_ktime_get_ns();
    catch_up_switch_in(t, now);
    lp_on_wait_exit(t, now);
  }
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
  LP_NR_CLOSE = 3,
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

/* close(): a loop whose epoll fd is closed is no loop any more (loop_model.h).
 * Runs for every close() of the machine; returns at once for other processes. */
struct lp_close_ctx {
  __u32 pid;
  __s32 fd;
};

static long forget_closed_loop(struct bpf_map* map, __u32* tid, struct lp_thread* t,
                               struct lp_close_ctx* c) {
  if (t->pid == c->pid) lp_on_close(t, c->fd);
  return 0;
}

static __always_inline int handle_close(__s32 fd) {
  struct lp_close_ctx c = {.pid = bpf_get_current_pid_tgid() >> 32, .fd = fd};

  if (!is_watched(c.pid)) return 0;
  bpf_for_each_map_elem(&threads, forget_closed_loop, &c, 0);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int tp_enter_close(struct trace_event_raw_sys_enter* ctx) {
  return handle_close((__s32)ctx->args[0]);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(raw_sys_enter, struct pt_regs* regs, long nr) {
  __u32 family;
  __u64 arg0;

  /* Unwatched processes go on for discovery (handle_wait_enter). */
  family = wait_family_of(nr);
  if (family == LP_WAIT_NONE && nr != LP_NR_CLOSE) return 0;
  arg0 = BPF_CORE_READ(regs, di);
  if (nr == LP_NR_CLOSE) return handle_close((__s32)arg0);
  if (family == LP_WAIT_POLL)
    return handle_wait_enter(family, first_pollfd((const void*)arg0, BPF_CORE_READ(regs, si)));
  return handle_wait_enter(family, (__s32)arg0);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(raw_sys_exit, struct pt_regs* regs, long ret) {
  if (!is_watched(bpf_get_current_pid_tgid() >> 32)) return 0;
  if (wait_family_of(BPF_CORE_READ(regs, orig_ax)) == LP_WAIT_NONE) return 0;
  return handle_wait_exit();
}

/* ---- scheduler ------------------------------------------------------------ */

static __always_inline __s64 task_state_of(struct task_struct* task) {
  if (bpf_core_field_exists(task->__state)) return BPF_CORE_READ(task, __state);
  return 0;
}

/* Why the current task (prev, at sched_switch) leaves the CPU. */
static __always_inline __u32 off_reason_of_current(__s64 state, __u64* futex_addr) {
  struct task_struct* task = bpf_get_current_task_btf();
  struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(task);
  long nr = BPF_CORE_READ(regs, orig_ax);
  __u64 arg0 = BPF_CORE_READ(regs, di);
  __u32 reason = lp_classify_off(state, nr, arg0, BPF_CORE_READ(regs, si));

  *futex_addr = reason == LP_OFF_FUTEX ? arg0 : 0;
  return reason;
}

/* Stacks are taken at every blocking switch-out of a busy loop thread (sleep,
 * lock, I/O: the time that explains stalls), but at a preemption only once the
 * busy period has lasted a quarter of the threshold: a busy server's healthy
 * iterations are preempted thousands of times a second, and shipping their
 * stacks cost more than everything else together. A stall's early short
 * preemptions show as "[off-cpu, no stack]"; its time and cause still count. */
static __always_inline int switch_out_worth_stacks(const struct lp_thread* t, __u32 reason,
                                                   __u64 now) {
  return reason != LP_OFF_RUNQ || now - t->busy_start_ns >= threshold_ns / 4;
}

static __always_inline int handle_switch(void* ctx, struct task_struct* prev,
                                         struct task_struct* next) {
  __u32 prev_tgid = BPF_CORE_READ(prev, tgid), next_tgid = BPF_CORE_READ(next, tgid);
  struct lp_task_stats* s;
  struct lp_thread* t;
  __u64 now = 0;

  if (is_watched(prev_tgid)) {
    __u32 tid = BPF_CORE_READ(prev, pid);
    __s64 state = task_state_of(prev);
    __u64 futex_addr = 0;
    __u32 reason = off_reason_of_current(state, &futex_addr);
    __u64 exec_ns = BPF_CORE_READ(prev, se.sum_exec_runtime); /* up to date at a switch */
    t = thread_state(tid);
    now = bpf_ktime_get_ns();
    if (t && t->in_wait == LP_IN_LOOP_WAIT && reason != LP_OFF_RUNQ) reason = LP_OFF_IDLE;
    s = state & LP_TASK_DEAD ? bpf_map_lookup_elem(&task_stats, &tid)
                             : task_stats_or_new(prev_tgid, tid);
    if (s) lp_task_switch_out(s, now, reason, exec_ns);
    if (state & LP_TASK_DEAD) {
      emit_thread_exit(prev_tgid, tid, s);
      t = 0; /* deleted at sched_process_exit already */
    }
    if (t) repair_switch_in(t, tid, now, exec_ns);
    if (t && lp_on_switch_out(t, now, reason, exec_ns)) {
      t->off_futex_addr = futex_addr;
      if (switch_out_worth_stacks(t, reason, now)) {
        emit_capture(ctx, t, prev_tgid, tid, LP_CAPTURE_OFFCPU, state, 0, reason);
        t->captured_seq = t->seq;
      }
    }
  }
  if (is_watched(next_tgid)) {
    __u32 tid = BPF_CORE_READ(next, pid);
    __u64 off, blocked = 0, runq = 0;
    if (!now) now = bpf_ktime_get_ns();
    s = task_stats_or_new(next_tgid, tid);
    if (s) lp_task_switch_in(s, now);
    t = thread_state(tid);
    if (!t) return 0;
    off = lp_on_switch_in_split(t, now, &blocked, &runq);
    if (off) emit_resume(t, tid, now, off, blocked, runq);
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

/* Is the current task (at sched_waking) the one that caused the wake-up, or
 * was it just interrupted by a timer or device? The preempt count would say,
 * but it is not reachable from BPF on every kernel; what the task is doing
 * says enough: a futex wait ends by a task in a futex wake (of a private
 * futex: in the waiter's own process; lp_futex_woken_by), a sleep by its
 * timer, other waits by a task in a syscall (write, send, ...). */
static __always_inline int woken_from_interrupt(__u32 reason, int other_process) {
  struct task_struct* task = bpf_get_current_task_btf();
  struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(task);
  long nr = BPF_CORE_READ(regs, orig_ax);

  if (BPF_CORE_READ(task, pid) == 0) return 1; /* the idle task */
  if (reason == LP_OFF_SLEEP) return 1;
  if (reason == LP_OFF_FUTEX) {
    __u64 op = nr == LP_SC_FUTEX_WAKE ? BPF_CORE_READ(regs, r10) : BPF_CORE_READ(regs, si);
    return !lp_futex_woken_by(nr, op, other_process);
  }
  return nr < 0;
}

static __always_inline void emit_wake(void* ctx, const struct lp_thread* t, __u32 woken_tid,
                                      __u64 now, __u64 blocked) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 waker_pid = pid_tgid >> 32, waker_tid = (__u32)pid_tgid;
  struct lp_wake_record* r = reserve_record(LP_REC_WAKE, sizeof(*r));
  __u32 flags = 0;

  if (woken_from_interrupt(t->off_reason, waker_pid != t->pid)) flags |= LP_WAKE_INTERRUPT;
  if (waker_pid != t->pid) flags |= LP_WAKE_OTHER_PROCESS;
  if (!r) return;
  r->woken_pid = t->pid;
  r->woken_tid = woken_tid;
  r->waker_pid = waker_pid;
  r->waker_tid = waker_tid;
  r->seq = t->seq;
  r->ts_ns = now;
  r->blocked_ns = blocked;
  r->futex_addr = t->off_futex_addr;
  r->reason = t->off_reason;
  r->flags = flags;
  bpf_get_current_comm(r->waker_comm, sizeof(r->waker_comm));
  bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
  /* The waker's stacks, when it is a thread of the target in task context. */
  if (!flags && waker_tid != woken_tid)
    emit_capture(ctx, t, waker_pid, waker_tid, LP_CAPTURE_WAKER, 0, woken_tid, t->off_reason);
}

/* current wakes p: the end of p's blocked time. Only threads of the target
 * are looked at; only wake-ups of blocked busy loop threads make records. */
static __always_inline int handle_waking(void* ctx, struct task_struct* p) {
  struct lp_task_stats* s;
  struct lp_thread* t;
  __u64 now, blocked;
  __u32 tid;

  if (!is_watched(BPF_CORE_READ(p, tgid))) return 0;
  tid = BPF_CORE_READ(p, pid);
  now = bpf_ktime_get_ns();
  s = bpf_map_lookup_elem(&task_stats, &tid);
  if (s) lp_task_wakeup(s, now);
  t = thread_state(tid);
  if (!t) return 0;
  blocked = lp_on_wakeup(t, now);
  if (blocked) emit_wake(ctx, t, tid, now, blocked);
  return 0;
}

SEC("tp_btf/sched_waking")
int BPF_PROG(btf_sched_waking, struct task_struct* p) {
  return handle_waking(ctx, p);
}

SEC("raw_tp/sched_waking")
int BPF_PROG(raw_sched_waking, struct task_struct* p) {
  return handle_waking(ctx, p);
}

/* The final counters of a loop thread, whose state is deleted now. */
static __always_inline void emit_loop_exit(__u32 tid, const struct lp_thread* t) {
  struct lp_loop_exit_record* r = reserve_record(LP_REC_LOOP_EXIT, sizeof(*r));

  if (!r) return;
  r->pid = t->pid;
  r->tid = tid;
  __builtin_memcpy(&r->state, t, sizeof(r->state));
  bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
}

/* The thread's loop ends (exit, or exec of a new program): a busy period
 * under way ends with it, its final counters go out, its state is deleted. */
static __always_inline void end_loop_thread(__u32 pid, __u32 tid) {
  struct lp_stall_end end = {};
  struct lp_thread* t = thread_state(tid);

  __u64 now = bpf_ktime_get_ns();

  if (!t) return;
  catch_up_switch_in(t, now);
  if (lp_on_thread_exit(t, now, threshold_ns, &end))
    emit_stall(t, pid, tid, &end, LP_STALL_THREAD_EXIT);
  if (t->iterations) emit_loop_exit(tid, t);
  bpf_map_delete_elem(&threads, &tid);
}

static __always_inline int handle_exit(void) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 pid = pid_tgid >> 32, tid = (__u32)pid_tgid;

  if (!is_watched(pid)) {
    /* A process leaving: may be announced again if its PID is reused. */
    if (discover && pid == tid) bpf_map_delete_elem(&announced, &pid);
    return 0;
  }
  end_loop_thread(pid, tid);
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

/* exec: the old program's loop is gone; userspace re-reads the process. */
static __always_inline int handle_exec(__u32 old_tid) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 pid = pid_tgid >> 32;
  struct lp_exec_record* r;

  if (!is_watched(pid)) return 0;
  end_loop_thread(pid, old_tid);
  r = reserve_record(LP_REC_EXEC, sizeof(*r));
  if (!r) return 0;
  r->pid = pid;
  r->tid = (__u32)pid_tgid;
  r->old_tid = old_tid;
  r->ts_ns = bpf_ktime_get_ns();
  bpf_ringbuf_submit(r, BPF_RB_FORCE_WAKEUP);
  return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(btf_sched_process_exec, struct task_struct* p, pid_t old_pid) {
  return handle_exec((__u32)old_pid);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(raw_sched_process_exec, struct task_struct* p, pid_t old_pid) {
  return handle_exec((__u32)old_pid);
}

/* ---- precise mode: callback steps (uprobes, attached only on request) ----- */

SEC("uprobe")
int step_enter(struct pt_regs* ctx) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 tid = (__u32)pid_tgid;
  struct lp_thread* t;
  __u64 now;

  if (!is_watched(pid_tgid >> 32)) return 0;
  t = thread_state(tid);
  if (!t || !lp_busy(t)) return 0;
  now = bpf_ktime_get_ns();
  bpf_map_update_elem(&step_start, &tid, &now, BPF_NOEXIST); /* outermost call only */
  return 0;
}

SEC("uretprobe")
int step_exit(struct pt_regs* ctx) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 tid = (__u32)pid_tgid;
  struct lp_step_record* r;
  struct lp_thread* t;
  __u64* start;

  start = bpf_map_lookup_elem(&step_start, &tid);
  if (!start) return 0;
  t = thread_state(tid);
  r = t ? reserve_record(LP_REC_STEP, sizeof(*r)) : 0;
  if (r) {
    r->pid = pid_tgid >> 32;
    r->tid = tid;
    r->seq = t->seq;
    r->start_ns = *start;
    r->end_ns = bpf_ktime_get_ns();
    bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
  }
  bpf_map_delete_elem(&step_start, &tid);
  return 0;
}

/* ---- CPU samples ---------------------------------------------------------- */

SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data* ctx) {
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 pid = pid_tgid >> 32, tid = (__u32)pid_tgid;
  struct lp_thread* t;

  if (!is_watched(pid)) return 0;
  t = thread_state(tid);
  if (!t || !lp_busy(t)) return 0;
  if (sample_min_busy_ns && bpf_ktime_get_ns() - t->busy_start_ns < sample_min_busy_ns) return 0;
  emit_capture(ctx, t, pid, tid, LP_CAPTURE_SAMPLE, 0, 0, 0);
  t->captured_seq = t->seq;
  return 0;
}
