// What a stall's waits waited on, for its why line: the descriptor of each
// I/O wait (named when the loop thread switched out, from its syscall frame
// and first argument: "recvfrom on TCP a:p -> b:p"), and what loopprof found
// at attach for stalls already under way then (began before attach, lock
// holder, deadlock). Fed in ring-buffer order by the StallCollector.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include "bpf/abi.hpp"
#include "model/stall.hpp"
#include "target/fd_names.hpp"

namespace loopprof {

// What a look at the live threads found about a stall's lock wait: at attach
// for stalls under way then (app/busy_at_attach.hpp), or while a stall that
// began later waits on a lock (StallCollector::set_lock_inspector).
struct AttachNote {
  std::string waited_on;  // "futex on pthread mutex 0x... held by t (tid 9)"
  std::string deadlock;   // "" when the thread is in no lock cycle
  bool before_attach = true;
  uint64_t inspected_ns = 0;  // when the threads were looked at (CLOCK_MONOTONIC)
};

// The syscall of a kernel stack ("recvfrom" from __x64_sys_recvfrom), or "".
std::string syscall_of_kernel_frames(const Frames& frames);

class WaitNotes {
 public:
  explicit WaitNotes(pid_t pid) : fds_(pid) {}

  void began_before_attach(pid_t tid, uint64_t seq, AttachNote note);
  // A stall that began after attach waits on a lock: what the threads showed.
  void lock_wait_seen(pid_t tid, uint64_t seq, AttachNote note);
  // The note of busy period `seq` of `tid`, if any.
  const AttachNote* lock_note(pid_t tid, uint64_t seq) const;
  // A busy loop thread left the CPU (an LP_CAPTURE_OFFCPU record).
  void on_switch_out(const lp_capture_record& record, const Frames& frames);
  void on_resume(pid_t tid, uint64_t seq, uint64_t blocked_ns);
  // Fills began_before_attach, waited_on and deadlock.
  void apply(Stall& stall);
  void forget(pid_t tid) { periods_.erase(tid); }
  size_t threads_tracked() const { return periods_.size(); }

 private:
  struct Period {
    uint64_t seq = 0;
    std::string open;                    // the I/O wait under way ("" none)
    std::map<std::string, uint64_t> ns;  // blocked time per I/O wait
    std::unordered_map<int, std::string> fd_names;
  };

  std::unordered_map<pid_t, Period> periods_;
  std::map<std::pair<pid_t, uint64_t>, AttachNote> attach_;
  FdNamer fds_;
};

}  // namespace loopprof
