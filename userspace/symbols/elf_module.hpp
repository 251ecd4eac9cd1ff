// One ELF file (executable, shared library, vdso image) opened with libdwfl:
// symbols from .symtab/.dynsym, DWARF lines and inlined frames, separate debug
// files found by build ID or .gnu_debuglink. Addresses are the file's own
// virtual addresses (the module is reported at bias 0), so one ElfModule
// serves every process that maps the file, whatever its load address.
#pragma once

#include <elfutils/libdwfl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "core/unique_fd.hpp"
#include "symbols/function_scopes.hpp"
#include "symbols/symbol_table.hpp"

namespace loopprof {

// A frame without process-specific fields (address, module).
struct SymbolicFrame {
  std::string name;
  std::string file;
  uint32_t line = 0;
  bool inlined = false;
};

class ElfModule {
 public:
  // Takes the file through `fd`; `path` names it (its directory is where
  // .gnu_debuglink files are looked for). `debug_dirs` are global debug roots.
  static Result<std::unique_ptr<ElfModule>> open(UniqueFd fd, const std::string& path,
                                                 const std::vector<std::string>& debug_dirs);
  ~ElfModule();
  ElfModule(const ElfModule&) = delete;
  ElfModule& operator=(const ElfModule&) = delete;

  // Hex build ID ("" when the file has none).
  const std::string& build_id() const { return build_id_; }
  const std::string& path() const { return path_; }

  // The virtual address that file offset `offset` is loaded at (through the
  // PT_LOAD segment holding it), or nullopt if no segment maps it.
  std::optional<uint64_t> vaddr_of_file_offset(uint64_t offset) const;

  // Frames at virtual address `vaddr`, outermost first; empty when neither
  // the symbol tables nor DWARF name it. Cached.
  const std::vector<SymbolicFrame>& lookup(uint64_t vaddr);

  // Start of the function holding `vaddr`, from the .eh_frame FDE covering
  // it (.eh_frame_hdr's table): groups unnamed code by function in a stripped
  // binary. nullopt when no FDE covers it.
  std::optional<uint64_t> function_start(uint64_t vaddr);

 private:
  struct Segment {
    uint64_t offset;
    uint64_t vaddr;
    uint64_t filesz;
  };
  ElfModule() = default;
  std::vector<SymbolicFrame> resolve(uint64_t vaddr);
  std::optional<std::string> symbol_name(uint64_t vaddr);
  Dwarf_Die* compile_unit(uint64_t vaddr, Dwarf_Addr& bias);
  const FunctionScopes* scopes_of(Dwarf_Die* cu);
  const std::string& function_name(Dwarf_Die* die, bool cplusplus);

  std::string path_;
  std::string debuginfo_path_;  // libdwfl's search path string
  char* debuginfo_path_ptr_ = nullptr;
  Dwfl_Callbacks callbacks_{};
  Dwfl* dwfl_ = nullptr;
  Dwfl_Module* module_ = nullptr;
  std::string build_id_;
  std::vector<Segment> segments_;
  std::optional<SymbolTable> symbols_;  // read on first use
  struct CuRange {
    uint64_t low;
    uint64_t high;
    Dwarf_Addr bias;
    Dwarf_Die cu;
  };
  std::optional<std::vector<CuRange>> cu_ranges_;  // built when aranges fall short
  // Keyed by the DIE's position in the mapped debug data (unique across the
  // main and alternate debug files, unlike DIE offsets).
  std::unordered_map<const void*, std::unique_ptr<FunctionScopes>> cu_scopes_;
  std::unordered_map<const void*, std::string> names_;
  std::unordered_map<uint64_t, std::vector<SymbolicFrame>> cache_;
  std::optional<std::vector<uint64_t>> fde_starts_;  // read on first use
};

}  // namespace loopprof
