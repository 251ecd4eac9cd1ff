/* Walks the current thread's Python frames into a capture. Included by
 * loopprof.bpf.c only.
 *
 * Userspace (userspace/python/) fills two maps after load: lp_py_config, the
 * frame layout of each watched process's interpreter (key: tgid), and
 * lp_py_threads, each thread's PyThreadState* keyed by its process and its
 * pthread_t (= its FS base on x86_64, which is what CPython stores as
 * PyThreadState.thread_id). Keying by thread rather than
 * taking the GIL holder finds a thread's own frames while it sleeps, waits on
 * a lock or another thread holds the GIL. */
#ifndef LOOPPROF_PY_WALK_BPF_H
#define LOOPPROF_PY_WALK_BPF_H

#include "py_stack.h"

/* How target memory is read: the current task's (bpf_probe_read_user) by
 * default; a task iterator (task_snapshot.bpf.c) defines it to read another
 * task's memory with bpf_copy_from_user_task. */
#ifndef LP_PY_READ
#define LP_PY_READ(task, dst, size, src) bpf_probe_read_user(dst, size, src)
#endif

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024); /* resized by userspace before load: watched processes */
  __type(key, __u32);        /* tgid */
  __type(value, struct lp_py_config);
} lp_py_config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, struct lp_py_thread_key);
  __type(value, __u64); /* PyThreadState* */
} lp_py_threads SEC(".maps");

/* Reads a naturally aligned field of `size` bytes (1, 4 or 8) at `off` of a
 * frame window; the masks show the verifier the access is in bounds and
 * aligned (userspace only configures aligned offsets). */
static __always_inline __u64 lp_py_field(const __u8* buf, __u32 off, __u32 size) {
  if (off > LP_PY_FRAME_WINDOW - 8) return 0;
  if (size == 8) return *(const __u64*)(buf + (off & (LP_PY_FRAME_WINDOW - 8)));
  if (size == 4) return *(const __u32*)(buf + (off & (LP_PY_FRAME_WINDOW - 4)));
  return buf[off & (LP_PY_FRAME_WINDOW - 1)];
}

static __always_inline __u64 lp_py_first_frame(struct task_struct* task,
                                               const struct lp_py_config* cfg, __u64 tstate,
                                               __u32* flags) {
  __u64 base = tstate, frame = 0;

  if (cfg->tstate_cframe != LP_PY_NO_OFFSET &&
      LP_PY_READ(task, &base, sizeof(base), (const void*)(tstate + cfg->tstate_cframe))) {
    *flags |= LP_PY_READ_FAULT;
    return 0;
  }
  if (base &&
      LP_PY_READ(task, &frame, sizeof(frame), (const void*)(base + cfg->tstate_frame)))
    *flags |= LP_PY_READ_FAULT;
  return frame;
}

struct lp_py_walk_ctx {
  struct task_struct* task; /* whose memory is read */
  const struct lp_py_config* cfg;
  struct lp_py_stack* out;
  __u64 frame; /* next frame to read, 0 at the end */
  __u64 mask;
  __u32 depth;
  __u32 flags;
};

/* One frame per bpf_loop iteration, so the verifier checks the body once.
 * C-stack shim frames (3.12+) are kept as code == 0: userspace drops them and
 * marks the Python frame walked just before as the entry of a native call. */
static long lp_py_step(__u64 index, struct lp_py_walk_ctx* c) {
  const struct lp_py_config* cfg = c->cfg;
  struct lp_py_frame* f;
  __u8 buf[LP_PY_FRAME_WINDOW];
  __u32 size = cfg->frame_size;

  if (!c->frame) return 1;
  if (index >= LP_PY_MAX_DEPTH) {
    c->flags |= LP_PY_TRUNCATED;
    return 1;
  }
  if (size == 0 || size > LP_PY_FRAME_WINDOW ||
      LP_PY_READ(c->task, buf, size & (LP_PY_FRAME_WINDOW * 2 - 1), (const void*)c->frame)) {
    c->flags |= LP_PY_READ_FAULT;
    return 1;
  }
  f = &c->out->frames[index];
  if (cfg->owner_cstack != LP_PY_NO_OFFSET &&
      lp_py_field(buf, cfg->frame_owner, 1) == cfg->owner_cstack) {
    f->code = 0;
    f->instr = 0;
  } else {
    f->code = lp_py_field(buf, cfg->frame_code, 8);
    f->instr = lp_py_field(buf, cfg->frame_instr, cfg->instr_size);
    if (cfg->layout == LP_PY_LAYOUT_FRAME_OBJECT ||
        (cfg->frame_is_entry != LP_PY_NO_OFFSET && lp_py_field(buf, cfg->frame_is_entry, 1)))
      c->mask |= 1ULL << index;
  }
  c->depth = index + 1;
  c->frame = lp_py_field(buf, cfg->frame_previous, 8);
  return 0;
}

/* The Python frames of `task` (the current task unless LP_PY_READ reads
 * others), a thread of process `tgid`. */
static __always_inline void lp_py_walk_task(struct lp_py_stack* out, struct task_struct* task,
                                            __u32 tgid) {
  struct lp_py_walk_ctx c = {.out = out, .task = task};
  struct lp_py_thread_key key = {.tgid = tgid};
  __u64* tstate;

  out->depth = 0;
  out->flags = 0;
  out->entry_mask = 0;
  c.cfg = bpf_map_lookup_elem(&lp_py_config, &tgid);
  if (!c.cfg || c.cfg->layout == LP_PY_LAYOUT_NONE) return;
  key.thread_id = BPF_CORE_READ(task, thread.fsbase);
  tstate = bpf_map_lookup_elem(&lp_py_threads, &key);
  if (!tstate) {
    out->flags = LP_PY_NO_THREAD;
    return;
  }
  c.frame = lp_py_first_frame(task, c.cfg, *tstate, &c.flags);
  bpf_loop(LP_PY_MAX_DEPTH + 1, lp_py_step, &c, 0);
  out->depth = c.depth;
  out->flags = c.flags;
  out->entry_mask = c.mask;
}

/* The current thread's Python frames; `tgid` is its process. */
static __always_inline void lp_py_walk(struct lp_py_stack* out, __u32 tgid) {
  lp_py_walk_task(out, bpf_get_current_task_btf(), tgid);
}

#endif
