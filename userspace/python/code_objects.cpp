#include "python/code_objects.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "python/line_table.hpp"
#include "python/objects.hpp"

namespace loopprof::python {

namespace {
constexpr uint64_t kMaxLineTableBytes = 1 << 20;
constexpr size_t kMaxCacheEntries = 1 << 16;
using HeaderBytes = std::array<uint8_t, 256>;

// A field at `at` of the object at `code`: from `span` (the object's bytes
// from span_at on) when it was read whole, else read on its own.
template <typename T>
std::optional<T> field(const MemoryReader& memory, uint64_t code, const uint8_t* span,
                       uint32_t span_at, uint32_t at) {
  if (!span) return memory.value<T>(code + at);
  T v{};
  std::memcpy(&v, span + (at - span_at), sizeof(v));
  return v;
}

}  // namespace

CodeObjects::CodeObjects(const MemoryReader& memory, const InterpreterLayout& layout,
                         uint64_t code_type)
    : memory_(memory), layout_(layout), code_type_(code_type) {}

std::optional<CodeObjects::Header> CodeObjects::header(uint64_t code) const {
  // Checked on every use of a cached entry: one read of the span that holds
  // the fields, rather than one read (one process_vm_readv) per field.
  const uint32_t name_at =
      layout_.code_qualname != kNoOffset ? layout_.code_qualname : layout_.code_name;
  const bool sized = layout_.code_code_adaptive != kNoOffset;  // 3.11+: a PyVarObject
  const std::pair<uint32_t, uint32_t> fields[] = {
      {layout_.object_type, 8},      {name_at, 8},
      {layout_.code_filename, 8},    {layout_.code_linetable, 8},
      {layout_.code_firstlineno, 4}, {sized ? layout_.object_size : layout_.object_type, 8}};
  uint32_t lo = UINT32_MAX, hi = 0;
  for (const auto& [at, size] : fields) {
    lo = std::min(lo, at);
    hi = std::max(hi, at + size);
  }
  HeaderBytes span;
  const bool whole = hi - lo <= span.size() && memory_.read(code + lo, span.data(), hi - lo);
  const uint8_t* bytes = whole ? span.data() : nullptr;  // else: a gap in readable memory
  Header h;
  auto type = field<uint64_t>(memory_, code, bytes, lo, layout_.object_type);
  auto name = field<uint64_t>(memory_, code, bytes, lo, name_at);
  auto filename = field<uint64_t>(memory_, code, bytes, lo, layout_.code_filename);
  auto table = field<uint64_t>(memory_, code, bytes, lo, layout_.code_linetable);
  auto first = field<int32_t>(memory_, code, bytes, lo, layout_.code_firstlineno);
  if (!type || !name || !filename || !table || !first) return std::nullopt;
  if (code_type_ != 0 && *type != code_type_) return std::nullopt;
  if (*first < 0) return std::nullopt;
  if (sized) {
    auto units = field<int64_t>(memory_, code, bytes, lo, layout_.object_size);
    if (!units || *units <= 0 || *units > (1 << 24)) return std::nullopt;
    h.code_units = *units;
  }
  h.type = *type;
  h.name = *name;
  h.filename = *filename;
  h.line_table = *table;
  h.first_line = *first;
  return h;
}

// A compact str object (every identifier and file name is one).
std::optional<std::string> CodeObjects::string(uint64_t unicode) const {
  return read_str(memory_, layout_, unicode);
}

std::optional<CodeInfo> CodeObjects::read(uint64_t code, const Header& h) const {
  (void)code;
  CodeInfo info;
  auto name = string(h.name);
  auto filename = string(h.filename);
  auto size = memory_.value<int64_t>(h.line_table + layout_.bytes_size);
  if (!name || !filename || !size || *size < 0 || static_cast<uint64_t>(*size) > kMaxLineTableBytes)
    return std::nullopt;
  auto table = memory_.bytes(h.line_table + layout_.bytes_data, static_cast<size_t>(*size));
  if (!table) return std::nullopt;
  info.name = std::move(*name);
  info.filename = std::move(*filename);
  info.first_line = h.first_line;
  info.code_units = h.code_units;
  info.line_table = std::move(*table);
  info.name_ptr = h.name;
  info.filename_ptr = h.filename;
  info.line_table_ptr = h.line_table;
  return info;
}

const CodeInfo* CodeObjects::get(uint64_t code) {
  if (code == 0) return nullptr;
  auto h = header(code);
  if (!h) return nullptr;
  auto it = cache_.find(code);
  if (it != cache_.end()) {
    const CodeInfo& c = it->second;
    if (c.name_ptr == h->name && c.filename_ptr == h->filename &&
        c.line_table_ptr == h->line_table && c.first_line == h->first_line &&
        c.code_units == h->code_units)
      return &c;
    cache_.erase(it);
  }
  reads_++;
  auto info = read(code, *h);
  if (!info) return nullptr;
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  return &cache_.insert_or_assign(code, std::move(*info)).first->second;
}

int CodeObjects::line_of(const CodeInfo& info, uint64_t code, uint64_t instr) const {
  int64_t index = 0;
  switch (layout_.instr) {
    case InstrKind::lasti_bytes:
      index = static_cast<int32_t>(instr) / 2;
      if (static_cast<int32_t>(instr) < 0) index = -1;
      break;
    case InstrKind::lasti_units:
      index = static_cast<int32_t>(instr);
      break;
    case InstrKind::pointer:
      index = instr_index(info, code, instr);
      if (index < -1) return 0;  // not in this code object: no line rather than a wrong one
      break;
  }
  return line_for_instruction(layout_.line_table, info.line_table, info.first_line, index);
}

int64_t CodeObjects::instr_index(const CodeInfo& info, uint64_t code, uint64_t instr) const {
  constexpr uint64_t kMaxTlbcEntries = 4096;
  const uint64_t span = static_cast<uint64_t>(info.code_units) * 2;
  auto inside = [&](uint64_t base) -> int64_t {
    // 3.11/3.12 start at the unit before the first instruction (index -1);
    // instr_ptr may sit one unit past the last instruction while it returns.
    if (instr + 2 == base) return -1;
    if (instr < base || instr > base + span) return -2;
    return static_cast<int64_t>((instr - base) / 2);
  };
  int64_t index = inside(code + layout_.code_code_adaptive);
  if (index >= -1 || layout_.code_tlbc == kNoOffset) return index;
  // 3.14t: co_tlbc -> _PyCodeArray {Py_ssize_t size; char* entries[]}.
  auto array = memory_.value<uint64_t>(code + layout_.code_tlbc);
  auto size = array ? memory_.value<int64_t>(*array) : std::nullopt;
  if (!size || *size <= 0 || static_cast<uint64_t>(*size) > kMaxTlbcEntries) return -2;
  auto entries = memory_.bytes(*array + 8, static_cast<size_t>(*size) * 8);
  if (!entries) return -2;
  for (int64_t i = 0; i < *size; i++) {
    uint64_t base = 0;
    std::memcpy(&base, entries->data() + i * 8, 8);
    if (base && (index = inside(base)) >= -1) return index;
  }
  return -2;
}

}  // namespace loopprof::python
