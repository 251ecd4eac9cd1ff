// The BPF frame walk (bpf/py_walk.h) run in userspace against any memory:
// what the unit tests and the fuzz target exercise, and the same code the
// kernel runs at each capture.
#pragma once

#include <cstdint>

#include "bpf/abi.hpp"
#include "python/memory.hpp"

namespace loopprof::python {

// Walks the frames of the thread whose PyThreadState is at `tstate`, exactly
// as the BPF walker does (leaf first, at most LP_PY_MAX_DEPTH frames).
lp_py_stack walk_thread_twin(const MemoryReader& memory, const lp_py_config& config,
                             uint64_t tstate);

}  // namespace loopprof::python
