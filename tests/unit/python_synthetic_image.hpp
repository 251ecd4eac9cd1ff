// Synthetic memory images of CPython 3.14, 3.15 and free-threaded
// interpreters: a _PyRuntime starting with _Py_DebugOffsets (field lists
// written out here from the published headers, independently of the parser's
// tables), a thread state, a frame chain, code objects, strings, location
// tables, and asyncio tasks laid out as _AsyncioDebug says. No such
// interpreter can be installed here, so this is what the walker twin and the
// resolver are tested against.
#pragma once

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "python_fake_memory.hpp"

namespace loopprof::python::testing {

struct ImageSpec {
  int minor = 14;
  bool free_threaded = false;
  uint64_t version_hex = 0;  // 0: 3.minor.2 final
};

// Offsets used by the image, GIL build values (the free-threaded header is
// 16 bytes larger: object fields shift by 16).
struct ImageOffsets {
  uint64_t obj_size, ob_type, tp_name;
  uint64_t code_filename, code_name, code_qualname, code_linetable, code_firstlineno;
  uint64_t code_adaptive, code_tlbc;
  uint64_t str_state, str_length, str_ascii;
  uint64_t bytes_size, bytes_sval, long_tag, long_digit;
  uint64_t gen_name, set_table, set_mask;
  uint64_t frame_previous = 8, frame_exec = 0, frame_instr = 56, frame_stackpointer = 64;
  uint64_t frame_tlbc = 72, frame_owner = 74, frame_localsplus = 80;
  uint64_t tstate_current = 72, tstate_base = 80, tstate_thread_id, tstate_native;
  uint64_t interp_threads_head = 7344, runtime_interp_head = 1632;
  // _AsyncioDebug (tstate = _PyThreadStateImpl)
  uint64_t task_name = 120, task_awaited_by = 128, task_is_task = 110, task_by_is_set = 111;
  uint64_t task_coro = 136, running_loop = 1040, running_task = 1048;
};

inline ImageOffsets offsets_for(const ImageSpec& s) {
  const uint64_t ft = s.free_threaded ? 16 : 0;
  ImageOffsets o{};
  o.obj_size = 16 + ft;
  o.ob_type = 8 + ft;
  o.tp_name = 24 + ft;
  o.code_filename = 112 + ft;
  o.code_name = 120 + ft;
  o.code_qualname = 128 + ft;
  o.code_linetable = 136 + ft;
  o.code_firstlineno = 68 + ft;
  o.code_tlbc = s.free_threaded ? 224 : 0;
  o.code_adaptive = s.free_threaded ? 232 : 208;
  o.str_length = 16 + ft;
  o.str_state = 32 + ft;
  o.str_ascii = 40 + ft;
  o.bytes_size = 16 + ft;
  o.bytes_sval = 32 + ft;
  o.long_tag = 16 + ft;
  o.long_digit = 24 + ft;
  o.gen_name = 56 + ft;
  o.set_table = 40 + ft;
  o.set_mask = 32 + ft;
  if (s.free_threaded) o.frame_owner = 76;
  o.tstate_thread_id = s.minor >= 15 ? 176 : 152;
  o.tstate_native = o.tstate_thread_id + 8;
  o.task_name += ft;
  o.task_awaited_by += ft;
  o.task_is_task += ft;
  o.task_by_is_set += ft;
  o.task_coro += ft;
  return o;
}

class SyntheticImage {
 public:
  static constexpr uint64_t kRuntime = 0x100000, kInterp = 0x200000, kTstate = 0x300000;
  static constexpr uint64_t kCodeType = 0x400000, kStrType = 0x400400, kBytesType = 0x400800;
  static constexpr uint64_t kIntType = 0x400c00, kCoroType = 0x401000, kTaskType = 0x401400;
  static constexpr uint64_t kSetType = 0x401800, kNone = 0x401c00;
  static constexpr uint64_t kThreadId = 0x7f0000001000;

  explicit SyntheticImage(ImageSpec spec) : spec_(spec), o_(offsets_for(spec)) {
    mem.map(kRuntime, 0x1000);
    write_debug_offsets();
    mem.map(kInterp, 0x4000);
    mem.map(kTstate, 0x1000);
    mem.put<uint64_t>(kRuntime + o_.runtime_interp_head, kInterp);
    mem.put<uint64_t>(kInterp + o_.interp_threads_head, kTstate);
    mem.put<uint64_t>(kTstate + o_.tstate_thread_id, kThreadId);
    for (auto [type, name] : {std::pair{kCodeType, "code"},
                              {kStrType, "str"},
                              {kBytesType, "bytes"},
                              {kIntType, "int"},
                              {kCoroType, "coroutine"},
                              {kTaskType, "_asyncio.Task"},
                              {kSetType, "set"},
                              {kNone, "NoneType"}}) {
      mem.map(type, 0x400);
      mem.put<uint64_t>(type + o_.tp_name, type + 0x300);
      mem.write(type + 0x300, name, std::strlen(name) + 1);
    }
  }

  const ImageOffsets& offsets() const { return o_; }

  // The .AsyncioDebug section's 13 uint64.
  std::vector<uint8_t> asyncio_debug() const {
    const uint64_t v[13] = {200,
                            o_.task_name,
                            o_.task_awaited_by,
                            o_.task_is_task,
                            o_.task_by_is_set,
                            o_.task_coro,
                            160,
                            16,
                            8,
                            2000,
                            o_.running_loop,
                            o_.running_task,
                            1056};
    std::vector<uint8_t> raw(sizeof(v));
    std::memcpy(raw.data(), v, sizeof(v));
    return raw;
  }

  uint64_t str(const std::string& text) {
    uint64_t at = next(64 + text.size());
    mem.put<uint64_t>(at + o_.ob_type, kStrType);
    mem.put<int64_t>(at + o_.str_length, static_cast<int64_t>(text.size()));
    mem.put<uint32_t>(at + o_.str_state, (1u << 2) | (1u << 5) | (1u << 6));  // ascii compact
    mem.write(at + o_.str_ascii, text.data(), text.size());
    return at;
  }
  uint64_t bytes(const std::vector<uint8_t>& data) {
    uint64_t at = next(64 + data.size());
    mem.put<uint64_t>(at + o_.ob_type, kBytesType);
    mem.put<int64_t>(at + o_.bytes_size, static_cast<int64_t>(data.size()));
    mem.write(at + o_.bytes_sval, data.data(), data.size());
    return at;
  }
  uint64_t small_int(uint32_t value) {
    uint64_t at = next(64);
    mem.put<uint64_t>(at + o_.ob_type, kIntType);
    mem.put<uint64_t>(at + o_.long_tag, 1u << 3);  // one digit, positive
    mem.put<uint32_t>(at + o_.long_digit, value);
    return at;
  }

  // A code object of `units` code units; its location table puts units
  // [0, 2) on first_line and [2, units) on first_line + 2.
  uint64_t code(const std::string& name, const std::string& file, int first_line, int units = 8) {
    uint64_t at = next(o_.code_adaptive + 2 * units + 16);
    mem.put<uint64_t>(at + o_.ob_type, kCodeType);
    mem.put<int64_t>(at + o_.obj_size, units);  // Py_SIZE(code)
    uint64_t s_name = str(name), s_file = str(file);
    mem.put<uint64_t>(at + o_.code_name, s_name);
    mem.put<uint64_t>(at + o_.code_qualname, s_name);
    mem.put<uint64_t>(at + o_.code_filename, s_file);
    mem.put<int32_t>(at + o_.code_firstlineno, first_line);
    const uint8_t rest = static_cast<uint8_t>(0x80 | (13 << 3) | (units - 2 - 1));
    mem.put<uint64_t>(at + o_.code_linetable, bytes({0x80 | (13 << 3) | 1, 0, rest, 4}));
    return at;
  }
  // Its thread-local copy number `index` (3.14t): an array of copies.
  uint64_t tlbc_copy(uint64_t code, int units, int index) {
    uint64_t array = next(16 + 8 * (index + 1));
    uint64_t copy = next(2 * units + 16);
    mem.put<int64_t>(array, index + 1);
    mem.put<uint64_t>(array + 8, code + o_.code_adaptive);
    mem.put<uint64_t>(array + 8 + 8 * index, copy);
    mem.put<uint64_t>(code + o_.code_tlbc, array);
    return copy;
  }

  // A frame running `code` at code unit `unit` (tagged executable on 3.14+),
  // or with `owner` set (3 = the eval loop's entry frame, 4 = C stack).
  uint64_t frame(uint64_t code, int unit, uint64_t previous, int owner = 0,
                 uint64_t instr_base = 0) {
    uint64_t at = next(96);
    uint64_t exec = owner >= 3 ? (kNone | 1) : (code | (spec_.minor >= 14 ? 1 : 0));
    mem.put<uint64_t>(at + o_.frame_exec, exec);
    mem.put<uint64_t>(at + o_.frame_previous, previous);
    uint64_t base = instr_base ? instr_base : code + o_.code_adaptive;
    mem.put<uint64_t>(at + o_.frame_instr, owner >= 3 ? 0 : base + 2 * unit);
    mem.put<uint8_t>(at + o_.frame_owner, static_cast<uint8_t>(owner));
    return at;
  }
  void set_current_frame(uint64_t frame) { mem.put<uint64_t>(kTstate + o_.tstate_current, frame); }
  void set_base_frame(uint64_t frame) { mem.put<uint64_t>(kTstate + o_.tstate_base, frame); }
  void set_frame_self(uint64_t frame, uint64_t self) {
    mem.put<uint64_t>(frame + o_.frame_localsplus, self | 1);  // a tagged _PyStackRef
  }

  // An asyncio Task named `name` (a str, or an int n for "Task-n") running
  // a coroutine named `coro`, awaited by `awaited_by` (0: none).
  uint64_t task(const std::string& name, const std::string& coro, uint64_t awaited_by = 0,
                int int_name = -1) {
    uint64_t at = next(256);
    mem.put<uint64_t>(at + o_.ob_type, kTaskType);
    mem.put<uint8_t>(at + o_.task_is_task, 1);
    mem.put<uint64_t>(at + o_.task_name, int_name >= 0 ? small_int(int_name) : str(name));
    uint64_t c = next(128);
    mem.put<uint64_t>(c + o_.ob_type, kCoroType);
    mem.put<uint64_t>(c + o_.gen_name, str(coro));
    mem.put<uint64_t>(at + o_.task_coro, c);
    mem.put<uint64_t>(at + o_.task_awaited_by, awaited_by);
    return at;
  }
  // Makes `task` awaited by a set holding `awaiters`.
  void awaited_by_set(uint64_t task, const std::vector<uint64_t>& awaiters) {
    uint64_t set = next(128), table = next(8 * 16);
    mem.put<uint64_t>(set + o_.ob_type, kSetType);
    mem.put<uint64_t>(set + o_.set_table, table);
    mem.put<int64_t>(set + o_.set_mask, 7);
    for (size_t i = 0; i < awaiters.size(); i++)
      mem.put<uint64_t>(table + 16 * (i + 3), awaiters[i]);
    mem.put<uint64_t>(task + o_.task_awaited_by, set);
    mem.put<uint8_t>(task + o_.task_by_is_set, 1);
  }
  void set_running_task(uint64_t task) {
    mem.put<uint64_t>(kTstate + o_.running_loop, 0x12345678);
    mem.put<uint64_t>(kTstate + o_.running_task, task);
  }

  std::vector<uint8_t> debug_offsets_bytes() const {
    std::vector<uint8_t> raw(1024);
    mem.read(kRuntime, raw.data(), raw.size());
    return raw;
  }

  FakeMemory mem;

 private:
  uint64_t next(size_t size) {
    uint64_t at = heap_;
    heap_ += (size + 0xff) & ~static_cast<uint64_t>(0xff);
    mem.map(at, size);
    return at;
  }

  // _Py_DebugOffsets as the 3.14 / 3.15 pycore_debug_offsets.h lays it out.
  void write_debug_offsets() {
    const bool ft = spec_.free_threaded;
    const uint64_t f = ft ? 16 : 0;
    std::vector<uint64_t> v;
    uint64_t hex = spec_.version_hex ? spec_.version_hex
                                     : (0x03000000ull | (uint64_t(spec_.minor) << 16) | 0x02f0);
    v.push_back(0);  // cookie, written below
    v.push_back(hex);
    v.push_back(ft ? 1 : 0);
    auto add = [&v](std::initializer_list<uint64_t> group) { v.insert(v.end(), group); };
    add({4000, 1592, o_.runtime_interp_head});  // runtime_state
    // interpreter_state: size id next threads_head threads_main gc imports_modules sysdict
    // builtins ceval_gil gil_runtime_state gil_enabled gil_locked gil_holder code_gen tlbc_gen
    add({90000, 8, 0, o_.interp_threads_head, o_.interp_threads_head + 8, 200, 7000, 7100, 7108,
         7200, 7300, ft ? 7310u : 0u, 7320, 7328, 7776, ft ? 7784u : 0u});
    if (spec_.minor >= 15) {
      // size prev next interp current_frame base_frame last_profiled_frame
      // last_profiled_frame_seq thread_id native_thread_id datastack_chunk status
      // holds_gil gil_requested current_exception exc_state
      add({880, 0, 8, 16, o_.tstate_current, o_.tstate_base, 88, 96, o_.tstate_thread_id,
           o_.tstate_native, 248, 32, 36, 40, 136, 280});
      add({0});  // err_stackitem.exc_value
    } else {
      // size prev next interp current_frame thread_id native_thread_id datastack_chunk status
      add({800, 0, 8, 16, o_.tstate_current, o_.tstate_thread_id, o_.tstate_native, 200, 32});
    }
    // interpreter_frame: size previous executable instr_ptr localsplus owner stackpointer
    // tlbc_index
    add({88, o_.frame_previous, o_.frame_exec, o_.frame_instr, o_.frame_localsplus, o_.frame_owner,
         o_.frame_stackpointer, ft ? o_.frame_tlbc : 0});
    // code_object: size filename name qualname linetable firstlineno argcount
    // localsplusnames localspluskinds co_code_adaptive co_tlbc
    add({o_.code_adaptive + 2, o_.code_filename, o_.code_name, o_.code_qualname, o_.code_linetable,
         o_.code_firstlineno, 48 + f, 96 + f, 104 + f, o_.code_adaptive, o_.code_tlbc});
    add({o_.obj_size, o_.ob_type});  // pyobject
    if (spec_.minor >= 15) {
      add({920 + f, o_.tp_name, 88 + f, 168 + f, 32 + f,
           280 + f});            // type_object (+ basicsize, dictoffset)
      add({1000 + f, 900 + f});  // heap_type_object
    } else {
      add({920 + f, o_.tp_name, 88 + f, 168 + f});  // type_object
    }
    add({40 + f, 24 + f, 16 + f});                      // tuple_object
    add({40 + f, 24 + f, 16 + f});                      // list_object
    add({200 + f, 24 + f, o_.set_table, o_.set_mask});  // set_object: size used table mask
    add({48 + f, 32 + f, 40 + f});                      // dict_object
    add({24 + f, 16 + f});                              // float_object
    add({32 + f, o_.long_tag, o_.long_digit});          // long_object
    add({40 + f, o_.bytes_size, o_.bytes_sval});        // bytes_object
    if (spec_.minor >= 15)
      add({80 + f, o_.str_state, o_.str_length, o_.str_ascii, o_.str_ascii + 16});
    else
      add({80 + f, o_.str_state, o_.str_length, o_.str_ascii});  // unicode_object
    if (spec_.minor >= 15)
      add({400, 8, 16, 64,
           24});  // gc: size collecting frame generation_stats_size generation_stats
    else
      add({400, 8});                              // gc
    add({200 + f, o_.gen_name, 80 + f, 70 + f});  // gen_object
    add({0, 8});                                  // llist_node
    add({24, 900, 5000, 0, 8, 512});              // debugger_support
    mem.write(kRuntime, v.data(), v.size() * 8);
    mem.write(kRuntime, "xdebugpy", 8);
  }

  ImageSpec spec_;
  ImageOffsets o_;
  uint64_t heap_ = 0x1000000;
};

}  // namespace loopprof::python::testing
