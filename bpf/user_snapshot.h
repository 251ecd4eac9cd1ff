/* ABI of the user registers and stack bytes copied at capture time for
 * DWARF unwinding in userspace (owned by the unwinder: user_snapshot.bpf.h
 * fills it, userspace/unwind/ reads it). */
#ifndef LOOPPROF_USER_SNAPSHOT_H
#define LOOPPROF_USER_SNAPSHOT_H

struct lp_user_snapshot {
  __u32 stack_bytes; /* bytes of `stack` copied from regs.sp upwards; 0 = none */
  __u32 flags;
};

#endif
