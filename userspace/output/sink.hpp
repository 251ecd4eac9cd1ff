// Output formats behind one interface: each sink sees every stall as it is
// reported and the summary at the end.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "latency/callback_stats.hpp"
#include "latency/histogram.hpp"
#include "model/stall.hpp"

namespace loopprof {

struct LoopThreadSummary {
  pid_t tid = 0;
  std::string thread;
  uint64_t iterations = 0;
  uint64_t stalls = 0;
  uint64_t blocked_ns = 0;
  uint64_t worst_ns = 0;
  uint64_t busy_ns = 0;  // between loop waits
  uint64_t idle_ns = 0;  // in the loop's own wait
  uint64_t busy_max_ns = 0;
  Log2Histogram busy_hist;  // busy time per iteration (loop lag)
  double utilization() const {
    return busy_ns + idle_ns ? static_cast<double>(busy_ns) / (busy_ns + idle_ns) : 0;
  }
};

// Where one thread of the target spent its time while traced.
struct ThreadTimes {
  pid_t tid = 0;
  std::string thread;
  uint64_t running_ns = 0;
  uint64_t runqueue_ns = 0;  // runnable, waiting for a CPU
  uint64_t futex_ns = 0;     // locks, conditions, GIL
  uint64_t sleep_ns = 0;
  uint64_t io_ns = 0;
  uint64_t other_ns = 0;
  uint64_t idle_ns = 0;  // loop threads: in the loop's own wait
  Log2Histogram runq_hist;
  Log2Histogram futex_hist;
};

struct Summary {
  pid_t pid = 0;
  std::string command;
  std::string runtime;  // "CPython 3.11.2 (/usr/bin/python3.11)", "Node.js ...", "" (native)
  double wall_seconds = 0;
  uint64_t threshold_ns = 0;
  uint64_t stalls = 0;
  uint64_t blocked_ns = 0;
  std::vector<Stall> worst;                  // heaviest first (a few)
  std::vector<LoopThreadSummary> loops;      // per loop thread, worst first, bounded
  std::vector<ThreadTimes> threads;          // busiest first, at most SummaryBuilder::kThreadRows
  size_t loops_not_shown = 0;                // loop threads beyond `loops`
  size_t threads_not_shown = 0;              // threads beyond `threads`
  ThreadTimes threads_not_shown_times;       // their times added up (tid 0)
  size_t threads_exited = 0;                 // threads that exited while traced
  std::map<std::string, uint64_t> map_full;  // per-thread map -> updates lost (map full)
  uint32_t max_threads = 0;                  // size of the per-thread maps
  uint64_t missed_switch_ins = 0;            // repaired scheduler events (see BpfSession)
  std::vector<CallbackRow> callbacks;        // per coroutine / callback
  std::string callback_method;               // how callback times were measured
  std::vector<TaskRow> tasks;                // per asyncio Task (same method)
  std::vector<Stall> ongoing_at_exit;        // loops still blocked when we stopped
  std::map<std::string, uint64_t> dropped;   // record kind -> records lost
  std::string stop_reason;                   // "target exited", "interrupted", ...
};

class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void stall(const Stall& stall) = 0;
  // Writes what is left and makes the output complete.
  virtual Status finish(const Summary& summary) = 0;
};

// Human report on a stream (stdout): a line per stall, a summary at the end.
std::unique_ptr<OutputSink> make_text_report(FILE* stream, bool verbose);
// Folded stacks of final stalls: "frame;frame;...;leaf WEIGHT_US" per line.
Result<std::unique_ptr<OutputSink>> make_folded_writer(const std::string& path);
// JSON Lines, one object per stall (and a summary object at the end).
Result<std::unique_ptr<OutputSink>> make_jsonl_writer(const std::string& path);

// The frame most worth naming for a stall: of each stack, the deepest frame
// of the application's own Python code and the library call beneath it
// ("main (app.py:5) -> subprocess.run -> _PollLikeSelector.select"), else the
// deepest Python frame, else the deepest named user frame; the one that most
// of the stall's stack time names (markers such as "[off-cpu, no stack]"
// only when no stack names anything).
std::string stall_culprit(const Stall& stall);
// The same for any stack (a waker's).
std::string frames_culprit(const Frames& frames);
// "lock 298.0 ms, on-cpu 1.2 ms": the breakdown's parts, largest first.
std::string breakdown_text(const Breakdown& breakdown);
// "woken by thread cache-writer (tid 42) in flush_cache (cache.py:88)".
std::string waker_text(const Waker& waker);

}  // namespace loopprof
