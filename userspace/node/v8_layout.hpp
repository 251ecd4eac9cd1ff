// Where V8 keeps what a frame reader needs: frame slots, object field offsets
// and instance types. Read from the `v8dbg_*` post-mortem symbols that Node
// binaries carry (the data debuggers such as llnode use), so one reader
// serves every V8 build that publishes them. The few values V8 does not
// publish are filled per V8 version in one place (v8_layout.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/error.hpp"

namespace loopprof::node {

struct V8Layout {
  // Frame slots, relative to a frame's frame pointer.
  int64_t fp_context = -8;  // a Context, or a Smi frame-type marker (typed frames)
  int64_t fp_function = -16;
  int64_t fp_bytecode_array = -32;         // interpreted and baseline frames
  int64_t fp_bytecode_offset = -40;        // interpreted frames: Smi, from the array's tagged start
  std::map<int, std::string> frame_types;  // marker value >> 1 -> "StubFrame", ...

  // Tagging (64-bit, no pointer compression: tagged values are 8 bytes).
  uint32_t tagged_size = 8;
  uint32_t smi_shift = 32;  // SmiShiftSize + SmiTagSize
  uint64_t heap_object_tag_mask = 3;
  uint64_t heap_object_tag = 1;

  // Object fields (offsets from the untagged object start).
  uint32_t map_instance_type = 12;  // uint16 in Map
  uint32_t function_shared = 24;
  uint32_t shared_name_or_scope_info = 16;
  uint32_t shared_script_or_debug_info = 32;
  uint32_t shared_function_data = 8;
  uint32_t uncompiled_inferred_name = 8;
  uint32_t uncompiled_start_position = 16;
  uint32_t script_source = 8;
  uint32_t script_name = 16;
  uint32_t script_line_ends = 56;
  uint32_t fixed_array_length = 8;  // Smi
  uint32_t fixed_array_data = 16;
  uint32_t bytecode_array_data = 54;              // header size: where bytecodes start
  uint32_t bytecode_array_source_positions = 32;  // not published: per V8 version
  uint32_t interpreter_data_bytecode_array = 8;   // not published: per V8 version
  uint32_t code_bytecode_or_interpreter_data = 16;
  uint32_t scope_info_context_local_count = 24;  // not published: flags, params, count
  uint32_t scope_info_first_local = 32;

  // Strings.
  uint32_t string_length = 12;  // int32
  uint32_t seq_string_chars = 16;
  uint32_t cons_first = 16, cons_second = 24;
  uint32_t sliced_parent = 16, sliced_offset = 24;
  uint32_t thin_actual = 16;
  uint32_t external_resource_data = 24;  // the cached data pointer of ExternalString
  uint32_t first_nonstring_type = 128;
  uint32_t string_representation_mask = 7;
  uint32_t string_encoding_mask = 8;
  uint32_t one_byte_tag = 8;
  uint32_t seq_tag = 0, cons_tag = 1, external_tag = 2, sliced_tag = 3, thin_tag = 5;

  // Instance types.
  uint32_t type_shared_function_info = 0;
  uint32_t type_script = 0;
  uint32_t type_scope_info = 0;
  uint32_t type_bytecode_array = 0;
  uint32_t type_byte_array = 0;
  uint32_t type_fixed_array = 0;
  uint32_t type_interpreter_data = 0;
  uint32_t type_code = 0;
  uint32_t type_uncompiled_first = 0, type_uncompiled_last = 0;

  // Frame types that hold a JSFunction at fp_function.
  int frametype_interpreted = -1;
  int frametype_baseline = -1;
  int frametype_maglev = -1;
  int frametype_turbofan = -1;
};

// v8dbg symbol values by name without the prefix ("frametype_StubFrame" -> 19).
using V8DebugSymbols = std::map<std::string, int64_t>;

// The layout from a binary's v8dbg values; fails when the ones the reader
// cannot do without are missing.
Result<V8Layout> v8_layout_from_symbols(const V8DebugSymbols& symbols);

// The v8dbg values of an ELF file (.symtab, else .dynsym); empty when it has
// none (not a V8 binary). Symbols in .bss (value 0) read as 0.
Result<V8DebugSymbols> read_v8_debug_symbols(const std::string& elf_path);

}  // namespace loopprof::node
