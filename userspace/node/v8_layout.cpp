#include "node/v8_layout.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstring>

#include "core/unique_fd.hpp"

namespace loopprof::node {

namespace {

constexpr std::string_view kPrefix = "v8dbg_";

class ElfHandle {
 public:
  explicit ElfHandle(int fd) {
    elf_version(EV_CURRENT);
    elf_ = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  }
  ~ElfHandle() {
    if (elf_) elf_end(elf_);
  }
  ElfHandle(const ElfHandle&) = delete;
  ElfHandle& operator=(const ElfHandle&) = delete;
  Elf* get() const { return elf_; }

 private:
  Elf* elf_ = nullptr;
};

// The 4-byte int a v8dbg symbol holds (they are all `int` constants).
std::optional<int64_t> symbol_value(Elf* elf, const GElf_Sym& sym) {
  Elf_Scn* scn = elf_getscn(elf, sym.st_shndx);
  GElf_Shdr shdr;
  if (!scn || !gelf_getshdr(scn, &shdr)) return std::nullopt;
  if (shdr.sh_type == SHT_NOBITS) return 0;  // zero-initialised: in .bss
  if (sym.st_value < shdr.sh_addr || sym.st_value + 4 > shdr.sh_addr + shdr.sh_size)
    return std::nullopt;
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data || !data->d_buf) return std::nullopt;
  const uint64_t at = sym.st_value - shdr.sh_addr;
  if (at + 4 > data->d_size) return std::nullopt;
  int32_t v;
  std::memcpy(&v, static_cast<const char*>(data->d_buf) + at, 4);
  return v;
}

void read_table(Elf* elf, Elf_Scn* scn, const GElf_Shdr& shdr, V8DebugSymbols& out) {
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data || shdr.sh_entsize == 0) return;
  const size_t count = shdr.sh_size / shdr.sh_entsize;
  for (size_t i = 0; i < count; i++) {
    GElf_Sym sym;
    if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
    const char* name = elf_strptr(elf, shdr.sh_link, sym.st_name);
    if (!name || std::strncmp(name, kPrefix.data(), kPrefix.size()) != 0) continue;
    if (sym.st_shndx == SHN_UNDEF) continue;
    if (auto v = symbol_value(elf, sym)) out.emplace(name + kPrefix.size(), *v);
  }
}

struct Field {
  const char* symbol;
  uint32_t V8Layout::*member;
};

// Fields V8 renamed (class__field__ prefixes), older name first; values
// checked equal on Node 22 and 24.
const std::pair<std::string_view, std::string_view> kRenamedFields[] = {
    {"class_SharedFunctionInfo__script_or_debug_info__", "class_SharedFunctionInfo__script__"},
};

}  // namespace

Result<V8DebugSymbols> read_v8_debug_symbols(const std::string& elf_path) {
  UniqueFd fd(::open(elf_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::failed(fmt::format("open {}", elf_path), std::strerror(errno));
  ElfHandle elf(fd.get());
  if (!elf.get() || elf_kind(elf.get()) != ELF_K_ELF)
    return Error::failed(fmt::format("read {}", elf_path), "not an ELF file");
  V8DebugSymbols out;
  for (Elf64_Word wanted : {SHT_SYMTAB, SHT_DYNSYM}) {
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(elf.get(), scn)) != nullptr) {
      GElf_Shdr shdr;
      if (gelf_getshdr(scn, &shdr) && shdr.sh_type == wanted) read_table(elf.get(), scn, shdr, out);
    }
    if (!out.empty()) break;
  }
  return out;
}

Result<V8Layout> v8_layout_from_symbols(const V8DebugSymbols& s) {
  auto exact = [&](const std::string& name) -> std::optional<int64_t> {
    if (auto it = s.find(name); it != s.end()) return it->second;
    return std::nullopt;
  };
  // A class field is found by class and field name whatever its type is
  // spelled as: V8 12+ writes Tagged<T> ("name__Tagged_Object_" for
  // "name__Object", Node 24 "name__Tagged_NameOrScopeInfoT_"). Spellings that
  // disagree on the value count as absent.
  auto field_any_type = [&](const std::string& prefix) -> std::optional<int64_t> {
    std::optional<int64_t> found;
    for (auto it = s.lower_bound(prefix); it != s.end() && it->first.starts_with(prefix); ++it) {
      if (found && *found != it->second) return std::nullopt;
      found = it->second;
    }
    return found;
  };
  auto get = [&](const std::string& name) -> std::optional<int64_t> {
    if (auto v = exact(name)) return v;
    const auto type_at = name.rfind("__");
    if (name.rfind("class_", 0) != 0 || type_at == std::string::npos) return std::nullopt;
    std::string prefix = name.substr(0, type_at + 2);
    for (const auto& [older, newer] : kRenamedFields)
      if (prefix == older) prefix = newer;
    return field_any_type(prefix);
  };
  V8Layout l;
  // The values without which no frame can be read.
  static const char* kRequired[] = {
      "off_fp_function",
      "off_fp_context",
      "class_JSFunction__shared__SharedFunctionInfo",
      "class_SharedFunctionInfo__name_or_scope_info__Object",
      "class_SharedFunctionInfo__script_or_debug_info__HeapObject",
      "class_Script__name__Object",
      "type_SharedFunctionInfo__SHARED_FUNCTION_INFO_TYPE",
      "type_Script__SCRIPT_TYPE",
      "frametype_InterpretedFrame",
  };
  for (const char* name : kRequired)
    if (!get(name))
      return Error::failed("read V8's frame layout",
                           fmt::format("the binary has no v8dbg_{} symbol", name),
                           "JavaScript frames stay unnamed; a perf map (--perf-basic-prof) "
                           "still names JIT code");
  if (get("TaggedSize").value_or(8) != 8 || get("SystemPointerSize").value_or(8) != 8)
    return Error::failed("read V8's frame layout", "pointer compression is not supported");

  l.fp_context = *get("off_fp_context");
  l.fp_function = *get("off_fp_function");
  l.fp_bytecode_array = get("off_fp_bytecode_array").value_or(l.fp_bytecode_array);
  l.fp_bytecode_offset = get("off_fp_bytecode_offset").value_or(l.fp_bytecode_offset);
  for (const auto& [name, value] : s)
    if (name.rfind("frametype_", 0) == 0)
      l.frame_types[static_cast<int>(value)] = name.substr(std::strlen("frametype_"));
  l.frametype_interpreted = static_cast<int>(get("frametype_InterpretedFrame").value_or(-1));
  l.frametype_baseline = static_cast<int>(get("frametype_BaselineFrame").value_or(-1));
  l.frametype_maglev = static_cast<int>(get("frametype_MaglevFrame").value_or(-1));
  l.frametype_turbofan = static_cast<int>(
      get("frametype_TurbofanFrame").value_or(get("frametype_OptimizedFrame").value_or(-1)));

  l.smi_shift = static_cast<uint32_t>(get("SmiShiftSize").value_or(31) + 1);
  l.heap_object_tag_mask = static_cast<uint64_t>(get("HeapObjectTagMask").value_or(3));
  l.heap_object_tag = static_cast<uint64_t>(get("HeapObjectTag").value_or(1));

  static const Field kFields[] = {
      {"class_Map__instance_type__uint16_t", &V8Layout::map_instance_type},
      {"class_JSFunction__shared__SharedFunctionInfo", &V8Layout::function_shared},
      {"class_SharedFunctionInfo__name_or_scope_info__Object",
       &V8Layout::shared_name_or_scope_info},
      {"class_SharedFunctionInfo__script_or_debug_info__HeapObject",
       &V8Layout::shared_script_or_debug_info},
      {"class_SharedFunctionInfo__function_data__Object", &V8Layout::shared_function_data},
      {"class_UncompiledData__inferred_name__String", &V8Layout::uncompiled_inferred_name},
      {"class_UncompiledData__start_position__int32_t", &V8Layout::uncompiled_start_position},
      {"class_Script__source__Object", &V8Layout::script_source},
      {"class_Script__name__Object", &V8Layout::script_name},
      {"class_Script__line_ends__Object", &V8Layout::script_line_ends},
      {"class_FixedArrayBase__length__SMI", &V8Layout::fixed_array_length},
      {"class_FixedArray__data__uintptr_t", &V8Layout::fixed_array_data},
      {"class_BytecodeArray__data__uintptr_t", &V8Layout::bytecode_array_data},
      {"class_Code__bytecode_or_interpreter_data__HeapObject",
       &V8Layout::code_bytecode_or_interpreter_data},
      {"class_String__length__int32_t", &V8Layout::string_length},
      {"class_SeqOneByteString__chars__char", &V8Layout::seq_string_chars},
      {"class_ConsString__first__String", &V8Layout::cons_first},
      {"class_ConsString__second__String", &V8Layout::cons_second},
      {"class_SlicedString__parent__String", &V8Layout::sliced_parent},
      {"class_SlicedString__offset__SMI", &V8Layout::sliced_offset},
      {"class_ThinString__actual__String", &V8Layout::thin_actual},
      {"FirstNonstringType", &V8Layout::first_nonstring_type},
      {"StringRepresentationMask", &V8Layout::string_representation_mask},
      {"StringEncodingMask", &V8Layout::string_encoding_mask},
      {"OneByteStringTag", &V8Layout::one_byte_tag},
      {"SeqStringTag", &V8Layout::seq_tag},
      {"ConsStringTag", &V8Layout::cons_tag},
      {"ExternalStringTag", &V8Layout::external_tag},
      {"SlicedStringTag", &V8Layout::sliced_tag},
      {"ThinStringTag", &V8Layout::thin_tag},
      {"type_SharedFunctionInfo__SHARED_FUNCTION_INFO_TYPE", &V8Layout::type_shared_function_info},
      {"type_Script__SCRIPT_TYPE", &V8Layout::type_script},
      {"type_ScopeInfo__SCOPE_INFO_TYPE", &V8Layout::type_scope_info},
      {"type_BytecodeArray__BYTECODE_ARRAY_TYPE", &V8Layout::type_bytecode_array},
      {"type_ByteArray__BYTE_ARRAY_TYPE", &V8Layout::type_byte_array},
      {"type_FixedArray__FIXED_ARRAY_TYPE", &V8Layout::type_fixed_array},
      {"type_InterpreterData__INTERPRETER_DATA_TYPE", &V8Layout::type_interpreter_data},
      {"type_Code__CODE_TYPE", &V8Layout::type_code},
  };
  for (const Field& f : kFields)
    if (auto v = get(f.symbol)) l.*f.member = static_cast<uint32_t>(*v);
  if (auto v = get("class_ExternalString__resource__Object"))
    l.external_resource_data = static_cast<uint32_t>(*v) + 8;

  // ScopeInfo slots by index after the map: V8 13 (Node 24) moved the
  // position info in front of the context local names (first_vars 3 -> 5).
  if (auto v = get("scopeinfo_idx_ncontextlocals"))
    l.scope_info_context_local_count = static_cast<uint32_t>((*v + 1) * l.tagged_size);
  if (auto v = get("scopeinfo_idx_first_vars"))
    l.scope_info_first_local = static_cast<uint32_t>((*v + 1) * l.tagged_size);

  // V8 12 (Node 22) moved BytecodeArray to trusted space: a wrapper field
  // is published, the source position table (not published) is the next
  // tagged field, and the table is a TrustedByteArray.
  if (auto wrapper = get("class_BytecodeArray__wrapper__BytecodeWrapper")) {
    l.bytecode_array_source_positions = static_cast<uint32_t>(*wrapper) + l.tagged_size;
    if (auto t = get("type_TrustedByteArray__TRUSTED_BYTE_ARRAY_TYPE"))
      l.type_byte_array = static_cast<uint32_t>(*t);
  }

  // UncompiledData subtypes: the lowest and highest published.
  for (const auto& [name, value] : s) {
    if (name.rfind("type_UncompiledData", 0) != 0) continue;
    const auto v = static_cast<uint32_t>(value);
    if (l.type_uncompiled_first == 0 || v < l.type_uncompiled_first) l.type_uncompiled_first = v;
    if (v > l.type_uncompiled_last) l.type_uncompiled_last = v;
  }
  return l;
}

}  // namespace loopprof::node
