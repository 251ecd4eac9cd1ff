/* ABI of a snapshot of one thread of the target, written by the task
 * iterator (task_snapshot.bpf.c) and read by userspace/target/ (dump, and the
 * loops already busy at attach). Fixed-width fields only. */
#ifndef LOOPPROF_TASK_SNAPSHOT_H
#define LOOPPROF_TASK_SNAPSHOT_H

#include "loopprof.h"

#define LP_SNAPSHOT_MAGIC 0x4c50534eu /* "LPSN": one per record, checks the stream */

struct lp_task_snapshot {
  __u32 magic;
  __u32 tid;
  __s64 state;  /* __state: 0 running or runnable */
  __u32 on_cpu; /* running on a CPU right now */
  __u32 pad;
  __s64 syscall_nr; /* orig_ax of the saved registers (-1: none) */
  __u64 args[6];    /* the syscall's arguments (di si dx r10 r8 r9) */
  __u64 off_cpu_ns; /* a lower bound of the time off CPU (0: unknown or on CPU) */
  __u64 ts_ns;      /* bpf_ktime_get_ns() at the snapshot */
  __u64 fsbase;     /* thread.fsbase: a glibc thread's pthread_self() (Python's thread ident) */
  char comm[16];
  /* Stacks, as a capture of the profiler: kernel stack, Python frames, user
   * registers and stack bytes (no frame-pointer walk: the kernel does not
   * walk another task's user stack). */
  struct lp_capture_record cap;
};

#endif
