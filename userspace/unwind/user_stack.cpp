#include "unwind/user_stack.hpp"

#include <algorithm>
#include <cstring>

#include "unwind/snapshot_bytes.hpp"

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

namespace {

// Frame pointers of frames that came from the kernel's frame-pointer walk
// (recorded as 0): where the caller's return address sits at [fp + 8] of
// the frame below, the caller's frame pointer is [fp], read from the copy.
void fill_frame_pointers(UserStack& stack, const SnapshotBytes& snap) {
  auto word = [&](uint64_t address, uint64_t& out) {
    return read_snapshot(snap, address, &out, sizeof(out));
  };
  if (!stack.fps.empty() && stack.fps[0] == 0) stack.fps[0] = snap.snap.regs.bp;
  for (size_t i = 1; i < stack.pcs.size(); i++) {
    if (stack.fps[i] != 0 || stack.fps[i - 1] == 0) continue;
    uint64_t ret = 0, caller_fp = 0;
    if (word(stack.fps[i - 1] + 8, ret) && ret == stack.pcs[i] && word(stack.fps[i - 1], caller_fp))
      stack.fps[i] = caller_fp;
  }
}

}  // namespace

UserStack best_user_stack(const lp_capture_record& record, DwarfUnwinder* unwinder,
                          std::span<const uint8_t> deeper) {
  const auto fp = frame_pointer_pcs(record);
  if (!unwinder || !(record.snap.flags & LP_SNAP_REGS)) {
    if (fp.empty()) return {};
    return {{fp.begin(), fp.end()},
            std::vector<uint64_t>(fp.size(), 0),
            UserStackSource::frame_pointers};
  }
  const SnapshotBytes bytes(record.snap, deeper);
  const UserUnwind dwarf = unwinder->unwind(bytes, static_cast<pid_t>(record.tid));
  UserStack stack =
      choose_user_stack(fp, dwarf, [unwinder](uint64_t pc) { return unwinder->in_text(pc); });
  if (stack.source != UserStackSource::dwarf) fill_frame_pointers(stack, bytes);
  return stack;
}

}  // namespace loopprof
