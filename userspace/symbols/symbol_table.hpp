// A module's function symbols (.symtab, else .dynsym, plus MiniDebugInfo),
// read once through libdwfl and sorted for binary search: libdwfl's own
// address lookup scans the whole table on every call.
#pragma once

#include <elfutils/libdwfl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loopprof {

class SymbolTable {
 public:
  static SymbolTable read(Dwfl_Module* module);

  // The (mangled, unversioned) name of the function holding `vaddr`: a
  // symbol whose [value, value+size) contains it, or a sizeless symbol
  // exactly at it. Sizeless symbols never claim the bytes after them: in a
  // stripped binary those are often other, unnamed functions.
  std::optional<std::string_view> lookup(uint64_t vaddr) const;
  size_t size() const { return symbols_.size(); }

 private:
  struct Symbol {
    uint64_t address;
    uint64_t size;
    uint32_t name_offset;
    uint32_t name_size;
    uint8_t rank;  // preference among aliases: lower is better
  };
  std::vector<Symbol> symbols_;  // sorted by address, one per address
  std::string names_;
};

}  // namespace loopprof
