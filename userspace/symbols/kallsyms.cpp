#include "symbols/kallsyms.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

namespace loopprof {

namespace {

bool is_text_symbol(char type) {
  return type == 't' || type == 'T' || type == 'w' || type == 'W';
}

// Section boundaries ("_etext", "__entry_text_start", ...): they share an
// address with a real function or end a region, never name code.
bool is_marker(std::string_view name) {
  if (name == "_text" || name == "_stext" || name == "_etext" || name == "_sinittext" ||
      name == "_einittext")
    return true;
  return name.starts_with("__") && (name.ends_with("_start") || name.ends_with("_end"));
}

}  // namespace

KallsymsTable KallsymsTable::parse(std::istream& in) {
  KallsymsTable table;
  std::string line;
  while (std::getline(in, line)) {
    // "ffffffff81000000 T _text" or "ffffffffc0a01000 t fn\t[module]"
    const char* begin = line.data();
    const char* end = begin + line.size();
    uint64_t address = 0;
    auto [p, ec] = std::from_chars(begin, end, address, 16);
    if (ec != std::errc() || p + 3 > end || p[0] != ' ' || p[2] != ' ') continue;
    if (!is_text_symbol(p[1]) || address == 0) continue;
    const char* name = p + 3;
    const char* name_end = std::find_if(name, end, [](char c) { return c == '\t' || c == ' '; });
    if (name_end == name) continue;
    table.symbols_.push_back(Symbol{address, static_cast<uint32_t>(table.names_.size()),
                                    static_cast<uint32_t>(name_end - name)});
    table.names_.append(name, name_end);
  }
  std::stable_sort(table.symbols_.begin(), table.symbols_.end(),
                   [](const Symbol& a, const Symbol& b) { return a.address < b.address; });
  return table;
}

Result<KallsymsTable> KallsymsTable::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::failed("read " + path, std::strerror(errno));
  KallsymsTable table = parse(in);
  if (table.size() == 0)
    return Error::failed("read kernel symbols from " + path, "no usable text symbol",
                         "run as root, or set kernel.kptr_restrict=0");
  return table;
}

std::optional<std::string_view> KallsymsTable::lookup(uint64_t address) const {
  auto it = std::upper_bound(symbols_.begin(), symbols_.end(), address,
                             [](uint64_t a, const Symbol& s) { return a < s.address; });
  if (it == symbols_.begin() || it == symbols_.end()) return std::nullopt;
  // Several names can share one address: take a function's over a marker's.
  // An address after an end marker (and before the next function) has none.
  const uint64_t start = (it - 1)->address;
  for (auto s = it; s != symbols_.begin() && (s - 1)->address == start;) {
    --s;
    std::string_view name = std::string_view(names_).substr(s->name_offset, s->name_size);
    if (!is_marker(name)) return name;
  }
  return std::nullopt;
}

}  // namespace loopprof
