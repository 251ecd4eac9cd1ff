/* ABI of the Python frames captured with each stack (owned by the Python
 * support: py_walk.h fills it, userspace/python/ configures the walk and
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
  LP_PY_NO_BASE = 8,    /* 3.15+: the chain ended before the thread's base frame */
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
  /* owner values >= this are no Python code: C-stack shims (3.12, 3.13: 3;
   * 3.14: CSTACK 4) and the eval loop's entry frame (3.14+: INTERPRETER 3).
   * LP_PY_NO_OFFSET: none. */
  __u32 owner_cstack;
  __u32 tstate_base_frame; /* 3.15+: the thread's sentinel frame pointer, or LP_PY_NO_OFFSET */
  /* asyncio task at capture time (LP_PY_NO_OFFSET: not captured) */
  __u32 frame_self;          /* localsplus[0] of a frame (self of Handle._run) */
  __u32 handle_callback;     /* Handle._callback slot in a Handle object */
  __u32 object_type;         /* ob_type in an object header (8; free-threaded: 24) */
  __u32 tstate_running_task; /* 3.14+: asyncio_running_task in the thread state */
  __u32 task_name;           /* the Task's name object in a Task (LP_PY_NO_OFFSET: none) */
  __u32 pad;
  __u64 ref_mask;        /* mask of f_executable / localsplus (3.14+: ~3, _PyStackRef tags) */
  __u64 handle_run_code; /* PyCodeObject* of asyncio's Handle._run once seen (0: not yet) */
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

/* The asyncio task running at capture time, as pointers into the target
 * (all 0 when none was seen). 3.14+: `task` from the thread state. Before:
 * the innermost Handle._run frame's handle, its callback and the callback's
 * type and first two fields (the Task's step wrapper holds the Task). */
struct lp_py_task_ref {
  __u64 task;
  __u64 handle;
  __u64 callback;
  __u64 callback_words[3]; /* ob_type, then the two pointers after the header */
  /* The name object of the task candidates (3.14+: task; before: the objects
   * callback_words[1] and [2] point at), read now: userspace names a task
   * only if it still has this name object (its memory was not reused). */
  __u64 name_objects[2];
};

struct lp_py_stack {
  __u32 depth; /* frames used, leaf first; 0 = no Python frames */
  __u32 flags; /* enum lp_py_stack_flags */
  /* bit i set: frames[i] is the outermost Python frame run by one native
   * call of the eval loop (_PyEval_EvalFrameDefault): every frame <= 3.10,
   * is_entry on 3.11; on 3.12+ the frame walked before a shim frame. */
  __u64 entry_mask;
  struct lp_py_task_ref task;
  struct lp_py_frame frames[LP_PY_MAX_DEPTH];
};

#endif
