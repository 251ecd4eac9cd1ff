// The DWARF unwinder's memory callbacks: a stack snapshot (registers and
// stack bytes) as the BPF side copies it from the target, unwound against
// this process's own modules.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "unwind/dwarf_unwinder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<loopprof::DwarfUnwinder> unwinder = [] {
    auto created = loopprof::DwarfUnwinder::create(getpid());
    return created ? std::move(created).value() : nullptr;
  }();
  if (!unwinder) return 0;
  static const uint64_t text = reinterpret_cast<uint64_t>(&LLVMFuzzerTestOneInput);
  lp_user_snapshot snapshot{};
  std::memcpy(&snapshot, data, std::min(size, sizeof(snapshot)));
  snapshot.flags |= LP_SNAP_REGS;
  // Half the inputs start inside real code, so unwinding gets past frame one.
  if (size > 0 && (data[0] & 1)) snapshot.regs.ip = text + (snapshot.regs.ip & 0xfff);
  (void)unwinder->unwind(snapshot, getpid());
  return 0;
}
