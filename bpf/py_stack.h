/* ABI of the Python frames captured with each stack (owned by the Python
 * support: py_walk.bpf.h fills it, userspace/python/ configures the walk and
 * reads the result). Fixed-width fields only. */
#ifndef LOOPPROF_PY_STACK_H
#define LOOPPROF_PY_STACK_H

/* Frames kept per walk, leaf first, counting the C-stack shim frames of
 * 3.12+ (code == 0). */
#define LP_PY_MAX_DEPTH 64
/* Bytes of one frame read at once; every configured field lies inside. */
#define LP_PY_FRAME_WINDOW 128

enum lp_py_stack_flags {
  LP_PY_TRUNCATED = 1,  /* more frames than LP_PY_MAX_DEPTH: the root side is cut */
  LP_PY_NO_THREAD = 2,  /* the thread's PyThreadState is not in lp_py_threads (yet) */
  LP_PY_READ_FAULT = 4, /* target memory could not be read: the stack is partial */
};

enum lp_py_layout {
  LP_PY_LAYOUT_NONE = 0,         /* not configured: no walk */
  LP_PY_LAYOUT_FRAME_OBJECT = 1, /* CPython <= 3.10: PyFrameObject chain, int f_lasti */
  LP_PY_LAYOUT_INTERP_FRAME = 2, /* CPython >= 3.11: _PyInterpreterFrame chain */
};

#define LP_PY_NO_OFFSET 0xffffffffu

/* How to walk one interpreter's frames; one entry in the lp_py_config map,
 * written by userspace (userspace/python/) from its offsets table. */
struct lp_py_config {
  __u32 layout;        /* enum lp_py_layout */
  __u32 tstate_cframe; /* offset of the _PyCFrame* in PyThreadState, or LP_PY_NO_OFFSET */
  __u32 tstate_frame;  /* offset of the current frame in PyThreadState (or in _PyCFrame) */
  __u32 frame_size;    /* bytes read per frame (<= LP_PY_FRAME_WINDOW) */
  __u32 frame_previous;
  __u32 frame_code;
  __u32 frame_instr;    /* f_lasti (int) or prev_instr / instr_ptr (pointer) */
  __u32 instr_size;     /* 4 or 8 */
  __u32 frame_is_entry; /* 3.11 is_entry byte, or LP_PY_NO_OFFSET */
  __u32 frame_owner;    /* owner byte, or LP_PY_NO_OFFSET */
  __u32 owner_cstack;   /* owner value of C-stack shim frames (3.12+), or LP_PY_NO_OFFSET */
  __u32 pad;
};

/* Key of lp_py_threads: a thread of a watched process. */
struct lp_py_thread_key {
  __u32 tgid;
  __u32 pad;
  __u64 thread_id; /* pthread_t (FS base on x86_64) */
};

struct lp_py_frame {
  __u64 code;  /* PyCodeObject* in the target; 0: a C-stack shim frame (3.12+) */
  __u64 instr; /* f_lasti (<= 3.10) or the instruction pointer (3.11+), as read */
};

struct lp_py_stack {
  __u32 depth; /* frames used, leaf first; 0 = no Python frames */
  __u32 flags; /* enum lp_py_stack_flags */
  /* bit i set: frames[i] is the outermost Python frame run by one native
   * call of the eval loop (_PyEval_EvalFrameDefault): every frame <= 3.10,
   * is_entry on 3.11; on 3.12+ the frame walked before a shim frame. */
  __u64 entry_mask;
  struct lp_py_frame frames[LP_PY_MAX_DEPTH];
};

#endif
