// Unwinds a thread's user stack from a snapshot taken by the BPF side
// (registers + the top of its stack, bpf/user_snapshot.h) with the unwind
// tables (.eh_frame, or .debug_frame from separate debug info) of the target's
// mapped ELF files. Works on copies only: no ptrace, the target keeps running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bpf/abi.hpp"
#include "core/error.hpp"
#include "unwind/snapshot_bytes.hpp"

namespace loopprof {

struct UserUnwind {
  enum class End {
    complete,            // reached the outermost frame (_start, clone)
    snapshot_exhausted,  // the next frame lies above the copied stack bytes
    depth_limit,         // stopped at max_frames
    failed,              // no unwind info for a PC, or a corrupt stack
    no_snapshot,         // the capture carries no registers
  };
  // Leaf first: pcs[0] is the interrupted instruction, the others are return
  // addresses (symbolize them with return_address = true).
  std::vector<uint64_t> pcs;
  // The frame pointer register (rbp) of each frame, parallel to pcs; 0 when
  // the unwind did not recover it. JIT code (V8) keeps its frame there.
  std::vector<uint64_t> fps;
  End end = End::no_snapshot;
  uint32_t stack_used = 0;  // bytes of the copied stack the unwind read (from sp)
  std::string error;        // why the unwind ended early (End::failed)
};

struct DwarfUnwinderOptions {
  size_t max_frames = LP_MAX_STACK_DEPTH;
  // A PC outside every known executable mapping re-reads /proc/PID/maps
  // (dlopen'ed libraries) at most this often.
  std::chrono::milliseconds refresh_interval{1000};
};

// One per target process; keeps the parsed unwind tables of its modules
// across calls. Not thread-safe.
class DwarfUnwinder {
 public:
  // Reads /proc/PID/maps and reports the process's ELF files (opened
  // through /proc/PID/root, so targets in other mount namespaces work).
  static Result<std::unique_ptr<DwarfUnwinder>> create(pid_t pid,
                                                       DwarfUnwinderOptions options = {});
  ~DwarfUnwinder();
  DwarfUnwinder(const DwarfUnwinder&) = delete;
  DwarfUnwinder& operator=(const DwarfUnwinder&) = delete;

  // `snapshot`: a capture's snapshot, with the deeper stack bytes joined to it.
  UserUnwind unwind(const SnapshotBytes& snapshot, pid_t tid);
  // True when `address` lies in an executable mapping of the target (ELF
  // file, vDSO, or anonymous JIT code) as of the last refresh.
  bool in_text(uint64_t address) const;
  // Re-reads the memory map now.
  Status refresh();

  struct State;  // libdwfl handles and callback state (dwarf_unwinder.cpp)

 private:
  explicit DwarfUnwinder(std::unique_ptr<State> state);
  bool maybe_refresh();  // refresh() unless one ran within refresh_interval
  UserUnwind run(const SnapshotBytes& snapshot, pid_t tid);
  UserUnwind checked_run(const SnapshotBytes& snapshot, pid_t tid);
  bool recover(UserUnwind& out, const SnapshotBytes& snapshot, pid_t tid);
  std::unique_ptr<State> state_;
};

}  // namespace loopprof
