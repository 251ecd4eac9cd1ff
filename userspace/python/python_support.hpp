// Python-aware stacks for a CPython target: the per-process piece of the
// Python support. Lifecycle, with the loopprof BPF object:
//   open skeleton -> load -> PythonSupport::attach(pid, obj) -> attach programs
//   for each capture: frames = python->merge(native_frames, record.py)
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bpf/abi.hpp"
#include "core/error.hpp"
#include "model/frame.hpp"
#include "python/asyncio_tasks.hpp"
#include "python/code_objects.hpp"
#include "python/interpreter.hpp"
#include "python/layout.hpp"
#include "python/library_paths.hpp"
#include "python/memory.hpp"
#include "python/merge.hpp"
#include "python/rlocks.hpp"

struct bpf_object;

namespace loopprof::python {

struct PythonStats {
  uint64_t captures = 0;           // merge() calls with Python frames
  uint64_t frames = 0;             // Python frames named
  uint64_t unreadable_frames = 0;  // code objects that could not be read (dropped)
  uint64_t unknown_threads = 0;    // captures of a thread not yet in the map
  uint64_t read_faults = 0;        // walks the BPF side cut on a memory fault
  uint64_t truncated = 0;          // walks cut at LP_PY_MAX_DEPTH
  uint64_t thread_refreshes = 0;
  uint64_t incomplete = 0;  // 3.15+: walks that did not reach the thread's base frame
  uint64_t tasks = 0;       // captures named with their asyncio Task
};

class PythonSupport {
 public:
  // Call after the BPF object is loaded (it fills the lp_py_config and
  // lp_py_threads maps). Returns nullptr when `pid` runs no CPython; an Error
  // when it does but this version cannot be walked (print it as a warning:
  // stacks stay native-only). The object must outlive the PythonSupport.
  static Result<std::unique_ptr<PythonSupport>> attach(pid_t pid, bpf_object* obj);

  // Removes this process's entries from the BPF maps.
  ~PythonSupport();
  PythonSupport(const PythonSupport&) = delete;
  PythonSupport& operator=(const PythonSupport&) = delete;

  // "CPython 3.12.1 (/usr/lib/libpython3.12.so.1.0)"
  std::string description() const;
  // "cpython-3.12": the runtime label of the agent's metrics.
  std::string runtime_label() const;

  // The Python frames of a capture, named and cut into eval-call runs.
  // Re-reads the thread list when the BPF side did not know the thread.
  PythonStack resolve(const lp_py_stack& py);

  // Native frames (root first) with the eval frames replaced by the Python
  // frames of the capture: what the collector should output.
  Frames merge(const Frames& native_root_first, const lp_py_stack& py);

  // The frames the per-callback table needs from a capture, named without
  // naming the rest of its stack: asyncio's Handle._run (the leafmost one)
  // and the first Python frame leafward of it, root first; empty when the
  // Python frames hold no Handle._run. nullopt when that cannot be told this
  // way (Handle._run not known yet, a thread the walker did not know):
  // resolve() the whole capture then.
  std::optional<Frames> step_frames(const lp_py_stack& py);

  // TID -> the name the program gave the thread (Python `threading`), for
  // the threads that have one; read now from the target's memory.
  std::unordered_map<pid_t, std::string> thread_names() const;

  // The threading.RLock the thread with ident `thread_id` (its
  // pthread_self()) waits for while it sleeps on the futex word at `futex`,
  // with its owner's ident (nullopt: not an RLock wait, or not readable).
  std::optional<RLockWait> rlock_waited_on(uint64_t thread_id, uint64_t futex) const;

  // The asyncio Task a capture ran in (nullopt: none, or not readable).
  // `frames`: the capture's merged frames, which name the coroutine before 3.14.
  std::optional<TaskInfo> task(const lp_py_stack& py, const Frames& frames);

  // True once the BPF walker knows asyncio's Handle._run code object (before
  // 3.14 it is learned from the first capture that shows it), so captures
  // carry the handle their Task is found from.
  bool knows_handle_run() const { return layout_.walker.handle_run_code != 0; }

  // Re-reads the interpreter's thread list into lp_py_threads.
  Status refresh_threads();

  const InterpreterLayout& layout() const { return layout_; }
  const LibraryPaths& libraries() const { return libraries_; }

  const PythonStats& stats() const { return stats_; }

 private:
  PythonSupport(pid_t pid, InterpreterImage image, InterpreterLayout layout, int config_fd,
                int threads_fd, LibraryPaths libraries);
  // Tells the BPF walker (once) where asyncio's Handle._run code lives.
  void learn_handle_run(uint64_t code, const CodeInfo& info);
  // Before 3.14: looks Handle._run up in the target's memory (asyncio
  // imported), so the first capture already carries its Task.
  void find_handle_run();
  // 3.14+: reads the _AsyncioDebug table once the _asyncio module is mapped.
  void find_asyncio_table();
  Status write_config();

  // This process's keys in lp_py_threads.
  std::vector<lp_py_thread_key> thread_keys() const;

  pid_t pid_;
  InterpreterImage image_;
  InterpreterLayout layout_;
  int config_fd_;
  int threads_fd_;
  ProcessMemory memory_;
  CodeObjects code_;
  LibraryPaths libraries_;
  AsyncioTasks tasks_;
  std::chrono::steady_clock::time_point last_asyncio_try_{};
  std::chrono::steady_clock::time_point last_handle_run_try_{};
  PythonStats stats_;
  std::chrono::steady_clock::time_point last_refresh_{};
};

}  // namespace loopprof::python
