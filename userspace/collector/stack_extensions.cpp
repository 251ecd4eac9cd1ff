#include "collector/stack_extensions.hpp"

#include <cstddef>
#include <cstring>

namespace loopprof {

namespace {

constexpr size_t kHeader = offsetof(lp_stack_more_record, stack);

}  // namespace

bool StackExtensions::add(const void* data, size_t size) {
  if (size < kHeader) return false;
  lp_stack_more_record header;
  std::memcpy(&header, data, kHeader);
  if (header.bytes > LP_SNAP_MORE_BYTES || header.bytes > size - kHeader) return false;
  record_bytes_ += size;
  Pending& p = pending_[static_cast<pid_t>(header.tid)];  // replaces one whose capture never came
  p.ts_ns = header.ts_ns;
  p.sp = header.sp;
  const auto* stack = static_cast<const uint8_t*>(data) + kHeader;
  p.bytes.assign(stack, stack + header.bytes);
  return true;
}

std::span<const uint8_t> StackExtensions::take(const lp_capture_record& record) {
  const uint32_t flags = record.snap.flags;
  if (flags & LP_SNAP_MORE_LOST) ++lost_;
  if (!(flags & LP_SNAP_MORE)) return {};
  auto it = pending_.find(static_cast<pid_t>(record.tid));
  if (it == pending_.end() || it->second.ts_ns != record.ts_ns ||
      it->second.sp != record.snap.regs.sp) {
    ++lost_;
    return {};
  }
  taken_ = std::move(it->second.bytes);
  pending_.erase(it);
  ++joined_;
  return taken_;
}

}  // namespace loopprof
