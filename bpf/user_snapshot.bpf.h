/* Copies the current thread's user registers and the top of its user stack
 * into a capture, for DWARF (.eh_frame) unwinding in userspace. Included by
 * loopprof.bpf.c only.
 *
 * The registers come from the task's user pt_regs (the top of its kernel
 * stack), valid in both capture contexts: at sched_switch the thread is in the
 * kernel on behalf of a syscall or an interrupt and pt_regs hold its user
 * state at entry; in a perf_event sample that interrupted user mode they are
 * the interrupted state (the IRQ/NMI entry saves them there too). */
#ifndef LOOPPROF_USER_SNAPSHOT_BPF_H
#define LOOPPROF_USER_SNAPSHOT_BPF_H

#include "user_snapshot.h"

/* How the stack is read: the current task's memory by default; a task
 * iterator (task_snapshot.bpf.c) reads another task's with
 * bpf_copy_from_user_task. */
#ifndef LP_SNAP_READ
#define LP_SNAP_READ(task, dst, size, src) bpf_probe_read_user(dst, size, src)
#endif

/* Bytes of stack to copy per capture (at most
 * LP_SNAP_STACK_BYTES); 0 disables snapshots. Set by userspace before load. */
const volatile __u32 lp_snap_max_bytes = LP_SNAP_STACK_BYTES;

static __always_inline void lp_copy_user_regs(struct lp_user_regs* out, struct pt_regs* regs) {
  out->ax = regs->ax;
  out->dx = regs->dx;
  out->cx = regs->cx;
  out->bx = regs->bx;
  out->si = regs->si;
  out->di = regs->di;
  out->bp = regs->bp;
  out->sp = regs->sp;
  out->r8 = regs->r8;
  out->r9 = regs->r9;
  out->r10 = regs->r10;
  out->r11 = regs->r11;
  out->r12 = regs->r12;
  out->r13 = regs->r13;
  out->r14 = regs->r14;
  out->r15 = regs->r15;
  out->ip = regs->ip;
}

struct lp_stack_vma {
  __u64 end;
};

static long lp_stack_vma_cb(struct task_struct* task, struct vm_area_struct* vma, void* data) {
  ((struct lp_stack_vma*)data)->end = vma->vm_end;
  return 0;
}

/* Bytes from sp to the end of its mapping (the top of the stack, for a
 * stack mapping), or 0 when bpf_find_vma cannot tell. */
static __always_inline __u64 lp_stack_extent(struct task_struct* task, __u64 sp) {
  struct lp_stack_vma vma = {};

  if (bpf_find_vma(task, sp, lp_stack_vma_cb, &vma, 0) || vma.end <= sp) return 0;
  return vma.end - sp;
}

/* Bytes that can be copied from sp: up to the end of its mapping when
 * bpf_find_vma could tell (`extent`; a read running past it would fault, and
 * a faulting read costs ~1.5 us), else the whole request. */
static __always_inline __u64 lp_stack_room(__u64 extent, __u64 want) {
  return extent && extent < want ? extent : want;
}

/* Copies [sp, sp + want) chunk by chunk into at most `chunks` chunks of
 * `dst` (a constant at every call site), `want` already bounded by the stack
 * mapping. A chunk that still fails (a non-resident page, or a mapping
 * bpf_find_vma could not see) is retried up to its page end, then the copy
 * stops. */
static __always_inline __u32 lp_copy_user_stack(struct task_struct* task, __u8* dst, __u64 sp,
                                                __u64 want, __u32* flags, __u32 chunks) {
  __u32 copied = 0;

  for (__u32 i = 0; i < chunks; i++) {
    __u64 src = sp + (__u64)i * LP_SNAP_CHUNK_BYTES;
    __u8* chunk = dst + i * LP_SNAP_CHUNK_BYTES;
    __u64 size = want - copied, to_page_end;

    if (copied >= want) break;
    if (size > LP_SNAP_CHUNK_BYTES) size = LP_SNAP_CHUNK_BYTES;
    if (!LP_SNAP_READ(task, chunk, size, (const void*)src)) {
      copied += size;
      continue;
    }
    *flags |= LP_SNAP_TRUNCATED;
    to_page_end = LP_SNAP_CHUNK_BYTES - (src & (LP_SNAP_CHUNK_BYTES - 1));
    if (to_page_end < size && !LP_SNAP_READ(task, chunk, to_page_end, (const void*)src))
      copied += to_page_end;
    break;
  }
  return copied;
}

/* The user stack pointer of `task` (0: no user state, e.g. a kernel thread). */
static __always_inline __u64 lp_user_sp(struct task_struct* task) {
  struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(task);

  return regs && (regs->cs & 3) == 3 ? regs->sp : 0;
}

/* The user registers and stack of `task` (the current task unless LP_SNAP_READ
 * reads others; for a task that is not current its saved user registers:
 * exact while it is blocked in the kernel). `extent`: lp_stack_extent() of
 * its sp, 0 if unknown. */
static __always_inline void lp_user_snapshot_extent(struct task_struct* task,
                                                    struct lp_user_snapshot* out, __u64 extent) {
  struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(task);
  __u32 flags = 0;
  __u64 want;

  out->stack_bytes = 0;
  if (!lp_snap_max_bytes) {
    out->flags = LP_SNAP_DISABLED;
    return;
  }
  if (!regs || (regs->cs & 3) != 3) { /* no user state (kernel thread) */
    out->flags = 0;
    return;
  }
  lp_copy_user_regs(&out->regs, regs);
  flags = LP_SNAP_REGS;
  want = lp_stack_room(
      extent, lp_snap_max_bytes < LP_SNAP_STACK_BYTES ? lp_snap_max_bytes : LP_SNAP_STACK_BYTES);
  out->stack_bytes = lp_copy_user_stack(task, out->stack, out->regs.sp, want, &flags,
                                        LP_SNAP_STACK_BYTES / LP_SNAP_CHUNK_BYTES);
  /* Same page as sp in all but 1 of 32 cases; a failed read just leaves the
   * flag off (the unwinder then treats the red zone as unreadable). */
  if (out->stack_bytes && !LP_SNAP_READ(task, out->red_zone, LP_SNAP_RED_ZONE_BYTES,
                                        (const void*)(out->regs.sp - LP_SNAP_RED_ZONE_BYTES)))
    flags |= LP_SNAP_RED_ZONE;
  out->flags = flags;
}

static __always_inline void lp_user_snapshot_task(struct task_struct* task,
                                                  struct lp_user_snapshot* out) {
  __u64 sp = lp_user_sp(task);

  lp_user_snapshot_extent(task, out, sp ? lp_stack_extent(task, sp) : 0);
}

/* ---- deep stacks: the stack above a full copy (LP_REC_STACK_MORE) ---------- */

/* Bytes of stack above the copy worth sending (at most LP_SNAP_MORE_BYTES);
 * 0 turns deep stacks off. Set by userspace before load. */
const volatile __u32 lp_snap_more_max_bytes = LP_SNAP_MORE_BYTES;

/* Bytes of the stack above a full copy, from the stack's `extent` above sp
 * (lp_stack_extent: 0 when unknown, then none). */
static __always_inline __u64 lp_stack_more_wanted(__u64 extent) {
  __u64 more;

  if (lp_snap_max_bytes < LP_SNAP_STACK_BYTES || extent <= LP_SNAP_STACK_BYTES) return 0;
  more = extent - LP_SNAP_STACK_BYTES;
  if (more > lp_snap_more_max_bytes) more = lp_snap_more_max_bytes;
  return more < LP_SNAP_MORE_BYTES ? more : LP_SNAP_MORE_BYTES;
}

/* Copies [sp + LP_SNAP_STACK_BYTES, + want) into a record with `chunks`
 * chunks of `stack` reserved (a constant at each call site). */
static __always_inline void lp_fill_stack_more(struct task_struct* task,
                                               struct lp_stack_more_record* m, __u64 sp, __u64 want,
                                               __u32 chunks) {
  __u32 flags = 0;

  m->sp = sp;
  m->bytes = lp_copy_user_stack(task, m->stack, sp + LP_SNAP_STACK_BYTES, want, &flags, chunks);
}

#endif
