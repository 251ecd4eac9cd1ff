// Why a busy loop thread was off CPU: splits the kernel's per-reason off-CPU
// totals of a busy period into the stall breakdown (telling GIL waits from
// other futex waits by the take_gil frame of the switch-out stack) and
// collects the wakers of its blocked intervals. Fed in ring-buffer order;
// knows nothing of BPF, so it is unit tested with synthetic sequences.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bpf/abi.hpp"
#include "model/stall.hpp"

namespace loopprof {

using CauseTimes = std::array<uint64_t, LP_OFF_COUNT>;  // ns by enum lp_off_reason

// A wake-up of a blocked busy loop thread (from an LP_REC_WAKE record).
struct WakeEvent {
  pid_t waker_tid = 0;
  std::string waker_thread;  // name to report
  uint64_t blocked_ns = 0;
  uint32_t reason = LP_OFF_OTHER;
  uint32_t flags = 0;  // enum lp_wake_flags
};

// Does this switch-out stack wait for the Python GIL?
bool is_gil_wait(const Frames& frames);

class CauseTracker {
 public:
  void on_switch_out(pid_t tid, uint64_t seq, const Frames& frames, uint32_t reason);
  void on_wake(pid_t tid, uint64_t seq, WakeEvent wake);
  // The stack of the waker of the last on_wake of `woken`.
  void on_waker_stack(pid_t woken, uint64_t seq, pid_t waker, Frames frames);
  void on_resume(pid_t tid, uint64_t seq, uint64_t blocked_ns);
  // Fills stall.breakdown and stall.wakers; finish() forgets the period.
  void finish(Stall& stall, const CauseTimes& cause);
  void ongoing(Stall& stall, const CauseTimes& cause) const;
  void forget(pid_t tid) { threads_.erase(tid); }
  size_t threads_tracked() const { return threads_.size(); }

 private:
  struct PendingWake {
    WakeEvent wake;
    bool gil = false;
    Frames frames;
  };
  struct Period {
    uint64_t seq = 0;
    bool open_gil = false;    // the current off-CPU interval waits for the GIL
    uint64_t gil_ns = 0;      // blocked time of GIL waits
    uint64_t chained_ns = 0;  // futex waits that timed out, to give to the next waker
    bool chained_gil = false;
    std::optional<PendingWake> pending;
    std::map<std::pair<pid_t, Frames>, Waker> wakers;
  };

  Period& period(pid_t tid, uint64_t seq);
  static void settle(Period& p);
  static void fill(const Period& p, Stall& stall, const CauseTimes& cause, bool with_chained);

  std::unordered_map<pid_t, Period> threads_;
};

}  // namespace loopprof
