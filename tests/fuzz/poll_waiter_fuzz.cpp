// /proc/PID/task/TID/syscall lines.
#include <cstddef>
#include <cstdint>
#include <string>

#include "target/target_process.hpp"

namespace {
int32_t no_memory(pid_t, uint64_t) {
  return -1;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string line(reinterpret_cast<const char*>(data), size);
  loopprof::PollWaiter waiter;
  try {
    (void)loopprof::parse_poll_waiter(line, 1, waiter, no_memory, 1);
  } catch (const std::exception&) {
    // poll_waiters() catches these: the thread is not seeded
  }
  return 0;
}
