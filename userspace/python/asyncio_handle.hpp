// Where asyncio's Handle._run code object lives in the target, read from its
// memory: sys.modules["asyncio.events"].Handle._run.__code__ (CPython 3.8 ..
// 3.13). Before 3.14 the BPF walker finds a capture's Task through the
// Handle._run frame's handle, so it must know that code object before the
// first capture, not learn it from one.
#pragma once

#include <cstdint>
#include <optional>

#include "python/layout.hpp"
#include "python/memory.hpp"

namespace loopprof::python {

// The address of Handle._run's code object in the first interpreter that has
// imported asyncio; nullopt when none has, the version is not in the table,
// or memory does not read as the layout says. The caller checks that the
// address is a code object named `_run` in asyncio/events.py.
std::optional<uint64_t> find_handle_run_code(const MemoryReader& memory,
                                             const InterpreterLayout& layout, uint64_t runtime);

}  // namespace loopprof::python
