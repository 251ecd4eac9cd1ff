// What loopprof reports: a stall of one loop thread and the stacks it spent
// its time in.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/frame.hpp"

namespace loopprof {

enum class CpuState : uint8_t { on_cpu, off_cpu };

const char* cpu_state_name(CpuState state);

// A stack and the stall time spent in it (microseconds).
struct WeightedStack {
  Frames frames;
  uint64_t weight_us = 0;
  CpuState state = CpuState::on_cpu;
};

// Where a stall's time went: on CPU, or off CPU by what the thread waited
// for. Adds up to the stall's duration.
struct Breakdown {
  uint64_t on_cpu_ns = 0;
  uint64_t runqueue_ns = 0;  // runnable, waiting for a CPU
  uint64_t lock_ns = 0;      // futex waits other than the GIL
  uint64_t gil_ns = 0;       // waiting for the Python GIL
  uint64_t sleep_ns = 0;
  uint64_t io_ns = 0;
  uint64_t other_ns = 0;
};

// The largest part of a breakdown: "lock", "gil", "on_cpu", ...
const char* main_cause(const Breakdown& breakdown);

// Who woke a blocked loop thread, and the blocked time that wake-up ended.
struct Waker {
  pid_t tid = 0;       // 0: no task (interrupt, timer)
  std::string thread;  // thread name, or "[timer]" / "[interrupt]"
  Frames frames;       // the waker's stack at the wake-up (empty if not captured)
  uint64_t blocked_ns = 0;
  bool gil = false;  // the wait was for the GIL: the waker held it
};

// The asyncio Task a stall ran in.
struct TaskInfo {
  std::string name;                     // "billing-sync", "Task-3" ("" if unreadable)
  std::string coroutine;                // its coroutine's function: "sync_accounts"
  std::vector<std::string> awaited_by;  // the tasks awaiting it, outermost first
  auto operator<=>(const TaskInfo&) const = default;
  bool operator==(const TaskInfo&) const = default;
};

// "Task "billing-sync" (sync_accounts, awaited by main)".
std::string task_text(const TaskInfo& task);

struct Stall {
  pid_t pid = 0;
  pid_t tid = 0;
  std::string thread;     // thread name (comm)
  uint64_t seq = 0;       // busy-period number of this thread
  uint64_t start_ns = 0;  // CLOCK_MONOTONIC
  uint64_t duration_ns = 0;
  uint64_t on_cpu_ns = 0;
  uint64_t off_cpu_ns = 0;
  bool ongoing = false;               // the loop is still blocked
  bool thread_exited = false;         // the busy period ended with the thread's exit
  bool at_exit = false;               // still ongoing when loopprof stopped: its last report
  std::vector<WeightedStack> stacks;  // weights add up to duration (in us)
  Breakdown breakdown;
  std::vector<Waker> wakers;  // most blocked time first
  // Already under way when loopprof attached: duration_ns is a lower bound
  // (from the scheduler's view of the blocking wait, else from attach).
  bool began_before_attach = false;
  // What the longest wait waited on: "recvfrom on TCP a:p -> b:p", "read on
  // pipe:[N]", "futex on pthread mutex 0x... held by t (tid N)" ("" unknown).
  std::string waited_on;
  std::string deadlock;          // "t1 (tid 1) waits on t2 (tid 2), which waits on t1 (tid 1)"
  std::optional<TaskInfo> task;  // the asyncio Task that ran most of it (none: a plain callback)
};

}  // namespace loopprof
