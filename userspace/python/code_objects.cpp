#include "python/code_objects.hpp"

#include "python/line_table.hpp"
#include "python/objects.hpp"

namespace loopprof::python {

namespace {
constexpr uint64_t kMaxLineTableBytes = 1 << 20;
constexpr size_t kMaxCacheEntries = 1 << 16;

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
