// Every thread of a process right now, read without stopping it: state, the
// syscall it is blocked in and on what (descriptor, lock and its holder), how
// long, its stack (Python, native, kernel), and whether it runs an event
// loop. Used by `loopprof dump` and to find loops already busy at attach.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpf/abi.hpp"
#include "bpf/task_snapshot_session.hpp"
#include "collector/stack_resolver.hpp"
#include "core/error.hpp"
#include "model/frame.hpp"
#include "model/stall.hpp"
#include "python/python_support.hpp"
#include "symbols/symbolizer.hpp"
#include "target/fd_names.hpp"
#include "unwind/dwarf_unwinder.hpp"

namespace loopprof {

struct LiveThread {
  pid_t tid = 0;
  uint64_t thread_pointer = 0;         // its FS base: pthread_self(), Python's thread ident
  std::string name;                    // as the program names it (Python threading), else comm
  std::string comm;                    // OS thread name
  std::string state;                   // "running", "runnable", "blocked", "stopped"
  long syscall_nr = -1;                // blocked: the syscall it is in (-1: none)
  std::string syscall;                 // its name
  uint64_t args[6] = {};               // its arguments
  int fd = -1;                         // the descriptor it waits on (-1: none)
  std::string fd_name;                 // what that descriptor is
  uint64_t futex = 0;                  // the futex word it waits on (0: none)
  std::string lock_kind;               // "pthread mutex", "GIL", "RLock", "Python lock (...)"
  pid_t lock_holder = 0;               // the thread holding that lock, when known
  uint32_t off_reason = LP_OFF_OTHER;  // enum lp_off_reason of its blocked state
  uint64_t in_state_ns = 0;            // a lower bound of the time in this state (0: unknown)
  Frames frames;                       // root first
  std::optional<TaskInfo> task;        // the asyncio Task running on it (Python 3.8+)
  bool python = false;                 // has Python frames
  std::string loop;           // the event loop it runs ("asyncio", "libuv", ...), "" if none
  bool in_loop_wait = false;  // idle, in its loop's own wait
  uint32_t wait_family = LP_WAIT_NONE;  // its poll-family wait, if it is in one
  lp_capture_record capture{};          // the raw stacks (for the profiler's assembler)

  // "recvfrom on TCP 127.0.0.1:41830 -> 127.0.0.1:8081", "futex 0x... (pthread
  // mutex held by tid 12)", "clock_nanosleep", "" when not blocked.
  std::string waiting_on(const std::vector<LiveThread>& all) const;
};

struct LiveProcess {
  pid_t pid = 0;
  std::vector<LiveThread> threads;
  pid_t gil_holder = 0;  // inferred: the only Python thread on a CPU outside a GIL wait
  std::vector<std::vector<pid_t>> deadlocks;  // cycles of lock waits (lock_graph.hpp)
  double snapshot_ms = 0;                     // time the kernel-side snapshot took

  const LiveThread* find(pid_t tid) const;
  // "thread name (tid N)"
  std::string describe(pid_t tid) const;
  // "tid 12 (a) waits on tid 13 (b), which waits on tid 12 (a)", or "" if
  // `tid` is in no cycle.
  std::string deadlock_of(pid_t tid) const;
};

class ThreadInspector {
 public:
  static Result<std::unique_ptr<ThreadInspector>> open(pid_t pid);
  // Borrows the caller's symbolizers and unwinder (they must outlive it).
  static Result<std::unique_ptr<ThreadInspector>> open(pid_t pid, KernelSymbolizer& kernel,
                                                       ProcessSymbolizer& process,
                                                       DwarfUnwinder* unwinder);
  Result<LiveProcess> inspect();
  const python::PythonSupport* python() const { return python_.get(); }

 private:
  ThreadInspector(pid_t pid) : pid_(pid), fds_(pid) {}
  static Result<std::unique_ptr<ThreadInspector>> start(pid_t pid);
  LiveThread describe(lp_task_snapshot& snapshot);
  // Python lock waits that are RLock waits: kind "RLock", holder its owner.
  void find_rlock_owners(std::vector<LiveThread>& threads) const;

  pid_t pid_;
  std::unique_ptr<TaskSnapshotSession> session_;
  std::unique_ptr<python::PythonSupport> python_;
  std::unique_ptr<KernelSymbolizer> kernel_;
  std::unique_ptr<ProcessSymbolizer> process_;
  std::unique_ptr<DwarfUnwinder> unwinder_;
  std::unique_ptr<StackResolver> resolver_;
  FdNamer fds_;
};

// The event loop a stack runs, from its frames: "asyncio", "uvloop",
// "libuv", "Node.js", "GLib", "libevent", "ae", or "" (see README).
std::string loop_runtime_of(const Frames& frames);

}  // namespace loopprof
