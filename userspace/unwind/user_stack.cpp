#include "unwind/user_stack.hpp"

#include <algorithm>

namespace loopprof {

std::span<const uint64_t> frame_pointer_pcs(const lp_capture_record& record) {
  if (record.ustack_bytes <= 0) return {};
  const size_t n = std::min<size_t>(static_cast<size_t>(record.ustack_bytes) / sizeof(uint64_t),
                                    LP_MAX_STACK_DEPTH);
  return {reinterpret_cast<const uint64_t*>(record.ustack), n};
}

UserStack choose_user_stack(std::span<const uint64_t> frame_pointer, const UserUnwind& dwarf,
                            const std::function<bool(uint64_t)>& in_text) {
  using End = UserUnwind::End;
  if (!dwarf.pcs.empty() && (dwarf.end == End::complete || dwarf.end == End::depth_limit))
    return {dwarf.pcs, UserStackSource::dwarf};

  size_t valid = 0;
  while (valid < frame_pointer.size() && in_text(frame_pointer[valid])) ++valid;
  const auto fp = frame_pointer.first(valid);

  if (!dwarf.pcs.empty()) {
    const auto at = std::find(fp.begin(), fp.end(), dwarf.pcs.back());
    if (at != fp.end() && at + 1 != fp.end()) {
      UserStack spliced{dwarf.pcs, UserStackSource::dwarf_then_frame_pointers};
      spliced.pcs.insert(spliced.pcs.end(), at + 1, fp.end());
      spliced.pcs.resize(std::min<size_t>(spliced.pcs.size(), LP_MAX_STACK_DEPTH));
      return spliced;
    }
  }
  if (!dwarf.pcs.empty() && dwarf.pcs.size() >= fp.size())
    return {dwarf.pcs, UserStackSource::dwarf};
  if (!fp.empty()) return {{fp.begin(), fp.end()}, UserStackSource::frame_pointers};
  // Nothing is known text (e.g. JIT code): the raw walk beats nothing.
  if (!frame_pointer.empty())
    return {{frame_pointer.begin(), frame_pointer.end()}, UserStackSource::frame_pointers};
  return {};
}

UserStack best_user_stack(const lp_capture_record& record, DwarfUnwinder* unwinder) {
  const auto fp = frame_pointer_pcs(record);
  if (!unwinder || !(record.snap.flags & LP_SNAP_REGS)) {
    if (fp.empty()) return {};
    return {{fp.begin(), fp.end()}, UserStackSource::frame_pointers};
  }
  const UserUnwind dwarf = unwinder->unwind(record.snap, static_cast<pid_t>(record.tid));
  return choose_user_stack(fp, dwarf, [unwinder](uint64_t pc) { return unwinder->in_text(pc); });
}

}  // namespace loopprof
