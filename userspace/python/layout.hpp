// Where things are in one CPython version's memory: the only place that
// knows about versions. Every other part of the Python support reads this.
#pragma once

#include <compare>
#include <cstdint>
#include <span>
#include <string>

#include "bpf/abi.hpp"
#include "core/error.hpp"

namespace loopprof::python {

struct PyVersion {
  int major = 0;
  int minor = 0;
  int micro = 0;
  int release_level = 0xf;  // 0xa alpha, 0xb beta, 0xc candidate, 0xf final

  auto operator<=>(const PyVersion&) const = default;
  std::string str() const;
  // From PY_VERSION_HEX (Py_Version, _Py_DebugOffsets.version): 0x030b07f0.
  static PyVersion from_hex(uint64_t hex);
};

enum class LineTableFormat : uint8_t {
  lnotab,        // <= 3.9: (byte delta, line delta) pairs, Objects/lnotab_notes.txt
  linetable310,  // 3.10: (byte delta, line delta or -128) pairs
  locations311,  // >= 3.11: location table, InternalDocs/locations.md
};

enum class InstrKind : uint8_t {
  lasti_bytes,  // <= 3.9: f_lasti, a byte offset
  lasti_units,  // 3.10: f_lasti, an index in 2-byte code units
  pointer,      // >= 3.11: pointer into co_code_adaptive (3.14t: or into co_tlbc)
};

inline constexpr uint32_t kNoOffset = LP_PY_NO_OFFSET;

// Where asyncio keeps its tasks (3.14+: the _AsyncioDebug table; before: the
// C _asyncio Task's fields, measured on each interpreter).
struct AsyncioLayout {
  uint32_t task_name = kNoOffset;  // PyObject*: a str, or (3.12+) an int n for "Task-n"
  uint32_t task_coro = kNoOffset;
  uint32_t task_awaited_by = kNoOffset;         // 3.14+: a task/future, or a set of them
  uint32_t task_awaited_by_is_set = kNoOffset;  // 3.14+: char
  uint32_t task_is_task = kNoOffset;            // 3.14+: char, FutureObj.fut_is_task
  uint32_t task_callback0 = kNoOffset;       // < 3.14: fut_callback0, the first awaiter's wake-up
  uint32_t tstate_running_task = kNoOffset;  // 3.14+
  bool available() const { return task_name != kNoOffset; }
};

struct InterpreterLayout {
  PyVersion version;
  bool free_threaded = false;
  // _PyRuntime -> interpreters -> thread states
  uint32_t runtime_interpreters_head = 0;
  uint32_t interp_next = 0;
  uint32_t interp_threads_head = 0;
  uint32_t tstate_next = 0;
  uint32_t tstate_thread_id = 0;
  // Frames: what the BPF walker needs, written as-is into lp_py_config.
  lp_py_config walker{};
  // A frame's localsplus[] (locals, then the evaluation stack), 3.8 .. 3.13.
  uint32_t frame_localsplus = kNoOffset;
  // Code objects
  uint32_t code_filename = 0;
  uint32_t code_name = 0;
  uint32_t code_qualname = kNoOffset;       // < 3.11: none, co_name is used
  uint32_t code_linetable = 0;              // co_lnotab / co_linetable
  uint32_t code_firstlineno = 0;            // int
  uint32_t code_code_adaptive = kNoOffset;  // >= 3.11: first code unit
  uint32_t code_tlbc = kNoOffset;           // 3.14t: _PyCodeArray* of thread-local copies
  LineTableFormat line_table = LineTableFormat::lnotab;
  InstrKind instr = InstrKind::lasti_bytes;
  // Objects
  uint32_t object_size = 16;  // sizeof(PyObject): ob_size of a PyVarObject follows
  uint32_t object_type = 8;
  uint32_t type_name = 24;   // tp_name (const char*)
  uint32_t type_base = 256;  // tp_base (< 3.14 only: not in the debug offsets)
  uint32_t bytes_size = 16;
  uint32_t bytes_data = 32;
  uint32_t unicode_length = 16;
  uint32_t unicode_state = 32;
  uint32_t unicode_ascii_data = 48;    // sizeof(PyASCIIObject)
  uint32_t unicode_compact_data = 72;  // sizeof(PyCompactUnicodeObject)
  uint32_t long_tag = kNoOffset;       // 3.12+: lv_tag (digit count << 3 | sign)
  uint32_t long_digit = kNoOffset;     // ob_digit (3.8-3.11: ob_size holds the count)
  uint32_t gen_name = kNoOffset;       // 3.14+: gi_name of a coroutine
  uint32_t set_table = kNoOffset;      // 3.14+: PySetObject
  uint32_t set_mask = kNoOffset;
  AsyncioLayout asyncio;
};

// The built-in table (3.8 .. 3.12).
Result<InterpreterLayout> layout_for_version(PyVersion version);

// Bytes of _Py_DebugOffsets read from the start of _PyRuntime: enough for
// every version's table (3.15: 888).
inline constexpr size_t kDebugOffsetsReadSize = 1024;
// Size of the 3.13 table (the smallest one).
inline constexpr size_t kDebugOffsetsSize = 584;

// From the _Py_DebugOffsets at the start of the target's _PyRuntime (3.13+):
// the field list of the table's own minor version, checked (cookie,
// version, group sizes, every field inside its struct).
Result<InterpreterLayout> parse_debug_offsets(std::span<const uint8_t> raw);

// Bytes of the _AsyncioDebug table (3.14+: section .AsyncioDebug).
inline constexpr size_t kAsyncioDebugSize = 13 * 8;
// Fills layout.asyncio from it; an Error leaves the layout unchanged.
Status parse_asyncio_debug(std::span<const uint8_t> raw, InterpreterLayout& layout);

}  // namespace loopprof::python
