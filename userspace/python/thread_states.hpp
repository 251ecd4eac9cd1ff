// The target's interpreters and PyThreadStates, from _PyRuntime's lists.
#pragma once

#include <cstdint>
#include <vector>

#include "core/error.hpp"
#include "python/layout.hpp"
#include "python/memory.hpp"

namespace loopprof::python {

struct ThreadStateRef {
  uint64_t thread_id = 0;  // PyThreadState.thread_id: pthread_self(), the FS base
  uint64_t tstate = 0;     // PyThreadState*
  bool operator==(const ThreadStateRef&) const = default;
};

// Every PyInterpreterState of the runtime, in list order (bounded and
// cycle-safe; empty if the list head cannot be read).
std::vector<uint64_t> list_interpreters(const MemoryReader& memory, const InterpreterLayout& layout,
                                        uint64_t runtime);

// Every thread state of every interpreter. Bounded and cycle-safe: a list
// that changes under our feet gives a partial answer, not a hang.
Result<std::vector<ThreadStateRef>> list_thread_states(const MemoryReader& memory,
                                                       const InterpreterLayout& layout,
                                                       uint64_t runtime);

}  // namespace loopprof::python
