/* Walks the current thread's Python frames into a capture. Included by
 * loopprof.bpf.c only; the walk itself is py_walk.h, shared with the
 * userspace twin the tests run.
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

/* How target memory is read: the current task's (bpf_probe_read_user) by
 * default; a task iterator (task_snapshot.bpf.c) defines it to read the task
 * in the walk context's `reader` with bpf_copy_from_user_task. */
#ifndef LP_PY_READ
#define LP_PY_READ(ctx, dst, size, addr) bpf_probe_read_user((dst), (size), (const void*)(addr))
#endif
#include "py_walk.h"

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

/* The Python frames of `task` (the current task unless LP_PY_READ reads
 * others), a thread of process `tgid`. */
static __always_inline void lp_py_walk_task(struct lp_py_stack* out, struct task_struct* task,
                                            __u32 tgid) {
  struct lp_py_walk_ctx c = {.out = out, .reader = task};
  struct lp_py_thread_key key = {.tgid = tgid};
  __u64* tstate;

  out->depth = 0;
  out->flags = 0;
  out->entry_mask = 0;
  out->task.task = 0;
  out->task.handle = 0;
  c.cfg = bpf_map_lookup_elem(&lp_py_config, &tgid);
  if (!c.cfg || c.cfg->layout == LP_PY_LAYOUT_NONE) return;
  key.thread_id = BPF_CORE_READ(task, thread.fsbase);
  tstate = bpf_map_lookup_elem(&lp_py_threads, &key);
  if (!tstate) {
    out->flags = LP_PY_NO_THREAD;
    return;
  }
  lp_py_walk_begin(&c, *tstate);
  bpf_loop(LP_PY_MAX_DEPTH + 1, lp_py_step, &c, 0);
  lp_py_walk_end(&c);
}

/* The current thread's Python frames; `tgid` is its process. */
static __always_inline void lp_py_walk(struct lp_py_stack* out, __u32 tgid) {
  lp_py_walk_task(out, bpf_get_current_task_btf(), tgid);
}

#endif
