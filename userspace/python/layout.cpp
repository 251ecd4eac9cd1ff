#include "python/layout.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

namespace loopprof::python {

std::string PyVersion::str() const {
  std::string base = micro >= 0 ? fmt::format("{}.{}.{}", major, minor, micro)
                                : fmt::format("{}.{}", major, minor);
  switch (release_level) {
    case 0xa:
      return base + "a";
    case 0xb:
      return base + "b";
    case 0xc:
      return base + "rc";
    default:
      return base;
  }
}

PyVersion PyVersion::from_hex(uint64_t hex) {
  return PyVersion{static_cast<int>((hex >> 24) & 0xff), static_cast<int>((hex >> 16) & 0xff),
                   static_cast<int>((hex >> 8) & 0xff), static_cast<int>((hex >> 4) & 0xf)};
}

namespace {

// One row per minor version; offsets read with gdb `ptype/o` from the pyenv
// builds' DWARF and checked against the CPython headers of each version.
// The asyncio columns were measured on each interpreter of this machine
// (pyenv 3.8-3.13, Debian's 3.11): Handle._run's self in the frame, the
// Handle._callback slot, and the C _asyncio Task's name, coro and
// fut_callback0.
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
  uint32_t frame_self, task_name, task_coro;
};

constexpr uint32_t N = kNoOffset;
constexpr uint32_t kFrameObject = LP_PY_LAYOUT_FRAME_OBJECT;
constexpr uint32_t kInterpFrame = LP_PY_LAYOUT_INTERP_FRAME;
constexpr uint32_t kOwnedByCStack = 3;   // FRAME_OWNED_BY_CSTACK, 3.12+ (3.14: INTERPRETER)
constexpr uint32_t kHandleCallback = 8;  // Handle._callback: the 2nd slot after the header
constexpr uint32_t kTaskCallback0 = 8;   // FutureObj.fut_callback0, after fut_loop

// clang-format off
constexpr std::array kLayouts{
  //        runtime      | walker: layout  cframe frame size prev code instr sz entry owner cstack | code: file name qual lines first adaptive | line table, instr | unicode | task: self name coro
  LayoutRow{8,  32, 8,  176, kFrameObject, N,  24, 112, 24, 32, 104, 4, N,  N,  N,              104, 112, N,   120, 40, N,   LineTableFormat::lnotab,       InstrKind::lasti_bytes, 48, 72, 360, 120, 112},
  LayoutRow{9,  32, 8,  176, kFrameObject, N,  24, 112, 24, 32, 104, 4, N,  N,  N,              104, 112, N,   120, 40, N,   LineTableFormat::lnotab,       InstrKind::lasti_bytes, 48, 72, 360, 160, 152},
  LayoutRow{10, 32, 8,  176, kFrameObject, N,  24, 104, 24, 32, 96,  4, N,  N,  N,              104, 112, N,   120, 40, N,   LineTableFormat::linetable310, InstrKind::lasti_units, 48, 72, 352, 168, 160},
  LayoutRow{11, 40, 16, 152, kInterpFrame, 56, 8,  80,  48, 32, 56,  8, 68, 69, N,              112, 120, 128, 136, 72, 184, LineTableFormat::locations311, InstrKind::pointer,     48, 72, 72,  144, 136},
  LayoutRow{12, 40, 72, 136, kInterpFrame, 56, 0,  80,  8,  0,  56,  8, N,  70, kOwnedByCStack, 112, 120, 128, 136, 68, 192, LineTableFormat::locations311, InstrKind::pointer,     40, 56, 72,  144, 136},
};
// The C Task of 3.13 (GIL build; free-threaded: shifted by the larger header).
constexpr uint32_t kTask313Name = 128, kTask313Coro = 120;
// clang-format on

void set_task_walk(InterpreterLayout& l, uint32_t frame_self) {
  l.walker.frame_self = frame_self;
  l.walker.handle_callback = l.object_size + kHandleCallback;
  l.walker.object_type = l.object_type;
  l.asyncio.task_callback0 = l.object_size + kTaskCallback0;
}

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
                          .tstate_base_frame = N,
                          .frame_self = N,
                          .handle_callback = N,
                          .object_type = 8,
                          .tstate_running_task = N,
                          .task_name = N,
                          .pad = 0,
                          .ref_mask = ~0ULL,
                          .handle_run_code = 0};
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
  l.long_digit = 24;
  if (r.minor >= 12) l.long_tag = 16;
  set_task_walk(l, r.frame_self);
  l.frame_localsplus = r.frame_self;  // Handle._run's self is localsplus[0]
  l.asyncio.task_name = r.task_name;
  l.asyncio.task_coro = r.task_coro;
  l.walker.task_name = r.task_name;
  return l;
}

// ---- _Py_DebugOffsets: each minor version's field list, as data ----------

struct Group {
  std::string_view name;
  std::vector<std::string_view> fields;  // "size" first when the group has one
};

const std::vector<Group> kTail13 = {
    {"pyobject", {"size", "ob_type"}},
    {"type_object", {"size", "tp_name", "tp_repr", "tp_flags"}},
    {"tuple_object", {"size", "ob_item", "ob_size"}},
    {"list_object", {"size", "ob_item", "ob_size"}},
};

// Include/internal/pycore_runtime.h (3.13), pycore_debug_offsets.h (3.14, 3.15).
std::optional<std::vector<Group>> debug_offsets_groups(int minor) {
  const Group runtime{"runtime_state", {"size", "finalizing", "interpreters_head"}};
  const Group interp13{"interpreter_state",
                       {"size", "id", "next", "threads_head", "gc", "imports_modules", "sysdict",
                        "builtins", "ceval_gil", "gil_runtime_state", "gil_runtime_state_enabled",
                        "gil_runtime_state_locked", "gil_runtime_state_holder"}};
  const Group interp14{"interpreter_state",
                       {"size", "id", "next", "threads_head", "threads_main", "gc",
                        "imports_modules", "sysdict", "builtins", "ceval_gil", "gil_runtime_state",
                        "gil_runtime_state_enabled", "gil_runtime_state_locked",
                        "gil_runtime_state_holder", "code_object_generation", "tlbc_generation"}};
  const Group tstate13{"thread_state",
                       {"size", "prev", "next", "interp", "current_frame", "thread_id",
                        "native_thread_id", "datastack_chunk", "status"}};
  const Group tstate15{
      "thread_state",
      {"size", "prev", "next", "interp", "current_frame", "base_frame", "last_profiled_frame",
       "last_profiled_frame_seq", "thread_id", "native_thread_id", "datastack_chunk", "status",
       "holds_gil", "gil_requested", "current_exception", "exc_state"}};
  const Group frame13{"interpreter_frame",
                      {"size", "previous", "executable", "instr_ptr", "localsplus", "owner"}};
  const Group frame14{"interpreter_frame",
                      {"size", "previous", "executable", "instr_ptr", "localsplus", "owner",
                       "stackpointer", "tlbc_index"}};
  const std::vector<std::string_view> code13 = {"size",
                                                "filename",
                                                "name",
                                                "qualname",
                                                "linetable",
                                                "firstlineno",
                                                "argcount",
                                                "localsplusnames",
                                                "localspluskinds",
                                                "co_code_adaptive"};
  std::vector<std::string_view> code14 = code13;
  code14.push_back("co_tlbc");
  const Group set{"set_object", {"size", "used", "table", "mask"}};
  const Group dict{"dict_object", {"size", "ma_keys", "ma_values"}};
  const Group flt{"float_object", {"size", "ob_fval"}};
  const Group lng{"long_object", {"size", "lv_tag", "ob_digit"}};
  const Group bytes{"bytes_object", {"size", "ob_size", "ob_sval"}};
  const Group unicode14{"unicode_object", {"size", "state", "length", "asciiobject_size"}};
  const Group gen{"gen_object", {"size", "gi_name", "gi_iframe", "gi_frame_state"}};
  const Group llist{"llist_node", {"next", "prev"}};
  const Group debugger{
      "debugger_support",
      {"eval_breaker", "remote_debugger_support", "remote_debugging_enabled",
       "debugger_pending_call", "debugger_script_path", "debugger_script_path_size"}};
  std::vector<Group> g;
  auto add = [&g](const std::vector<Group>& more) { g.insert(g.end(), more.begin(), more.end()); };
  switch (minor) {
    case 13:
      add({runtime, interp13, tstate13, frame13, {"code_object", code13}});
      add(kTail13);
      add({dict, flt, lng, bytes, unicode14, {"gc", {"size", "collecting"}}});
      return g;
    case 14:
      add({runtime, interp14, tstate13, frame14, {"code_object", code14}});
      add(kTail13);
      add({set,
           dict,
           flt,
           lng,
           bytes,
           unicode14,
           {"gc", {"size", "collecting"}},
           gen,
           llist,
           debugger});
      return g;
    case 15:
      add({runtime,
           interp14,
           tstate15,
           {"err_stackitem", {"exc_value"}},
           frame14,
           {"code_object", code14},
           kTail13[0],
           {"type_object",
            {"size", "tp_name", "tp_repr", "tp_flags", "tp_basicsize", "tp_dictoffset"}},
           {"heap_type_object", {"size", "ht_cached_keys"}},
           kTail13[2],
           kTail13[3],
           set,
           dict,
           flt,
           lng,
           bytes,
           {"unicode_object",
            {"size", "state", "length", "asciiobject_size", "compactunicodeobject_size"}},
           {"gc", {"size", "collecting", "frame", "generation_stats_size", "generation_stats"}},
           gen,
           llist,
           debugger});
      return g;
    default:
      return std::nullopt;
  }
}

// The table as "group.field" -> value, with each group's struct size.
class DebugTable {
 public:
  static Result<DebugTable> read(std::span<const uint8_t> raw, const std::vector<Group>& groups,
                                 const std::string& version) {
    DebugTable t;
    size_t at = 24;  // cookie, version, free_threaded
    for (const Group& g : groups)
      for (std::string_view f : g.fields) {
        if (at + 8 > raw.size())
          return Error::failed(
              "read _Py_DebugOffsets",
              fmt::format("the Python {} table is cut at byte {}", version, raw.size()));
        uint64_t v = 0;
        std::memcpy(&v, raw.data() + at, 8);
        at += 8;
        t.values_[fmt::format("{}.{}", g.name, f)] = v;
      }
    t.bytes_ = at;
    return t;
  }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  uint64_t get(const std::string& key) const {
    auto it = values_.find(key);
    return it == values_.end() ? 0 : it->second;
  }
  size_t bytes() const { return bytes_; }

  // The offset of `group.field`, checked: a field of `width` bytes inside
  // its struct (group.size), and small.
  Result<uint32_t> offset(const std::string& group, const std::string& field,
                          uint32_t width = 8) const {
    std::string key = group + "." + field;
    if (!has(key)) return Error::failed("read _Py_DebugOffsets", "no field " + key);
    uint64_t off = get(key), size = get(group + ".size");
    if (has(group + ".size") && (size == 0 || size > (1u << 20) || off + width > size))
      return Error::failed(
          "read _Py_DebugOffsets",
          fmt::format("{} = {} does not fit in its struct of {} bytes", key, off, size));
    if (off > (1u << 20))
      return Error::failed("read _Py_DebugOffsets",
                           fmt::format("{} = {} is implausible", key, off));
    return static_cast<uint32_t>(off);
  }

 private:
  std::map<std::string, uint64_t> values_;
  size_t bytes_ = 0;
};

}  // namespace

Result<InterpreterLayout> layout_for_version(PyVersion version) {
  if (version.major == 3) {
    for (const LayoutRow& row : kLayouts)
      if (row.minor == version.minor) return from_row(row, version);
  }
  return Error::failed(fmt::format("walk Python {} frames", version.str()),
                       "this interpreter version is not supported",
                       "supported: CPython 3.8 to 3.12, and 3.13 to 3.15 through _Py_DebugOffsets");
}

Result<InterpreterLayout> parse_debug_offsets(std::span<const uint8_t> raw) {
  const std::string what = "read _Py_DebugOffsets";
  if (raw.size() < 24 || std::memcmp(raw.data(), "xdebugpy", 8) != 0)
    return Error::failed(what, "no \"xdebugpy\" cookie at the start of _PyRuntime");
  uint64_t hex = 0, free_threaded = 0;
  std::memcpy(&hex, raw.data() + 8, 8);
  std::memcpy(&free_threaded, raw.data() + 16, 8);
  PyVersion version = PyVersion::from_hex(hex);
  auto groups = version.major == 3 ? debug_offsets_groups(version.minor) : std::nullopt;
  if (!groups)
    return Error::failed(
        what, fmt::format("unknown layout of the Python {} offsets table", version.str()),
        "supported: the tables of CPython 3.13, 3.14 and 3.15");
  // Pre-release tables moved fields between betas (3.15.0b4 inserted
  // last_profiled_frame_seq); release candidates and finals are frozen.
  if (version.release_level < 0xc)
    return Error::failed(what,
                         fmt::format("Python {} is an alpha or beta: its offsets table may differ "
                                     "from the {}.{} release's",
                                     version.str(), version.major, version.minor));
  if (free_threaded > 1)
    return Error::failed(what, fmt::format("implausible free_threaded flag {}", free_threaded));
  auto table = DebugTable::read(raw, *groups, version.str());
  if (!table) return table.error();
  const DebugTable& t = table.value();

  InterpreterLayout l;
  l.version = version;
  l.free_threaded = free_threaded == 1;
  uint32_t frame_previous = 0, frame_executable = 0, frame_instr_ptr = 0, frame_owner = 0;
  uint32_t frame_localsplus = 0, tstate_current_frame = 0, tstate_base_frame = N;
  struct Field {
    uint32_t* dest;
    const char* group;
    const char* field;
    uint32_t width;
  };
  std::vector<Field> fields = {
      {&l.runtime_interpreters_head, "runtime_state", "interpreters_head", 8},
      {&l.interp_next, "interpreter_state", "next", 8},
      {&l.interp_threads_head, "interpreter_state", "threads_head", 8},
      {&l.tstate_next, "thread_state", "next", 8},
      {&tstate_current_frame, "thread_state", "current_frame", 8},
      {&l.tstate_thread_id, "thread_state", "thread_id", 8},
      {&frame_previous, "interpreter_frame", "previous", 8},
      {&frame_executable, "interpreter_frame", "executable", 8},
      {&frame_instr_ptr, "interpreter_frame", "instr_ptr", 8},
      {&frame_localsplus, "interpreter_frame", "localsplus", 8},
      {&frame_owner, "interpreter_frame", "owner", 1},
      {&l.code_filename, "code_object", "filename", 8},
      {&l.code_name, "code_object", "name", 8},
      {&l.code_qualname, "code_object", "qualname", 8},
      {&l.code_linetable, "code_object", "linetable", 8},
      {&l.code_firstlineno, "code_object", "firstlineno", 4},
      {&l.code_code_adaptive, "code_object", "co_code_adaptive", 2},
      {&l.object_type, "pyobject", "ob_type", 8},
      {&l.object_size, "pyobject", "size", 0},
      {&l.type_name, "type_object", "tp_name", 8},
      {&l.bytes_size, "bytes_object", "ob_size", 8},
      {&l.bytes_data, "bytes_object", "ob_sval", 1},
      {&l.unicode_state, "unicode_object", "state", 4},
      {&l.unicode_length, "unicode_object", "length", 8},
      {&l.unicode_ascii_data, "unicode_object", "asciiobject_size", 0},
      {&l.long_tag, "long_object", "lv_tag", 8},
      {&l.long_digit, "long_object", "ob_digit", 4},
  };
  if (version.minor >= 14) {
    fields.push_back({&l.gen_name, "gen_object", "gi_name", 8});
    fields.push_back({&l.set_table, "set_object", "table", 8});
    fields.push_back({&l.set_mask, "set_object", "mask", 8});
    if (l.free_threaded) fields.push_back({&l.code_tlbc, "code_object", "co_tlbc", 8});
  }
  if (t.has("thread_state.base_frame"))
    fields.push_back({&tstate_base_frame, "thread_state", "base_frame", 8});
  for (const Field& f : fields) {
    auto v = t.offset(f.group, f.field, f.width);
    if (!v) return v.error();
    *f.dest = *v;
  }
  if (l.object_size != 16 && l.object_size != 32)
    return Error::failed(what, fmt::format("implausible PyObject size {}", l.object_size));
  if (l.free_threaded != (l.object_size == 32))
    return Error::failed(what, "the PyObject size does not match the free-threaded flag");
  if (t.get("interpreter_frame.size") < 16 || t.get("code_object.size") < 64 ||
      t.get("thread_state.size") < 64)
    return Error::failed(what, "implausible struct sizes: this is not an offsets table");

  // The walker reads one window per frame: every field it needs, and
  // localsplus[0] (the self of Handle._run) when it fits.
  for (uint32_t off : {frame_previous, frame_executable, frame_instr_ptr, frame_localsplus})
    if (off % 8 != 0)
      return Error::failed(what, fmt::format("unaligned frame field offset {}", off));
  uint32_t frame_end =
      std::max({frame_previous + 8, frame_executable + 8, frame_instr_ptr + 8, frame_owner + 1});
  frame_end = (frame_end + 7) & ~7u;
  if (frame_end > LP_PY_FRAME_WINDOW)
    return Error::failed(what, fmt::format("frame fields span {} bytes, more than the {} read",
                                           frame_end, LP_PY_FRAME_WINDOW));
  if (frame_localsplus + 8 <= LP_PY_FRAME_WINDOW)
    frame_end = std::max(frame_end, frame_localsplus + 8);
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
                          // 3.13: CSTACK 3; 3.14: INTERPRETER 3, CSTACK 4; 3.15: INTERPRETER 3
                          .owner_cstack = kOwnedByCStack,
                          .tstate_base_frame = tstate_base_frame,
                          .frame_self = N,
                          .handle_callback = N,
                          .object_type = l.object_type,
                          .tstate_running_task = N,
                          .task_name = N,
                          .pad = 0,
                          // 3.14+: f_executable and localsplus are tagged _PyStackRefs
                          .ref_mask = version.minor >= 14 ? ~3ULL : ~0ULL,
                          .handle_run_code = 0};
  l.line_table = LineTableFormat::locations311;
  l.instr = InstrKind::pointer;
  // PyCompactUnicodeObject = PyASCIIObject + utf8_length + utf8.
  l.unicode_compact_data =
      t.has("unicode_object.compactunicodeobject_size")
          ? static_cast<uint32_t>(t.get("unicode_object.compactunicodeobject_size"))
          : l.unicode_ascii_data + 16;
  if (version.minor <= 13) l.frame_localsplus = frame_localsplus;  // 3.14+: tagged _PyStackRefs
  if (version.minor == 13) {  // the C Task, found from Handle._run's frame
    set_task_walk(l, frame_localsplus);
    l.asyncio.task_name = kTask313Name - 16 + l.object_size;
    l.asyncio.task_coro = kTask313Coro - 16 + l.object_size;
    l.walker.task_name = l.asyncio.task_name;
  }
  return l;
}

Status parse_asyncio_debug(std::span<const uint8_t> raw, InterpreterLayout& layout) {
  const std::string what = "read _AsyncioDebug";
  if (raw.size() < kAsyncioDebugSize)
    return Error::failed(what, fmt::format("{} bytes, expected {}", raw.size(), kAsyncioDebugSize));
  uint64_t v[13];
  std::memcpy(v, raw.data(), sizeof(v));
  // task {size, name, awaited_by, is_task, awaited_by_is_set, coro, node},
  // interpreter {size, tasks_head}, thread {size, running_loop, running_task, tasks_head}
  const uint64_t task_size = v[0], tstate_size = v[9];
  auto inside = [](uint64_t off, uint64_t width, uint64_t size) {
    return size > 0 && size < (1u << 16) && off + width <= size;
  };
  if (!inside(v[1], 8, task_size) || !inside(v[2], 8, task_size) || !inside(v[4], 1, task_size) ||
      !inside(v[3], 1, task_size) || !inside(v[5], 8, task_size) ||
      !inside(v[11], 8, tstate_size) || !inside(v[10], 8, tstate_size) || v[1] % 8 || v[2] % 8 ||
      v[5] % 8 || v[11] % 8)
    return Error::failed(what, "fields outside their structs: not an _AsyncioDebug table");
  AsyncioLayout a;
  a.task_name = static_cast<uint32_t>(v[1]);
  a.task_awaited_by = static_cast<uint32_t>(v[2]);
  a.task_awaited_by_is_set = static_cast<uint32_t>(v[4]);
  a.task_is_task = static_cast<uint32_t>(v[3]);
  a.task_coro = static_cast<uint32_t>(v[5]);
  a.tstate_running_task = static_cast<uint32_t>(v[11]);
  layout.asyncio = a;
  layout.walker.tstate_running_task = a.tstate_running_task;
  layout.walker.task_name = a.task_name;
  return ok_status();
}

}  // namespace loopprof::python
