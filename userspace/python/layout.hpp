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
  pointer,      // >= 3.11: pointer into co_code_adaptive
};

inline constexpr uint32_t kNoOffset = LP_PY_NO_OFFSET;

struct InterpreterLayout {
  PyVersion version;
  // _PyRuntime -> interpreters -> thread states
  uint32_t runtime_interpreters_head = 0;
  uint32_t interp_next = 0;
  uint32_t interp_threads_head = 0;
  uint32_t tstate_next = 0;
  uint32_t tstate_thread_id = 0;
  // Frames: what the BPF walker needs, written as-is into lp_py_config.
  lp_py_config walker{};
  // Code objects
  uint32_t code_filename = 0;
  uint32_t code_name = 0;
  uint32_t code_qualname = kNoOffset;       // < 3.11: none, co_name is used
  uint32_t code_linetable = 0;              // co_lnotab / co_linetable
  uint32_t code_firstlineno = 0;            // int
  uint32_t code_code_adaptive = kNoOffset;  // >= 3.11: first code unit
  LineTableFormat line_table = LineTableFormat::lnotab;
  InstrKind instr = InstrKind::lasti_bytes;
  // Objects
  uint32_t object_type = 8;
  uint32_t bytes_size = 16;
  uint32_t bytes_data = 32;
  uint32_t unicode_length = 16;
  uint32_t unicode_state = 32;
  uint32_t unicode_ascii_data = 48;    // sizeof(PyASCIIObject)
  uint32_t unicode_compact_data = 72;  // sizeof(PyCompactUnicodeObject)
};

// The built-in table (3.8 .. 3.12).
Result<InterpreterLayout> layout_for_version(PyVersion version);

// Size of the _Py_DebugOffsets prefix parse_debug_offsets() needs.
inline constexpr size_t kDebugOffsetsSize = 584;

// From the _Py_DebugOffsets at the start of the target's _PyRuntime (3.13+).
Result<InterpreterLayout> parse_debug_offsets(std::span<const uint8_t> raw);

}  // namespace loopprof::python
