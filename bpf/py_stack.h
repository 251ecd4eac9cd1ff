/* ABI of the Python frames captured with each stack (owned by the Python
 * support: py_walk.bpf.h fills it, userspace/python/ reads it). */
#ifndef LOOPPROF_PY_STACK_H
#define LOOPPROF_PY_STACK_H

#define LP_PY_MAX_DEPTH 64

struct lp_py_frame {
  __u64 code;  /* PyCodeObject* in the target */
  __u64 instr; /* version-dependent instruction position (lasti or instr ptr) */
};

struct lp_py_stack {
  __u32 depth; /* frames used, leaf first; 0 = no Python frames */
  __u32 flags;
  struct lp_py_frame frames[LP_PY_MAX_DEPTH];
};

#endif
