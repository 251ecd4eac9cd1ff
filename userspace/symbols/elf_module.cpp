#include "symbols/elf_module.hpp"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fmt/format.h>
#include <gelf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "symbols/demangle.hpp"
#include "symbols/function_scopes.hpp"
#include "symbols/symbol_table.hpp"

namespace loopprof {

namespace {

// Entries above this are dropped wholesale (the code of one binary rarely
// yields that many distinct sampled addresses).
constexpr size_t kMaxCachedAddresses = 1 << 18;

std::string dwfl_error() {
  return dwfl_errmsg(-1);
}

// Follows DW_AT_abstract_origin (inlined copies) and DW_AT_specification
// (out-of-class definitions) to the DIE that declares the function.
Dwarf_Die declaration_of(Dwarf_Die die) {
  for (int hops = 0; hops < 8; ++hops) {
    Dwarf_Attribute attr;
    Dwarf_Die next;
    if ((dwarf_attr(&die, DW_AT_abstract_origin, &attr) == nullptr &&
         dwarf_attr(&die, DW_AT_specification, &attr) == nullptr) ||
        dwarf_formref_die(&attr, &next) == nullptr)
      break;
    die = next;
  }
  return die;
}

// "ns::Class::" for a DIE declared inside namespaces/classes.
std::string scope_prefix(Dwarf_Die* die) {
  Dwarf_Die* scopes = nullptr;
  int n = dwarf_getscopes_die(die, &scopes);
  std::string prefix;
  for (int i = 1; i < n; ++i) {
    int tag = dwarf_tag(&scopes[i]);
    if (tag != DW_TAG_namespace && tag != DW_TAG_class_type && tag != DW_TAG_structure_type &&
        tag != DW_TAG_union_type)
      continue;
    const char* name = dwarf_diename(&scopes[i]);
    prefix = std::string(name != nullptr ? name : "(anonymous namespace)") + "::" + prefix;
  }
  free(scopes);
  return prefix;
}

// The function name of a subprogram or inlined-subroutine DIE: the demangled
// linkage name when there is one (C++ functions with external linkage), else
// DW_AT_name qualified by its enclosing namespaces and classes (static C++
// functions have no linkage name in DWARF; their names then carry no
// parameter list).
std::string die_function_name(Dwarf_Die* die, bool cplusplus) {
  Dwarf_Attribute attr;
  for (int at : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
    if (dwarf_attr_integrate(die, at, &attr) != nullptr) {
      if (const char* linkage = dwarf_formstring(&attr)) return demangle(linkage);
    }
  }
  Dwarf_Die declaration = declaration_of(*die);
  const char* name = dwarf_diename(&declaration);
  if (name == nullptr) return {};
  return cplusplus ? scope_prefix(&declaration) + name : name;
}

// DW_AT_call_file / DW_AT_call_line of an inlined-subroutine DIE: where its
// caller called it.
void call_site(Dwarf_Die* inlined, Dwarf_Files* files, std::string& file, uint32_t& line) {
  Dwarf_Attribute attr;
  Dwarf_Word value = 0;
  if (dwarf_attr(inlined, DW_AT_call_line, &attr) != nullptr && dwarf_formudata(&attr, &value) == 0)
    line = static_cast<uint32_t>(value);
  if (files != nullptr && dwarf_attr(inlined, DW_AT_call_file, &attr) != nullptr &&
      dwarf_formudata(&attr, &value) == 0) {
    if (const char* name = dwarf_filesrc(files, value, nullptr, nullptr)) {
      file = name;
      if (file.starts_with("./")) file.erase(0, 2);
    }
  }
}

}  // namespace

Result<std::unique_ptr<ElfModule>> ElfModule::open(UniqueFd fd, const std::string& path,
                                                   const std::vector<std::string>& debug_dirs) {
  std::unique_ptr<ElfModule> module(new ElfModule());
  module->path_ = path;
  // "" = the file's own directory, ".debug" = its .debug subdirectory (both
  // for .gnu_debuglink names), then the global roots (also for build IDs).
  module->debuginfo_path_ = ":.debug";
  for (const auto& dir : debug_dirs) module->debuginfo_path_ += ":" + dir;
  module->debuginfo_path_ptr_ = module->debuginfo_path_.data();
  module->callbacks_.find_elf = dwfl_build_id_find_elf;
  module->callbacks_.find_debuginfo = dwfl_standard_find_debuginfo;
  module->callbacks_.section_address = dwfl_offline_section_address;
  module->callbacks_.debuginfo_path = &module->debuginfo_path_ptr_;

  module->dwfl_ = dwfl_begin(&module->callbacks_);
  if (module->dwfl_ == nullptr) return Error::failed("open " + path, dwfl_error());
  dwfl_report_begin(module->dwfl_);
  // Bias 0: dwfl addresses are the file's virtual addresses. libdwfl takes
  // ownership of the descriptor it is given only on success: give it a copy.
  int dwfl_fd = ::dup(fd.get());
  if (dwfl_fd < 0) return Error::failed("open " + path, std::strerror(errno));
  module->module_ = dwfl_report_elf(module->dwfl_, path.c_str(), path.c_str(), dwfl_fd, 0, true);
  if (module->module_ == nullptr) {
    ::close(dwfl_fd);
    return Error::failed("read ELF file " + path, dwfl_error());
  }
  dwfl_report_end(module->dwfl_, nullptr, nullptr);

  GElf_Addr bias = 0;
  Elf* elf = dwfl_module_getelf(module->module_, &bias);
  if (elf == nullptr) return Error::failed("read ELF file " + path, dwfl_error());
  size_t phnum = 0;
  if (elf_getphdrnum(elf, &phnum) != 0)
    return Error::failed("read program headers of " + path, elf_errmsg(-1));
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr phdr;
    if (gelf_getphdr(elf, static_cast<int>(i), &phdr) == nullptr || phdr.p_type != PT_LOAD)
      continue;
    module->segments_.push_back(Segment{phdr.p_offset, phdr.p_vaddr, phdr.p_filesz});
  }
  if (module->segments_.empty())
    return Error::failed("read program headers of " + path, "no PT_LOAD segment");

  const unsigned char* bits = nullptr;
  GElf_Addr note_vaddr = 0;
  int length = dwfl_module_build_id(module->module_, &bits, &note_vaddr);
  for (int i = 0; i < length; ++i) module->build_id_ += fmt::format("{:02x}", bits[i]);
  return module;
}

ElfModule::~ElfModule() {
  if (dwfl_ != nullptr) dwfl_end(dwfl_);
}

std::optional<uint64_t> ElfModule::vaddr_of_file_offset(uint64_t offset) const {
  for (const Segment& s : segments_) {
    if (offset >= s.offset && offset - s.offset < s.filesz) return s.vaddr + (offset - s.offset);
  }
  return std::nullopt;
}

const std::vector<SymbolicFrame>& ElfModule::lookup(uint64_t vaddr) {
  auto it = cache_.find(vaddr);
  if (it != cache_.end()) return it->second;
  if (cache_.size() >= kMaxCachedAddresses) cache_.clear();
  return cache_.emplace(vaddr, resolve(vaddr)).first->second;
}

std::optional<std::string> ElfModule::symbol_name(uint64_t vaddr) {
  if (!symbols_) symbols_ = SymbolTable::read(module_);
  auto name = symbols_->lookup(vaddr);
  if (!name) return std::nullopt;
  return demangle(*name);
}

Dwarf_Die* ElfModule::compile_unit(uint64_t vaddr, Dwarf_Addr& bias) {
  if (Dwarf_Die* cu = dwfl_module_addrdie(module_, vaddr, &bias)) return cu;
  // No .debug_aranges entry (clang emits none by default; libdw 0.188 then
  // finds nothing): index the units' own address ranges, once.
  if (!cu_ranges_) {
    cu_ranges_.emplace();
    Dwarf_Addr cu_bias = 0;
    for (Dwarf_Die* cu = nullptr; (cu = dwfl_module_nextcu(module_, cu, &cu_bias)) != nullptr;) {
      Dwarf_Addr base = 0, low = 0, high = 0;
      for (ptrdiff_t offset = 0; (offset = dwarf_ranges(cu, offset, &base, &low, &high)) > 0;) {
        if (high > low) cu_ranges_->push_back(CuRange{low + cu_bias, high + cu_bias, cu_bias, *cu});
      }
    }
    std::sort(cu_ranges_->begin(), cu_ranges_->end(),
              [](const CuRange& a, const CuRange& b) { return a.low < b.low; });
  }
  auto it = std::upper_bound(cu_ranges_->begin(), cu_ranges_->end(), vaddr,
                             [](uint64_t a, const CuRange& r) { return a < r.low; });
  if (it == cu_ranges_->begin() || vaddr >= (it - 1)->high) return nullptr;
  --it;
  bias = it->bias;
  return &it->cu;
}

const FunctionScopes* ElfModule::scopes_of(Dwarf_Die* cu) {
  auto [it, inserted] = cu_scopes_.try_emplace(cu->addr);
  if (inserted) it->second = std::make_unique<FunctionScopes>(*cu);
  return it->second.get();
}

const std::string& ElfModule::function_name(Dwarf_Die* die, bool cplusplus) {
  auto [it, inserted] = names_.try_emplace(die->addr);
  if (inserted) it->second = die_function_name(die, cplusplus);
  return it->second;
}

std::vector<SymbolicFrame> ElfModule::resolve(uint64_t vaddr) {
  std::vector<SymbolicFrame> frames;
  std::optional<std::string> symbol = symbol_name(vaddr);

  // DWARF: the out-of-line function holding vaddr, then the calls inlined
  // into it down to the innermost one (outermost first).
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = compile_unit(vaddr, bias);
  std::vector<Dwarf_Die> chain;
  if (cu != nullptr) chain = scopes_of(cu)->chain(vaddr - bias);

  // The line of the address itself.
  std::string leaf_file;
  uint32_t leaf_line = 0;
  if (Dwarf_Line* line = cu != nullptr ? dwarf_getsrc_die(cu, vaddr - bias) : nullptr) {
    int lineno = 0;
    const char* file = dwarf_linesrc(line, nullptr, nullptr);
    if (file != nullptr && dwarf_lineno(line, &lineno) == 0) {
      leaf_file = file;
      if (leaf_file.starts_with("./")) leaf_file.erase(0, 2);
      leaf_line = lineno > 0 ? static_cast<uint32_t>(lineno) : 0;
    }
  }

  if (chain.empty()) {
    if (symbol) frames.push_back(SymbolicFrame{*symbol, leaf_file, leaf_line, false});
    return frames;
  }

  Dwarf_Files* files = nullptr;
  size_t nfiles = 0;
  if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0) files = nullptr;
  const int language = dwarf_srclang(cu);
  const bool cplusplus = language == DW_LANG_C_plus_plus || language == DW_LANG_C_plus_plus_03 ||
                         language == DW_LANG_C_plus_plus_11 || language == DW_LANG_C_plus_plus_14;

  // Each frame's line is where it calls the next one in; the innermost
  // frame's is the line of the address.
  for (size_t i = 0; i < chain.size(); ++i) {
    SymbolicFrame frame;
    frame.inlined = i > 0;
    // The out-of-line function: the symbol table names it exactly (clones
    // such as foo.cold or foo.constprop.0 included).
    frame.name = i == 0 && symbol ? *symbol : function_name(&chain[i], cplusplus);
    if (i + 1 < chain.size()) {
      call_site(&chain[i + 1], files, frame.file, frame.line);
    } else {
      frame.file = leaf_file;
      frame.line = leaf_line;
    }
    frames.push_back(std::move(frame));
  }
  // Without a name for the function itself nothing here is trustworthy.
  if (frames.front().name.empty()) frames.clear();
  for (SymbolicFrame& frame : frames) {
    if (frame.name.empty()) frame.name = "[inlined]";
  }
  return frames;
}

// Function starts from .eh_frame_hdr's binary search table (sorted
// initial locations of every FDE), in the encoding every toolchain writes:
// data-relative signed 4-byte entries, a 4-byte count.
std::optional<uint64_t> ElfModule::function_start(uint64_t vaddr) {
  if (!fde_starts_) {
    fde_starts_.emplace();
    Dwarf_Addr bias = 0;
    Elf* elf = dwfl_module_getelf(module_, &bias);
    size_t shstrndx = 0;
    if (elf && elf_getshdrstrndx(elf, &shstrndx) == 0) {
      Elf_Scn* scn = nullptr;
      while ((scn = elf_nextscn(elf, scn)) != nullptr) {
        GElf_Shdr shdr;
        if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS) continue;
        const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
        if (!name || std::strcmp(name, ".eh_frame_hdr") != 0) continue;
        Elf_Data* data = elf_getdata(scn, nullptr);
        if (!data || data->d_size < 12) break;
        const auto* b = static_cast<const uint8_t*>(data->d_buf);
        constexpr uint8_t kPcrelSdata4 = 0x1b, kUdata4 = 0x03, kDatarelSdata4 = 0x3b;
        if (b[0] != 1 || b[1] != kPcrelSdata4 || b[2] != kUdata4 || b[3] != kDatarelSdata4) break;
        uint32_t count;
        std::memcpy(&count, b + 8, 4);
        if (12 + static_cast<uint64_t>(count) * 8 > data->d_size) break;
        fde_starts_->reserve(count);
        for (uint32_t k = 0; k < count; k++) {
          int32_t rel;
          std::memcpy(&rel, b + 12 + k * 8, 4);
          fde_starts_->push_back(shdr.sh_addr + static_cast<int64_t>(rel));
        }
        std::sort(fde_starts_->begin(), fde_starts_->end());
        break;
      }
    }
  }
  auto it = std::upper_bound(fde_starts_->begin(), fde_starts_->end(), vaddr);
  if (it == fde_starts_->begin()) return std::nullopt;
  const uint64_t start = *std::prev(it);
  // Only if an FDE covers the address (not a gap after the last function).
  Dwarf_Addr bias = 0;
  Dwarf_CFI* cfi = dwfl_module_eh_cfi(module_, &bias);
  Dwarf_Frame* frame = nullptr;
  if (!cfi || dwarf_cfi_addrframe(cfi, vaddr - bias, &frame) != 0 || !frame) return std::nullopt;
  free(frame);
  return start;
}

}  // namespace loopprof
