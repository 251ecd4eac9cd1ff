// The names a Python program gives its threads: `threading._active` maps each
// thread's ident to its Thread object, whose `_name` is what the program calls
// it and `_native_id` its TID. Read from the target's memory (3.8 .. 3.13;
// 3.14 and later name their OS threads themselves).
#pragma once

#include <sys/types.h>

#include <string>
#include <unordered_map>

#include "python/layout.hpp"
#include "python/memory.hpp"

namespace loopprof::python {

// TID -> threading name, for every interpreter of the process. Empty when the
// version is not in the table, `threading` was never imported, or memory does
// not read as the layout says (a name is never guessed).
std::unordered_map<pid_t, std::string> threading_names(const MemoryReader& memory,
                                                       const InterpreterLayout& layout,
                                                       uint64_t runtime);

}  // namespace loopprof::python
