#include "python/code_objects.hpp"

#include "python/line_table.hpp"

namespace loopprof::python {

namespace {
constexpr uint64_t kMaxStringChars = 4096;
constexpr uint64_t kMaxLineTableBytes = 1 << 20;
constexpr size_t kMaxCacheEntries = 1 << 16;

void append_utf8(std::string& out, uint32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x110000) {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += '?';
  }
}
}  // namespace

CodeObjects::CodeObjects(const MemoryReader& memory, const InterpreterLayout& layout,
                         uint64_t code_type)
    : memory_(memory), layout_(layout), code_type_(code_type) {}

std::optional<CodeObjects::Header> CodeObjects::header(uint64_t code) const {
  Header h;
  auto type = memory_.value<uint64_t>(code + layout_.object_type);
  auto name = memory_.value<uint64_t>(
      code + (layout_.code_qualname != kNoOffset ? layout_.code_qualname : layout_.code_name));
  auto filename = memory_.value<uint64_t>(code + layout_.code_filename);
  auto table = memory_.value<uint64_t>(code + layout_.code_linetable);
  auto first = memory_.value<int32_t>(code + layout_.code_firstlineno);
  if (!type || !name || !filename || !table || !first) return std::nullopt;
  if (code_type_ != 0 && *type != code_type_) return std::nullopt;
  if (*first < 0) return std::nullopt;
  h.type = *type;
  h.name = *name;
  h.filename = *filename;
  h.line_table = *table;
  h.first_line = *first;
  return h;
}

// A compact str object (every identifier and file name is one).
std::optional<std::string> CodeObjects::string(uint64_t unicode) const {
  auto length = memory_.value<int64_t>(unicode + layout_.unicode_length);
  auto state = memory_.value<uint32_t>(unicode + layout_.unicode_state);
  if (!length || !state || *length < 0 || static_cast<uint64_t>(*length) > kMaxStringChars)
    return std::nullopt;
  unsigned kind = (*state >> 2) & 7;
  bool compact = (*state >> 5) & 1;
  bool ascii = (*state >> 6) & 1;
  if (!compact || (kind != 1 && kind != 2 && kind != 4)) return std::nullopt;
  uint64_t data = unicode + (ascii ? layout_.unicode_ascii_data : layout_.unicode_compact_data);
  auto raw = memory_.bytes(data, static_cast<size_t>(*length) * kind);
  if (!raw) return std::nullopt;
  if (ascii) return std::string(raw->begin(), raw->end());
  std::string out;
  for (size_t i = 0; i < raw->size(); i += kind) {
    uint32_t c = 0;
    for (unsigned b = 0; b < kind; b++) c |= static_cast<uint32_t>((*raw)[i + b]) << (8 * b);
    append_utf8(out, c);
  }
  return out;
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
        c.line_table_ptr == h->line_table && c.first_line == h->first_line)
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
    case InstrKind::pointer: {
      uint64_t first = code + layout_.code_code_adaptive;
      index = instr >= first ? static_cast<int64_t>((instr - first) / 2) : -1;
      break;
    }
  }
  return line_for_instruction(layout_.line_table, info.line_table, info.first_line, index);
}

}  // namespace loopprof::python
