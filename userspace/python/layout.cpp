#include "python/layout.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

namespace loopprof::python {

std::string PyVersion::str() const {
  return micro >= 0 ? fmt::format("{}.{}.{}", major, minor, micro)
                    : fmt::format("{}.{}", major, minor);
}

PyVersion PyVersion::from_hex(uint64_t hex) {
  return PyVersion{static_cast<int>((hex >> 24) & 0xff), static_cast<int>((hex >> 16) & 0xff),
                   static_cast<int>((hex >> 8) & 0xff)};
}

namespace {

// One row per minor version; offsets read with gdb `ptype/o` from the pyenv
// builds' DWARF and checked against the CPython headers of each version.
struct LayoutRow {
  int minor;
  uint32_t interpreters_head, threads_head, tstate_thread_id;
  uint32_t layout, tstate_cframe, tstate_frame, frame_size, frame_previous, frame_code;
  uint32_t frame_instr, instr_size, frame_is_entry, frame_owner, owner_cstack;
  uint32_t code_filename, code_name, code_qualname, code_linetable, code_firstlineno;
  uint32_t code_code_adaptive;
  LineTableFormat line_table;
  InstrKind instr;
  uint32_t unicode_ascii_data, unicode_compact_data;
};

constexpr uint32_t N = kNoOffset;
constexpr uint32_t kFrameObject = LP_PY_LAYOUT_FRAME_OBJECT;
constexpr uint32_t kInterpFrame = LP_PY_LAYOUT_INTERP_FRAME;
constexpr uint32_t kOwnedByCStack = 3;  // FRAME_OWNED_BY_CSTACK, 3.12+

// clang-format off
constexpr std::array kLayouts{
  //        runtime      | walker: layout  cframe frame size prev code instr sz entry owner cstack | code: file name qual lines first adaptive | line table, instr | unicode
  LayoutRow{8,  32, 8,  176, kFrameObject, N,  24, 112, 24, 32, 104, 4, N,  N,  N,              104, 112, N,   120, 40, N,   LineTableFormat::lnotab,       InstrKind::lasti_bytes, 48, 72},
  LayoutRow{9,  32, 8,  176, kFrameObject, N,  24, 112, 24, 32, 104, 4, N,  N,  N,              104, 112, N,   120, 40, N,   LineTableFormat::lnotab,       InstrKind::lasti_bytes, 48, 72},
  LayoutRow{10, 32, 8,  176, kFrameObject, N,  24, 104, 24, 32, 96,  4, N,  N,  N,              104, 112, N,   120, 40, N,   LineTableFormat::linetable310, InstrKind::lasti_units, 48, 72},
  LayoutRow{11, 40, 16, 152, kInterpFrame, 56, 8,  72,  48, 32, 56,  8, 68, 69, N,              112, 120, 128, 136, 72, 184, LineTableFormat::locations311, InstrKind::pointer,     48, 72},
  LayoutRow{12, 40, 72, 136, kInterpFrame, 56, 0,  72,  8,  0,  56,  8, N,  70, kOwnedByCStack, 112, 120, 128, 136, 68, 192, LineTableFormat::locations311, InstrKind::pointer,     40, 56},
};
// clang-format on

InterpreterLayout from_row(const LayoutRow& r, PyVersion version) {
  InterpreterLayout l;
  l.version = version;
  l.runtime_interpreters_head = r.interpreters_head;
  l.interp_next = 0;
  l.interp_threads_head = r.threads_head;
  l.tstate_next = 8;
  l.tstate_thread_id = r.tstate_thread_id;
  l.walker = lp_py_config{.layout = r.layout,
                          .tstate_cframe = r.tstate_cframe,
                          .tstate_frame = r.tstate_frame,
                          .frame_size = r.frame_size,
                          .frame_previous = r.frame_previous,
                          .frame_code = r.frame_code,
                          .frame_instr = r.frame_instr,
                          .instr_size = r.instr_size,
                          .frame_is_entry = r.frame_is_entry,
                          .frame_owner = r.frame_owner,
                          .owner_cstack = r.owner_cstack,
                          .pad = 0};
  l.code_filename = r.code_filename;
  l.code_name = r.code_name;
  l.code_qualname = r.code_qualname;
  l.code_linetable = r.code_linetable;
  l.code_firstlineno = r.code_firstlineno;
  l.code_code_adaptive = r.code_code_adaptive;
  l.line_table = r.line_table;
  l.instr = r.instr;
  l.unicode_ascii_data = r.unicode_ascii_data;
  l.unicode_compact_data = r.unicode_compact_data;
  return l;
}

// Reads field `index` (a uint64_t) of the 3.13 _Py_DebugOffsets.
std::optional<uint32_t> debug_field(std::span<const uint8_t> raw, size_t byte_offset) {
  uint64_t v = 0;
  if (byte_offset + sizeof(v) > raw.size()) return std::nullopt;
  std::memcpy(&v, raw.data() + byte_offset, sizeof(v));
  if (v > 0xffffffffu) return std::nullopt;
  return static_cast<uint32_t>(v);
}

}  // namespace

Result<InterpreterLayout> layout_for_version(PyVersion version) {
  if (version.major == 3) {
    for (const LayoutRow& row : kLayouts)
      if (row.minor == version.minor) return from_row(row, version);
  }
  return Error::failed(fmt::format("walk Python {} frames", version.str()),
                       "this interpreter version is not supported",
                       "supported: CPython 3.8 to 3.12, and 3.13 through _Py_DebugOffsets");
}

Result<InterpreterLayout> parse_debug_offsets(std::span<const uint8_t> raw) {
  const std::string what = "read _Py_DebugOffsets";
  if (raw.size() < kDebugOffsetsSize || std::memcmp(raw.data(), "xdebugpy", 8) != 0)
    return Error::failed(what, "no \"xdebugpy\" cookie at the start of _PyRuntime");
  uint64_t hex = 0, free_threaded = 0;
  std::memcpy(&hex, raw.data() + 8, 8);
  std::memcpy(&free_threaded, raw.data() + 16, 8);
  PyVersion version = PyVersion::from_hex(hex);
  // The layout of _Py_DebugOffsets itself changes between minor versions;
  // this reads the 3.13 one (Include/internal/pycore_runtime.h, 3.13).
  if (version.major != 3 || version.minor != 13)
    return Error::failed(
        what, fmt::format("unknown layout of the Python {} offsets table", version.str()));
  if (free_threaded != 0) return Error::failed(what, "free-threaded builds are not supported");

  // Byte positions of the fields in the 3.13 _Py_DebugOffsets.
  struct Field {
    uint32_t* dest;
    size_t at;
  };
  InterpreterLayout l;
  l.version = version;
  uint32_t frame_previous = 0, frame_executable = 0, frame_instr_ptr = 0, frame_owner = 0;
  uint32_t tstate_current_frame = 0;
  const Field fields[] = {
      {&l.runtime_interpreters_head, 40},
      {&l.interp_next, 64},
      {&l.interp_threads_head, 72},
      {&l.tstate_next, 168},
      {&tstate_current_frame, 184},
      {&l.tstate_thread_id, 192},
      {&frame_previous, 232},
      {&frame_executable, 240},
      {&frame_instr_ptr, 248},
      {&frame_owner, 264},
      {&l.code_filename, 280},
      {&l.code_name, 288},
      {&l.code_qualname, 296},
      {&l.code_linetable, 304},
      {&l.code_firstlineno, 312},
      {&l.code_code_adaptive, 344},
      {&l.object_type, 360},
      {&l.bytes_size, 520},
      {&l.bytes_data, 528},
      {&l.unicode_state, 544},
      {&l.unicode_length, 552},
      {&l.unicode_ascii_data, 560},
  };
  for (const Field& f : fields) {
    auto v = debug_field(raw, f.at);
    if (!v) return Error::failed(what, fmt::format("implausible value at byte {}", f.at));
    *f.dest = *v;
  }
  uint32_t frame_end =
      std::max({frame_previous + 8, frame_executable + 8, frame_instr_ptr + 8, frame_owner + 1});
  frame_end = (frame_end + 7) & ~7u;
  for (uint32_t off : {frame_previous, frame_executable, frame_instr_ptr})
    if (off % 8 != 0)
      return Error::failed(what, fmt::format("unaligned frame field offset {}", off));
  if (frame_end > LP_PY_FRAME_WINDOW)
    return Error::failed(what, fmt::format("frame fields span {} bytes, more than the {} read",
                                           frame_end, LP_PY_FRAME_WINDOW));
  l.walker = lp_py_config{.layout = kInterpFrame,
                          .tstate_cframe = N,
                          .tstate_frame = tstate_current_frame,
                          .frame_size = frame_end,
                          .frame_previous = frame_previous,
                          .frame_code = frame_executable,
                          .frame_instr = frame_instr_ptr,
                          .instr_size = 8,
                          .frame_is_entry = N,
                          .frame_owner = frame_owner,
                          .owner_cstack = kOwnedByCStack,
                          .pad = 0};
  l.line_table = LineTableFormat::locations311;
  l.instr = InstrKind::pointer;
  // PyCompactUnicodeObject = PyASCIIObject + utf8_length + utf8.
  l.unicode_compact_data = l.unicode_ascii_data + 16;
  return l;
}

}  // namespace loopprof::python
