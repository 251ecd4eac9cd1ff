// The kernel's symbol table (/proc/kallsyms): text symbols sorted by address.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace loopprof {

class KallsymsTable {
 public:
  // Parses "ADDRESS TYPE NAME [MODULE]" lines; keeps text symbols (t, T, w, W).
  static KallsymsTable parse(std::istream& in);
  static Result<KallsymsTable> load(const std::string& path);

  // The symbol at or below `address`, if `address` lies before the next
  // symbol. Past the last symbol nothing matches (its size is unknown).
  std::optional<std::string_view> lookup(uint64_t address) const;
  size_t size() const { return symbols_.size(); }

 private:
  struct Symbol {
    uint64_t address;
    uint32_t name_offset;
    uint32_t name_size;
  };
  std::vector<Symbol> symbols_;  // sorted by address
  std::string names_;            // all names, back to back
};

}  // namespace loopprof
