/* Walks the current thread's Python frames into a capture (stub: filled in by
 * the Python support). Included by loopprof.bpf.c only. */
#ifndef LOOPPROF_PY_WALK_BPF_H
#define LOOPPROF_PY_WALK_BPF_H

#include "py_stack.h"

static __always_inline void lp_py_walk(struct lp_py_stack* out, __u32 tid) {
  out->depth = 0;
  out->flags = 0;
}

#endif
