/* The Python frame walk, shared by the BPF side (py_walk.bpf.h) and its
 * userspace twin (userspace/python/walker_twin.cpp, used by the unit tests
 * and the fuzz target): plain C with one memory-read primitive supplied by
 * the includer,
 *   LP_PY_READ(ctx, dst, size, addr)  -> 0 on success,
 * so tests and fuzzing run the very code the kernel runs.
 *
 * Every read may fail or return garbage: a failed read ends the walk with
 * LP_PY_READ_FAULT, the depth is bounded, and userspace checks each code
 * object it is given (type, sizes, line table) before naming a frame. */
#ifndef LOOPPROF_PY_WALK_H
#define LOOPPROF_PY_WALK_H

#include "py_stack.h"

#ifndef LP_INLINE
#define LP_INLINE static inline __attribute__((always_inline))
#endif

#ifndef LP_PY_READ
#error "define LP_PY_READ(ctx, dst, size, addr) before including py_walk.h"
#endif

struct lp_py_walk_ctx {
  const struct lp_py_config* cfg;
  struct lp_py_stack* out;
  void* reader; /* userspace twin: its memory reader; unused in BPF */
  __u64 frame;  /* next frame to read, 0 at the end */
  __u64 base;   /* 3.15+: the thread's sentinel frame (0: none) */
  __u64 mask;
  __u32 depth;
  __u32 flags;
  __u32 reached_base;
  __u32 pad;
};

/* Reads a naturally aligned field of `size` bytes (1, 4 or 8) at `off` of a
 * frame window; the masks show the verifier the access is in bounds and
 * aligned (userspace only configures aligned offsets). */
LP_INLINE __u64 lp_py_field(const __u8* buf, __u32 off, __u32 size) {
  if (off > LP_PY_FRAME_WINDOW - 8) return 0;
  if (size == 8) return *(const __u64*)(buf + (off & (LP_PY_FRAME_WINDOW - 8)));
  if (size == 4) return *(const __u32*)(buf + (off & (LP_PY_FRAME_WINDOW - 4)));
  return buf[off & (LP_PY_FRAME_WINDOW - 1)];
}

/* Reads one pointer of the target (0 on a fault, which is flagged). */
LP_INLINE __u64 lp_py_read_ptr(struct lp_py_walk_ctx* c, __u64 addr) {
  __u64 v = 0;

  if (LP_PY_READ(c, &v, sizeof(v), addr)) {
    c->flags |= LP_PY_READ_FAULT;
    return 0;
  }
  return v;
}

/* The thread's first frame (and, 3.15+, its base frame; 3.14+, its running
 * asyncio task). */
LP_INLINE void lp_py_walk_begin(struct lp_py_walk_ctx* c, __u64 tstate) {
  const struct lp_py_config* cfg = c->cfg;
  __u64 base = tstate;

  c->out->depth = 0;
  c->out->flags = 0;
  c->out->entry_mask = 0;
  c->out->task.task = 0;
  c->out->task.handle = 0;
  c->out->task.callback = 0;
  c->out->task.name_objects[0] = 0;
  c->out->task.name_objects[1] = 0;
  c->frame = 0;
  if (cfg->tstate_cframe != LP_PY_NO_OFFSET) base = lp_py_read_ptr(c, tstate + cfg->tstate_cframe);
  if (base) c->frame = lp_py_read_ptr(c, base + cfg->tstate_frame);
  if (cfg->tstate_base_frame != LP_PY_NO_OFFSET)
    c->base = lp_py_read_ptr(c, tstate + cfg->tstate_base_frame);
  if (cfg->tstate_running_task != LP_PY_NO_OFFSET)
    c->out->task.task = lp_py_read_ptr(c, tstate + cfg->tstate_running_task);
  if (c->out->task.task && cfg->task_name != LP_PY_NO_OFFSET)
    c->out->task.name_objects[0] = lp_py_read_ptr(c, c->out->task.task + cfg->task_name);
}

/* The name object of a task candidate, without flagging a fault (the
 * candidate may be no object at all). */
LP_INLINE __u64 lp_py_name_object(struct lp_py_walk_ctx* c, __u64 task) {
  __u64 v = 0;

  if (!task || c->cfg->task_name == LP_PY_NO_OFFSET ||
      LP_PY_READ(c, &v, sizeof(v), task + c->cfg->task_name))
    return 0;
  return v;
}

/* Before 3.14: the Handle._run frame's handle, its callback and the
 * callback's type and first two fields, read now (the step wrapper dies with
 * the step; userspace names the task later). */
LP_INLINE void lp_py_task_from_handle(struct lp_py_walk_ctx* c, const __u8* buf, __u32 size) {
  const struct lp_py_config* cfg = c->cfg;
  struct lp_py_task_ref* t = &c->out->task;
  __u64 self = 0, cb;

  if (cfg->frame_self + 8 <= size)
    self = lp_py_field(buf, cfg->frame_self, 8);
  else
    self = lp_py_read_ptr(c, c->frame + cfg->frame_self);
  self &= cfg->ref_mask;
  if (!self) return;
  t->handle = self;
  cb = lp_py_read_ptr(c, self + cfg->handle_callback);
  if (!cb) return;
  t->callback = cb;
  if (LP_PY_READ(c, t->callback_words, sizeof(t->callback_words), cb + cfg->object_type)) {
    c->flags |= LP_PY_READ_FAULT;
    return;
  }
  t->name_objects[0] = lp_py_name_object(c, t->callback_words[1]);
  t->name_objects[1] = lp_py_name_object(c, t->callback_words[2]);
}

/* One frame per call (one bpf_loop iteration in BPF). Returns 1 to stop.
 * Frames that are no Python code (owner >= owner_cstack: C-stack shims, the
 * eval loop's entry frame) are kept as code == 0: userspace drops them and
 * marks the Python frame walked just before as the entry of a native call. */
static long lp_py_step(__u64 index, struct lp_py_walk_ctx* c) {
  const struct lp_py_config* cfg = c->cfg;
  struct lp_py_frame* f;
  __u8 buf[LP_PY_FRAME_WINDOW];
  __u32 size = cfg->frame_size;

  if (!c->frame) return 1;
  if (c->base && c->frame == c->base) {
    c->reached_base = 1;
    return 1;
  }
  if (index >= LP_PY_MAX_DEPTH) {
    c->flags |= LP_PY_TRUNCATED;
    return 1;
  }
  if (size == 0 || size > LP_PY_FRAME_WINDOW ||
      LP_PY_READ(c, buf, size & (LP_PY_FRAME_WINDOW * 2 - 1), c->frame)) {
    c->flags |= LP_PY_READ_FAULT;
    return 1;
  }
  f = &c->out->frames[index & (LP_PY_MAX_DEPTH - 1)];
  if (cfg->owner_cstack != LP_PY_NO_OFFSET &&
      lp_py_field(buf, cfg->frame_owner, 1) >= cfg->owner_cstack) {
    f->code = 0;
    f->instr = 0;
  } else {
    f->code = lp_py_field(buf, cfg->frame_code, 8) & cfg->ref_mask;
    f->instr = lp_py_field(buf, cfg->frame_instr, cfg->instr_size);
    if (cfg->layout == LP_PY_LAYOUT_FRAME_OBJECT ||
        (cfg->frame_is_entry != LP_PY_NO_OFFSET && lp_py_field(buf, cfg->frame_is_entry, 1)))
      c->mask |= 1ULL << index;
    if (cfg->frame_self != LP_PY_NO_OFFSET && cfg->handle_run_code &&
        f->code == cfg->handle_run_code && !c->out->task.handle)
      lp_py_task_from_handle(c, buf, size);
  }
  c->depth = index + 1;
  c->frame = lp_py_field(buf, cfg->frame_previous, 8);
  return 0;
}

LP_INLINE void lp_py_walk_end(struct lp_py_walk_ctx* c) {
  if (c->base && !c->reached_base && !(c->flags & (LP_PY_TRUNCATED | LP_PY_READ_FAULT)))
    c->flags |= LP_PY_NO_BASE;
  c->out->depth = c->depth;
  c->out->flags = c->flags;
  c->out->entry_mask = c->mask;
}

#endif
