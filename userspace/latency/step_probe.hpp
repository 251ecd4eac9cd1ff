// Precise mode: where the interpreter's callback entry point lives. CPython's
// asyncio runs every callback step through Context.run (context_run in
// Python/context.c), so one uprobe pair on it times every step.
#pragma once

#include <sys/types.h>

#include <string>

namespace loopprof {

inline constexpr const char* kStepSymbol = "context_run";

// The ELF holding the interpreter of `pid`: its mapped libpython, else its
// executable ("" if neither can be read).
std::string python_runtime_binary(pid_t pid);

}  // namespace loopprof
