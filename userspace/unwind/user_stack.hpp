// Picks the user stack of a capture: the frame-pointer walk done in the kernel
// (bpf_get_stack, `ustack`) or a DWARF unwind of the snapshot (`snap`).
//
// Rule (in this order):
//  1. No snapshot, or no unwinder: the frame-pointer walk as is.
//  2. The DWARF unwind reached the outermost frame (_start, clone) or the
//     depth limit: it is exact, use it.
//  3. Otherwise trim the frame-pointer walk at its first PC outside every
//     executable mapping (past that point it follows garbage: the code has no
//     frame pointers; JIT code counts as executable, so Node's walk survives).
//     If the trimmed walk holds the last DWARF PC, splice: DWARF frames, then
//     the walk's frames above that PC (the DWARF unwind ran out of copied
//     stack where frame pointers still go on).
//  4. Else the longer of the two; the DWARF one on a tie.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "bpf/abi.hpp"
#include "unwind/dwarf_unwinder.hpp"

namespace loopprof {

enum class UserStackSource { none, frame_pointers, dwarf, dwarf_then_frame_pointers };

struct UserStack {
  std::vector<uint64_t> pcs;  // leaf first; every PC but pcs[0] is a return address
  // Frame pointer (rbp) of each frame, parallel to pcs: from the DWARF unwind,
  // 0 where unknown (frames of the kernel's frame-pointer walk).
  std::vector<uint64_t> fps;
  UserStackSource source = UserStackSource::none;
  bool reached_root = false;  // the DWARF unwind reached the outermost frame
};

// The kernel's frame-pointer walk of a capture, leaf first.
std::span<const uint64_t> frame_pointer_pcs(const lp_capture_record& record);

// Steps 2-4 of the rule, on already computed chains.
UserStack choose_user_stack(std::span<const uint64_t> frame_pointer, const UserUnwind& dwarf,
                            const std::function<bool(uint64_t)>& in_text);

// The whole rule. `unwinder` belongs to record.pid (may be null: rule 1).
// `deeper`: the stack bytes above the record's copy (LP_REC_STACK_MORE), if any.
UserStack best_user_stack(const lp_capture_record& record, DwarfUnwinder* unwinder,
                          std::span<const uint8_t> deeper = {});

inline std::vector<uint64_t> best_user_pcs(const lp_capture_record& record,
                                           DwarfUnwinder* unwinder) {
  return best_user_stack(record, unwinder).pcs;
}

}  // namespace loopprof
