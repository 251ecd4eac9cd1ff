// How long each asyncio callback step held its loop, grouped by the coroutine
// or callback it ran (the Python frame just under Handle._run). Estimated
// from what a busy period's captures show: each CPU sample stands for one
// sampling period of the callback it caught, each off-CPU interval for its
// measured length.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/frame.hpp"

namespace loopprof {

struct CallbackRow {
  std::string callback;  // "function (file.py)"
  uint64_t count = 0;    // steps seen
  uint64_t total_ns = 0;
  uint64_t p50_ns = 0;
  uint64_t p99_ns = 0;
  uint64_t max_ns = 0;
};

// The callback a loop thread's stack is running ("" if none is recognised).
std::string callback_of(const Frames& frames);

class CallbackStats {
 public:
  // precise: steps come from on_step() (uprobes); captures only name them.
  CallbackStats(uint64_t sample_period_ns, bool precise)
      : sample_period_ns_(sample_period_ns), precise_(precise) {}

  // Precise mode: a capture of `tid` at ts_ns ran `callback`.
  void note_callback(pid_t tid, uint64_t ts_ns, std::string callback);
  // Precise mode: one callback step, timed by the uprobes.
  void on_step(pid_t tid, uint64_t start_ns, uint64_t end_ns);
  bool precise() const { return precise_; }

  void on_sample(pid_t tid, uint64_t seq, const Frames& frames);
  void on_off_cpu(pid_t tid, uint64_t seq, const std::string& callback, uint64_t off_ns);
  // The thread exited: its open busy period is closed, its state dropped.
  void forget(pid_t tid);
  // Heaviest total first.
  std::vector<CallbackRow> rows() const;

  // Step times kept per callback for the quantiles: beyond this, a uniform
  // sample of them (count, total and max stay exact).
  static constexpr size_t kKeptSteps = 4096;
  size_t threads_tracked() const { return open_.size() + last_seen_.size(); }

 private:
  struct OpenSteps {
    uint64_t seq = 0;
    std::map<std::string, uint64_t> ns;  // callback -> time in this busy period
  };
  OpenSteps& open(pid_t tid, uint64_t seq);
  void close(OpenSteps& steps);

  // Step times of one callback: exact totals, a bounded uniform sample.
  struct StepTimes {
    uint64_t count = 0;
    uint64_t total_ns = 0;
    uint64_t max_ns = 0;
    std::vector<uint64_t> kept;
  };
  void add_step(const std::string& callback, uint64_t ns);
  uint64_t next_random();

  struct Seen {
    uint64_t ts_ns = 0;
    std::string callback;
  };
  uint64_t sample_period_ns_;
  bool precise_;
  std::unordered_map<pid_t, Seen> last_seen_;  // precise mode
  std::unordered_map<pid_t, OpenSteps> open_;
  std::map<std::string, StepTimes> steps_;
  uint64_t random_state_ = 0x9e3779b97f4a7c15ull;  // deterministic: same input, same rows
};

}  // namespace loopprof
