// SPDX-License-Identifier: GPL-2.0
/* A sleepable task iterator over the threads of one process: their state,
 * the syscall they are blocked in, how long they have been off CPU, and their
 * stacks (kernel, Python, user registers and stack bytes), read without
 * stopping them. Each thread is written to the iterator's seq_file as one
 * struct lp_task_snapshot. */
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
// clang-format on

#include "task_snapshot.h"

/* Another task's memory: copied with its own mm (sleepable programs only). */
#define LP_PY_READ(ctx, dst, size, src) \
  bpf_copy_from_user_task((dst), (size), (const void*)(src), (struct task_struct*)(ctx)->reader, 0)
#define LP_SNAP_READ(task, dst, size, src) bpf_copy_from_user_task(dst, size, src, task, 0)

#include "py_walk.bpf.h"
#include "user_snapshot.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;

/* A lower bound of how long a thread that is not on a CPU has been off it:
 * the task clock of the run queue it last ran on, now, minus that clock when
 * it last ran (se.exec_start). Both readings come from the same run queue
 * (reached through the entity's cfs_rq: per-CPU symbols such as `runqueues`
 * are not in every kernel's kallsyms): task clocks of different CPUs drift
 * apart by their own steal and IRQ time, which is what made a reading from
 * the iterating CPU's clock overstate. The task clock leaves out steal and IRQ
 * time and an idle CPU's clock lags, so the result can only be short; it is
 * capped at the thread's age. 0 when unknown. */
static __u64 off_cpu_lower_bound(struct task_struct* task, __u64 now_ns) {
  __u64 exec_start = BPF_CORE_READ(task, se.exec_start);
  __u64 clock_task, age;

  if (!bpf_core_field_exists(((struct cfs_rq*)0)->rq) || !exec_start) return 0;
  clock_task = BPF_CORE_READ(task, se.cfs_rq, rq, clock_task);
  if (clock_task <= exec_start) return 0;
  age = now_ns > task->start_time ? now_ns - task->start_time : 0;
  return clock_task - exec_start < age ? clock_task - exec_start : age;
}

/* One record being built (too large for the BPF stack); one iteration at a
 * time per object. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct lp_task_snapshot);
} scratch SEC(".maps");

SEC("iter.s/task")
int snapshot_tasks(struct bpf_iter__task* ctx) {
  struct seq_file* seq = ctx->meta->seq;
  struct task_struct* task = ctx->task;
  struct lp_task_snapshot* s;
  struct pt_regs* regs;
  __u32 zero = 0;

  if (!task || task->tgid != target_tgid) return 0;
  s = bpf_map_lookup_elem(&scratch, &zero);
  if (!s) return 0;
  s->magic = LP_SNAPSHOT_MAGIC;
  s->tid = task->pid;
  s->state = task->__state;
  s->on_cpu = task->on_cpu;
  s->ts_ns = bpf_ktime_get_ns();
  s->fsbase = BPF_CORE_READ(task, thread.fsbase);
  s->off_cpu_ns = s->on_cpu ? 0 : off_cpu_lower_bound(task, s->ts_ns);
  bpf_probe_read_kernel_str(s->comm, sizeof(s->comm), task->comm);
  regs = (struct pt_regs*)bpf_task_pt_regs(task);
  s->syscall_nr = -1;
  if (regs) {
    s->syscall_nr = regs->orig_ax;
    s->args[0] = regs->di;
    s->args[1] = regs->si;
    s->args[2] = regs->dx;
    s->args[3] = regs->r10;
    s->args[4] = regs->r8;
    s->args[5] = regs->r9;
  }
  s->cap.type = LP_REC_CAPTURE;
  s->cap.kind = LP_CAPTURE_OFFCPU;
  s->cap.pid = target_tgid;
  s->cap.tid = s->tid;
  s->cap.seq = 0;
  s->cap.ts_ns = s->ts_ns;
  s->cap.task_state = s->state;
  s->cap.woken_tid = 0;
  s->cap.off_reason = 0;
  s->cap.kstack_bytes = bpf_get_task_stack(task, s->cap.kstack, sizeof(s->cap.kstack), 0);
  s->cap.ustack_bytes = 0;
  lp_py_walk_task(&s->cap.py, task, target_tgid);
  lp_user_snapshot_task(task, &s->cap.snap);
  bpf_seq_write(seq, s, sizeof(*s));
  return 0;
}
