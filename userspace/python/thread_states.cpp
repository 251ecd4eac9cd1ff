#include "python/thread_states.hpp"

#include <fmt/format.h>

#include <unordered_set>

namespace loopprof::python {

namespace {
constexpr size_t kMaxInterpreters = 256;
constexpr size_t kMaxThreads = 8192;
}  // namespace

Result<std::vector<ThreadStateRef>> list_thread_states(const MemoryReader& memory,
                                                       const InterpreterLayout& layout,
                                                       uint64_t runtime) {
  auto head = memory.value<uint64_t>(runtime + layout.runtime_interpreters_head);
  if (!head)
    return Error::failed("read the interpreter list",
                         fmt::format("_PyRuntime at 0x{:x} is not readable", runtime));
  std::vector<ThreadStateRef> out;
  std::unordered_set<uint64_t> seen;
  uint64_t interp = *head;
  for (size_t i = 0; interp != 0 && i < kMaxInterpreters; i++) {
    auto tstate = memory.value<uint64_t>(interp + layout.interp_threads_head);
    while (tstate && *tstate != 0 && out.size() < kMaxThreads && seen.insert(*tstate).second) {
      auto thread_id = memory.value<uint64_t>(*tstate + layout.tstate_thread_id);
      if (thread_id && *thread_id != 0) out.push_back({*thread_id, *tstate});
      tstate = memory.value<uint64_t>(*tstate + layout.tstate_next);
    }
    auto next = memory.value<uint64_t>(interp + layout.interp_next);
    if (!next || *next == interp) break;
    interp = *next;
  }
  return out;
}

}  // namespace loopprof::python
