#include "symbols/symbol_table.hpp"

#include <gelf.h>

#include <algorithm>

namespace loopprof {

namespace {

// How far back a lookup looks for a big symbol enclosing smaller ones.
constexpr int kMaxEnclosingScan = 8;

uint8_t rank_of(const GElf_Sym& sym) {
  // Sized before sizeless; global before weak before local aliases.
  uint8_t rank = sym.st_size == 0 ? 4 : 0;
  switch (GELF_ST_BIND(sym.st_info)) {
    case STB_GLOBAL:
      return rank;
    case STB_WEAK:
      return rank + 1;
    default:
      return rank + 2;
  }
}

}  // namespace

SymbolTable SymbolTable::read(Dwfl_Module* module) {
  SymbolTable table;
  int count = dwfl_module_getsymtab(module);
  for (int i = 1; i < count; ++i) {
    GElf_Sym sym;
    GElf_Addr address = 0;
    GElf_Word shndx = 0;
    Elf* elf = nullptr;
    Dwarf_Addr bias = 0;
    const char* name = dwfl_module_getsym_info(module, i, &sym, &address, &shndx, &elf, &bias);
    if (name == nullptr || name[0] == '\0' || shndx == SHN_UNDEF) continue;
    int type = GELF_ST_TYPE(sym.st_info);
    if (type != STT_FUNC && type != STT_GNU_IFUNC) continue;
    std::string_view plain(name);
    plain = plain.substr(0, plain.find('@'));  // "memcpy@@GLIBC_2.14" -> "memcpy"
    table.symbols_.push_back(Symbol{address, sym.st_size,
                                    static_cast<uint32_t>(table.names_.size()),
                                    static_cast<uint32_t>(plain.size()), rank_of(sym)});
    table.names_.append(plain);
  }
  auto& symbols = table.symbols_;
  std::sort(symbols.begin(), symbols.end(), [](const Symbol& a, const Symbol& b) {
    return a.address != b.address ? a.address < b.address : a.rank < b.rank;
  });
  symbols.erase(
      std::unique(symbols.begin(), symbols.end(),
                  [](const Symbol& a, const Symbol& b) { return a.address == b.address; }),
      symbols.end());
  symbols.shrink_to_fit();
  return table;
}

std::optional<std::string_view> SymbolTable::lookup(uint64_t vaddr) const {
  auto it = std::upper_bound(symbols_.begin(), symbols_.end(), vaddr,
                             [](uint64_t a, const Symbol& s) { return a < s.address; });
  for (int scanned = 0; it != symbols_.begin() && scanned < kMaxEnclosingScan; ++scanned) {
    const Symbol& s = *--it;
    bool hit = s.size == 0 ? vaddr == s.address : vaddr - s.address < s.size;
    if (hit) return std::string_view(names_).substr(s.name_offset, s.name_size);
  }
  return std::nullopt;
}

}  // namespace loopprof
