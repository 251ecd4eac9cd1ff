// Finding the CPython interpreter inside a target process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "python/layout.hpp"
#include "python/memory.hpp"

namespace loopprof::python {

// The ELF (libpython3.X.so or a python executable) that holds the runtime.
struct InterpreterImage {
  std::string path;                       // as in /proc/PID/maps
  uint64_t bias = 0;                      // load address - ELF virtual address
  uint64_t runtime = 0;                   // &_PyRuntime in the target
  uint64_t code_type = 0;                 // &PyCode_Type in the target (0: unknown)
  uint64_t py_version = 0;                // &Py_Version in the target (3.11+; 0: absent)
  std::optional<PyVersion> name_version;  // from the file name (python3.9, libpython3.9.so)
};

// "libpython3.10.so.1.0" -> 3.10; "python3.9" -> 3.9; otherwise nullopt.
std::optional<PyVersion> version_from_file_name(const std::string& path);

// Looks for _PyRuntime in the python-named ELF files mapped by `pid`
// (.symtab, else .dynsym: a stripped Debian python3 still exports it).
// Returns nullopt when the process has no Python at all, an Error when it
// maps a python-named ELF without _PyRuntime (Python 2, 3.6 and older).
Result<std::optional<InterpreterImage>> find_interpreter(pid_t pid);

// 3.14+: the _AsyncioDebug table (section .AsyncioDebug of the _asyncio
// module, or of libpython where _asyncio is built in); empty if not mapped.
std::vector<uint8_t> find_asyncio_debug(pid_t pid);

// The version and layout of the interpreter: _Py_DebugOffsets (3.13+),
// else Py_Version (3.11+), else the file name, then the built-in table.
Result<InterpreterLayout> interpreter_layout(const MemoryReader& memory,
                                             const InterpreterImage& image);

}  // namespace loopprof::python
