/* ABI of the user registers and stack bytes copied at capture time for
 * DWARF unwinding in userspace (owned by the unwinder: user_snapshot.bpf.h
 * fills it, userspace/unwind/ reads it).
 *
 * Size choice: 16 KiB of stack (a power of two, 4 chunks of one page). perf's
 * default --call-graph dwarf dump is 8 KiB; 16 KiB also covers interpreter
 * stacks (CPython's _PyEval_EvalFrameDefault frames are large) down to main()
 * in the common case. A capture record is then ~20 KiB, so the 8 MiB ring
 * buffer holds ~400 unread captures. The copy never runs past the end of the
 * stack mapping (bpf_find_vma), and userspace can lower it (or turn it off)
 * with the `lp_snap_max_bytes` const volatile.
 * Measured (2-vCPU VM under load, bpf_ktime_get_ns around the snapshot):
 * registers only ~0.1-0.3 us; 4 KiB ~0.9-1.9 us; a main thread's 8-10 KiB
 * ~2-3.4 us per capture. Debian's python3.11 asyncio stack unwinds to _start
 * in 19-23 frames using 2.6 KiB of the copy.
 *
 * Deep stacks (Node's main thread, deep recursion): when the thread's stack
 * mapping goes on above the 16 KiB copy, up to LP_SNAP_MORE_BYTES more of it
 * (the copy is then as deep as the stack, 64 KiB at most) travel in an
 * LP_REC_STACK_MORE record (loopprof.h) reserved right before the capture and
 * joined to it in userspace by (tid, ts_ns). Sized by the stack itself
 * (bpf_find_vma): a shallow thread pays nothing, a deep one is whole from its
 * first capture.
 */
#ifndef LOOPPROF_USER_SNAPSHOT_H
#define LOOPPROF_USER_SNAPSHOT_H

#define LP_SNAP_STACK_BYTES 16384
#define LP_SNAP_CHUNK_BYTES 4096 /* one page: the copy granularity */
/* The System V x86_64 red zone: 128 bytes below sp that a function may use
 * without moving sp (signal handlers skip it). Unwind rules can point there:
 * OpenSSL's SHA-512 AVX2 loop keeps its caller's stack pointer at [rsp - 8]
 * (CFA = DW_OP_breg7 -8; deref; +8). */
#define LP_SNAP_RED_ZONE_BYTES 128
/* The stack above the capture's copy (LP_REC_STACK_MORE): at most this much,
 * in records of one of two sizes (ring-buffer space is reserved by size). */
#define LP_SNAP_MORE_BYTES 49152
#define LP_SNAP_MORE_SMALL_BYTES 16384

enum lp_snap_flags {
  LP_SNAP_REGS = 1,      /* `regs` hold the thread's user registers */
  LP_SNAP_TRUNCATED = 2, /* the copy stopped before the requested size (unmapped page) */
  LP_SNAP_DISABLED = 4,  /* snapshots turned off by configuration */
  LP_SNAP_RED_ZONE = 8,  /* `red_zone` holds the bytes below regs.sp */
  LP_SNAP_MORE = 16,     /* an LP_REC_STACK_MORE record before this capture goes on from the copy */
  LP_SNAP_MORE_LOST = 32, /* the stack went on above the copy, but its LP_REC_STACK_MORE record
                             did not fit in the ring buffer */
};

/* The thread's user registers, in DWARF register number order for x86_64
 * (System V psABI): rax rdx rcx rbx rsi rdi rbp rsp r8..r15, then rip (16). */
struct lp_user_regs {
  __u64 ax, dx, cx, bx, si, di, bp, sp;
  __u64 r8, r9, r10, r11, r12, r13, r14, r15;
  __u64 ip;
};

struct lp_user_snapshot {
  __u32 stack_bytes; /* bytes of `stack` copied from regs.sp upwards; 0 = none */
  __u32 flags;       /* enum lp_snap_flags */
  struct lp_user_regs regs;
  __u8 red_zone[LP_SNAP_RED_ZONE_BYTES]; /* [regs.sp - 128, regs.sp), with LP_SNAP_RED_ZONE */
  __u8 stack[LP_SNAP_STACK_BYTES];
};

#endif
