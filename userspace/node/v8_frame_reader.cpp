#include "node/v8_frame_reader.hpp"

#include <algorithm>

#include "core/utf8.hpp"

namespace loopprof::node {

namespace {

constexpr size_t kMaxNameBytes = 1024;
constexpr size_t kMaxSourceBytes = 16 << 20;
constexpr size_t kMaxPositionTableBytes = 1 << 20;
constexpr int kMaxStringDepth = 16;
// ScopeInfo keeps its context local names inline below this count, else in a
// hash table (one slot).
constexpr int64_t kScopeInfoMaxInlinedLocalNames = 75;
constexpr int kScopeInfoSlotsScanned = 6;

// One zig-zag VLQ integer (7 bits a byte, low bits first, bit 7: more).
std::optional<int64_t> decode_int(const std::vector<uint8_t>& bytes, size_t& at) {
  uint64_t decoded = 0;
  int shift = 0;
  uint8_t current;
  do {
    if (at >= bytes.size() || shift > 63) return std::nullopt;
    current = bytes[at++];
    decoded |= static_cast<uint64_t>(current & 0x7F) << shift;
    shift += 7;
  } while (current & 0x80);
  return static_cast<int64_t>(decoded >> 1) ^ -static_cast<int64_t>(decoded & 1);
}

}  // namespace

std::vector<std::pair<int, int>> decode_source_positions(const std::vector<uint8_t>& table) {
  std::vector<std::pair<int, int>> out;
  size_t at = 0;
  int64_t code_offset = 0, raw_position = 0;
  while (at < table.size()) {
    auto code = decode_int(table, at);
    auto position = decode_int(table, at);
    if (!code || !position) break;
    // A statement entry stores its code offset delta as is, an expression
    // entry as -(delta) - 1.
    code_offset += *code >= 0 ? *code : -(*code + 1);
    raw_position += *position;
    // SourcePosition: bit 0 external, bits 1..30 script offset + 1.
    const int script_offset = static_cast<int>((raw_position >> 1) & 0x3FFFFFFF) - 1;
    out.emplace_back(static_cast<int>(code_offset), script_offset);
  }
  return out;
}

std::vector<int> line_ends_of(const std::string& source) {
  std::vector<int> ends;
  for (size_t i = 0; i < source.size(); i++)
    if (source[i] == '\n') ends.push_back(static_cast<int>(i));
  return ends;
}

std::optional<uint64_t> V8FrameReader::field(uint64_t object, uint32_t offset) const {
  if (!is_heap_object(object)) return std::nullopt;
  return heap_.value<uint64_t>(object - layout_.heap_object_tag + offset);
}

std::optional<uint32_t> V8FrameReader::instance_type(uint64_t object) const {
  auto map = field(object, 0);
  if (!map || !is_heap_object(*map)) return std::nullopt;
  auto type = heap_.value<uint16_t>(*map - layout_.heap_object_tag + layout_.map_instance_type);
  if (!type) return std::nullopt;
  return *type;
}

std::optional<std::string> V8FrameReader::read_string(uint64_t object, int depth) const {
  if (depth > kMaxStringDepth) return std::nullopt;
  auto type = instance_type(object);
  if (!type || *type >= layout_.first_nonstring_type) return std::nullopt;
  auto length = heap_.value<int32_t>(object - layout_.heap_object_tag + layout_.string_length);
  if (!length || *length < 0) return std::nullopt;
  const size_t limit = depth == 0 ? kMaxNameBytes : kMaxSourceBytes;
  const size_t chars = std::min<size_t>(static_cast<size_t>(*length), limit);
  const uint32_t representation = *type & layout_.string_representation_mask;
  const bool one_byte = (*type & layout_.string_encoding_mask) == layout_.one_byte_tag;

  auto decode = [&](uint64_t address) -> std::optional<std::string> {
    auto bytes = heap_.bytes(address, one_byte ? chars : 2 * chars);
    if (!bytes) return std::nullopt;
    if (one_byte) {
      std::string out;
      for (uint8_t b : *bytes) append_utf8(out, b);  // Latin-1
      return out;
    }
    std::string out;
    for (size_t i = 0; i + 1 < bytes->size(); i += 2)
      append_utf8(out, static_cast<uint32_t>((*bytes)[i] | ((*bytes)[i + 1] << 8)));
    return out;
  };

  if (representation == layout_.seq_tag)
    return decode(object - layout_.heap_object_tag + layout_.seq_string_chars);
  if (representation == layout_.external_tag) {
    auto data = field(object, layout_.external_resource_data);
    if (!data || *data == 0) return std::nullopt;
    return decode(*data);
  }
  if (representation == layout_.thin_tag) {
    auto actual = field(object, layout_.thin_actual);
    if (!actual) return std::nullopt;
    return read_string(*actual, depth + 1);
  }
  if (representation == layout_.cons_tag) {
    auto first = field(object, layout_.cons_first);
    auto second = field(object, layout_.cons_second);
    if (!first || !second) return std::nullopt;
    auto a = read_string(*first, depth + 1);
    auto b = read_string(*second, depth + 1);
    if (!a || !b) return std::nullopt;
    return *a + *b;
  }
  if (representation == layout_.sliced_tag) {
    auto parent = field(object, layout_.sliced_parent);
    auto offset = field(object, layout_.sliced_offset);
    if (!parent || !offset || !is_smi(*offset)) return std::nullopt;
    auto whole = read_string(*parent, depth + 1);
    const auto start = static_cast<size_t>(smi(*offset));
    if (!whole || start > whole->size()) return std::nullopt;
    return whole->substr(start, chars);  // byte offsets: exact for one-byte text
  }
  return std::nullopt;
}

// A compiled function keeps its name in its ScopeInfo, after the context
// locals (names, then their infos): the first string among the next slots
// (the function variable's name, else the inferred name).
std::optional<std::string> V8FrameReader::scope_info_name(uint64_t scope_info) const {
  auto count_slot = field(scope_info, layout_.scope_info_context_local_count);
  if (!count_slot || !is_smi(*count_slot)) return std::nullopt;
  const int64_t count = smi(*count_slot);
  if (count < 0 || count > 1 << 16) return std::nullopt;
  const int64_t names = count < kScopeInfoMaxInlinedLocalNames ? count : 1;
  const uint64_t first = layout_.scope_info_first_local + (names + count) * layout_.tagged_size;
  for (int i = 0; i < kScopeInfoSlotsScanned; i++) {
    auto slot = field(scope_info, static_cast<uint32_t>(first + i * layout_.tagged_size));
    if (!slot) return std::nullopt;
    if (!is_heap_object(*slot)) continue;
    if (auto name = read_string(*slot)) return name;
  }
  return std::nullopt;
}

std::optional<uint64_t> V8FrameReader::bytecode_array_of(uint64_t shared) const {
  auto data = field(shared, layout_.shared_function_data);
  for (int hop = 0; data && hop < 3; hop++) {
    auto type = instance_type(*data);
    if (!type) return std::nullopt;
    if (*type == layout_.type_bytecode_array) return *data;
    if (*type == layout_.type_interpreter_data)
      data = field(*data, layout_.interpreter_data_bytecode_array);
    else if (*type == layout_.type_code)  // baseline code keeps its bytecode
      data = field(*data, layout_.code_bytecode_or_interpreter_data);
    else
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<V8FrameReader::FunctionInfo> V8FrameReader::function_info(uint64_t shared) {
  if (instance_type(shared) != layout_.type_shared_function_info) return std::nullopt;
  auto name_or_scope = field(shared, layout_.shared_name_or_scope_info);
  auto script_or_debug = field(shared, layout_.shared_script_or_debug_info);
  if (!name_or_scope || !script_or_debug) return std::nullopt;
  const auto key = std::make_tuple(shared, *name_or_scope, *script_or_debug);
  if (auto it = functions_.find(key); it != functions_.end()) return it->second;

  FunctionInfo info;
  if (is_heap_object(*name_or_scope)) {
    if (instance_type(*name_or_scope) == layout_.type_scope_info)
      info.name = scope_info_name(*name_or_scope).value_or("");
    else
      info.name = read_string(*name_or_scope).value_or("");
  }
  if (instance_type(*script_or_debug) == layout_.type_script) {
    info.script_address = *script_or_debug;
    if (auto name = field(*script_or_debug, layout_.script_name))
      info.script = read_string(*name).value_or("");
  }
  if (auto bytecode = bytecode_array_of(shared)) {
    info.function_position = source_position(*bytecode, -1).value_or(-1);
  } else if (auto data = field(shared, layout_.shared_function_data)) {
    auto type = instance_type(*data);
    if (type && *type >= layout_.type_uncompiled_first && *type <= layout_.type_uncompiled_last) {
      auto start =
          heap_.value<int32_t>(*data - layout_.heap_object_tag + layout_.uncompiled_start_position);
      if (start) info.function_position = *start;
    }
  }
  if (functions_.size() > 1 << 16) functions_.clear();
  functions_.emplace(key, info);
  return info;
}

std::optional<int> V8FrameReader::source_position(uint64_t bytecode_array, int offset) {
  auto table = field(bytecode_array, layout_.bytecode_array_source_positions);
  if (!table) return std::nullopt;
  auto it = positions_.find(bytecode_array);
  if (it == positions_.end() || it->second.first != *table) {
    if (instance_type(*table) != layout_.type_byte_array) return std::nullopt;
    auto length = field(*table, layout_.fixed_array_length);
    if (!length || !is_smi(*length)) return std::nullopt;
    const auto bytes_count = static_cast<size_t>(smi(*length));
    if (bytes_count > kMaxPositionTableBytes) return std::nullopt;
    // ByteArray bytes follow its header like a FixedArray's elements.
    auto bytes =
        heap_.bytes(*table - layout_.heap_object_tag + layout_.fixed_array_data, bytes_count);
    if (!bytes) return std::nullopt;
    if (positions_.size() > 1 << 14) positions_.clear();
    it = positions_
             .insert_or_assign(bytecode_array,
                               std::make_pair(*table, decode_source_positions(*bytes)))
             .first;
  }
  const auto& entries = it->second.second;
  if (entries.empty()) return std::nullopt;
  if (offset < 0) return entries.front().second;
  int position = entries.front().second;
  for (const auto& [code_offset, script_offset] : entries) {
    if (code_offset > offset) break;
    position = script_offset;
  }
  return position;
}

uint32_t V8FrameReader::line_of(uint64_t script, int position) {
  if (position < 0) return 0;
  auto source = field(script, layout_.script_source);
  if (!source) return 0;
  auto it = scripts_.find(script);
  if (it == scripts_.end() || it->second.source != *source) {
    ScriptLines lines{.source = *source};
    auto text = read_string(*source, /*depth=*/1);
    if (!text) return 0;
    lines.line_ends = line_ends_of(*text);
    if (scripts_.size() > 4096) scripts_.clear();
    it = scripts_.insert_or_assign(script, std::move(lines)).first;
  }
  const auto& ends = it->second.line_ends;
  return static_cast<uint32_t>(std::lower_bound(ends.begin(), ends.end(), position) -
                               ends.begin()) +
         1;
}

std::optional<V8Frame> V8FrameReader::read(uint64_t fp, const MemoryReader& stack) {
  if (fp == 0 || (fp & 7) != 0) return std::nullopt;
  auto context = stack.value<uint64_t>(fp + layout_.fp_context);
  if (!context) return std::nullopt;
  if (is_smi(*context)) {  // a typed frame: the slot holds its type, Smi-tagged by one bit
    auto it = layout_.frame_types.find(static_cast<int>(*context >> 1));
    if (*context >> 32 != 0 || it == layout_.frame_types.end()) return std::nullopt;
    ++stats_.typed_frames;
    return V8Frame{.kind = V8Frame::Kind::typed, .function = it->second};
  }
  auto function = stack.value<uint64_t>(fp + layout_.fp_function);
  if (!function || !is_heap_object(*context) || !is_heap_object(*function)) return std::nullopt;
  auto shared = field(*function, layout_.function_shared);
  if (!shared) return std::nullopt;
  auto info = function_info(*shared);
  if (!info) {
    ++stats_.unreadable;
    return std::nullopt;
  }
  V8Frame frame{.function = info->name.empty() ? "(anonymous)" : info->name,
                .script = info->script};
  // Interpreted frames: the bytecode array and the offset being executed.
  int position = info->function_position;
  auto bytecode = stack.value<uint64_t>(fp + layout_.fp_bytecode_array);
  auto offset = stack.value<uint64_t>(fp + layout_.fp_bytecode_offset);
  if (bytecode && offset && is_heap_object(*bytecode) && is_smi(*offset) &&
      instance_type(*bytecode) == layout_.type_bytecode_array) {
    const int64_t at =
        smi(*offset) - static_cast<int64_t>(layout_.bytecode_array_data - layout_.heap_object_tag);
    auto length = field(*bytecode, layout_.fixed_array_length);
    if (at >= 0 && length && is_smi(*length) && at < smi(*length)) {
      if (auto p = source_position(*bytecode, static_cast<int>(at))) {
        position = *p;
        frame.exact_line = true;
      }
    }
  }
  if (info->script_address) frame.line = line_of(info->script_address, position);
  ++stats_.frames;
  return frame;
}

}  // namespace loopprof::node
