#include "python/thread_states.hpp"

#include <fmt/format.h>

#include <unordered_set>

namespace loopprof::python {

namespace {
constexpr size_t kMaxInterpreters = 256;
constexpr size_t kMaxThreads = 8192;
}  // namespace

std::vector<uint64_t> list_interpreters(const MemoryReader& memory, const InterpreterLayout& layout,
                                        uint64_t runtime) {
  std::vector<uint64_t> out;
  std::unordered_set<uint64_t> seen;
  auto interp = memory.value<uint64_t>(runtime + layout.runtime_interpreters_head);
  while (interp && *interp != 0 && out.size() < kMaxInterpreters && seen.insert(*interp).second) {
    out.push_back(*interp);
    interp = memory.value<uint64_t>(*interp + layout.interp_next);
  }
  return out;
}

Result<std::vector<ThreadStateRef>> list_thread_states(const MemoryReader& memory,
                                                       const InterpreterLayout& layout,
                                                       uint64_t runtime) {
  if (!memory.value<uint64_t>(runtime + layout.runtime_interpreters_head))
    return Error::failed("read the interpreter list",
                         fmt::format("_PyRuntime at 0x{:x} is not readable", runtime));
  std::vector<ThreadStateRef> out;
  std::unordered_set<uint64_t> seen;
  for (uint64_t interp : list_interpreters(memory, layout, runtime)) {
    auto tstate = memory.value<uint64_t>(interp + layout.interp_threads_head);
    while (tstate && *tstate != 0 && out.size() < kMaxThreads && seen.insert(*tstate).second) {
      auto thread_id = memory.value<uint64_t>(*tstate + layout.tstate_thread_id);
      if (thread_id && *thread_id != 0) out.push_back({*thread_id, *tstate});
      tstate = memory.value<uint64_t>(*tstate + layout.tstate_next);
    }
  }
  return out;
}

}  // namespace loopprof::python
