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
  auto dwarf_stack = [&](UserStackSource source) {
    UserStack out{dwarf.pcs, dwarf.fps, source, dwarf.end == End::complete};
    out.fps.resize(out.pcs.size(), 0);
    return out;
  };
  if (!dwarf.pcs.empty() && (dwarf.end == End::complete || dwarf.end == End::depth_limit))
    return dwarf_stack(UserStackSource::dwarf);

  size_t valid = 0;
  while (valid < frame_pointer.size() && in_text(frame_pointer[valid])) ++valid;
  const auto fp = frame_pointer.first(valid);

  if (!dwarf.pcs.empty()) {
    const auto at = std::find(fp.begin(), fp.end(), dwarf.pcs.back());
    if (at != fp.end() && at + 1 != fp.end()) {
      UserStack spliced = dwarf_stack(UserStackSource::dwarf_then_frame_pointers);
      spliced.pcs.insert(spliced.pcs.end(), at + 1, fp.end());
      spliced.pcs.resize(std::min<size_t>(spliced.pcs.size(), LP_MAX_STACK_DEPTH));
      spliced.fps.resize(spliced.pcs.size(), 0);
      return spliced;
    }
  }
  if (!dwarf.pcs.empty() && dwarf.pcs.size() >= fp.size())
    return dwarf_stack(UserStackSource::dwarf);
  auto walk = [](std::span<const uint64_t> pcs) {
    return UserStack{{pcs.begin(), pcs.end()},
                     std::vector<uint64_t>(pcs.size(), 0),
                     UserStackSource::frame_pointers};
  };
  if (!fp.empty()) return walk(fp);
  // Nothing is known text (e.g. JIT code): the raw walk beats nothing.
  if (!frame_pointer.empty()) return walk(frame_pointer);
  return {};
}

UserStack best_user_stack(const lp_capture_record& record, DwarfUnwinder* unwinder) {
  const auto fp = frame_pointer_pcs(record);
  if (!unwinder || !(record.snap.flags & LP_SNAP_REGS)) {
    if (fp.empty()) return {};
    return {{fp.begin(), fp.end()},
            std::vector<uint64_t>(fp.size(), 0),
            UserStackSource::frame_pointers};
  }
  const UserUnwind dwarf = unwinder->unwind(record.snap, static_cast<pid_t>(record.tid));
  return choose_user_stack(fp, dwarf, [unwinder](uint64_t pc) { return unwinder->in_text(pc); });
}

}  // namespace loopprof
