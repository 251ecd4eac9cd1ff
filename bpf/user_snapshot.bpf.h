/* Copies user registers and the top of the user stack into a capture (stub:
 * filled in by the DWARF unwinder support). Included by loopprof.bpf.c only. */
#ifndef LOOPPROF_USER_SNAPSHOT_BPF_H
#define LOOPPROF_USER_SNAPSHOT_BPF_H

#include "user_snapshot.h"

static __always_inline void lp_user_snapshot(void* ctx, struct lp_user_snapshot* out) {
  out->stack_bytes = 0;
  out->flags = 0;
}

#endif
