// Test helpers: a user snapshot of the calling thread, taken the way the BPF
// side takes one (registers + stack bytes from SP upwards), and names for
// this process's addresses.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bpf/abi.hpp"

namespace loopprof::testing {

// Fills `out` with this thread's registers inside self_snapshot() (so the
// unwound chain is self_snapshot, its caller, ...) and up to `max_bytes` of
// its stack. Heap-allocate
// `out`: its bytes must not live on the stack being copied.
void self_snapshot(lp_user_snapshot* out, size_t max_bytes = LP_SNAP_STACK_BYTES);

// The bytes of this thread's stack above a whole 16 KiB `snap` (what an
// LP_REC_STACK_MORE record carries), up to `max_bytes` and the stack's top.
// Call it while the frames of `snap` are still live.
std::vector<uint8_t> self_stack_above(const lp_user_snapshot& snap,
                                      size_t max_bytes = LP_SNAP_MORE_BYTES);

// Symbol names of this process's code (libdwfl, symbol tables only).
class SelfSymbols {
 public:
  SelfSymbols();
  ~SelfSymbols();
  // The function holding `pc` ("" when unknown); return addresses are looked
  // up at pc - 1, like every frame but the leaf.
  std::string name(uint64_t pc, bool return_address) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loopprof::testing
