#include "python/interpreter.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "target/proc_path.hpp"

namespace loopprof::python {

namespace {

struct MappedFile {
  uint64_t start = 0;
  uint64_t offset = 0;
  std::string path;
};

// First mapping of each file-backed path in /proc/PID/maps.
std::vector<MappedFile> mapped_files(pid_t pid) {
  std::ifstream in(proc_dir(pid) + "/maps");
  std::vector<MappedFile> out;
  std::map<std::string, bool> seen;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode, path;
    fields >> range >> perms >> offset >> dev >> inode;
    std::getline(fields >> std::ws, path);
    if (path.empty() || path[0] != '/' || seen[path]) continue;
    seen[path] = true;
    MappedFile f;
    f.start = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
    f.offset = std::stoull(offset, nullptr, 16);
    f.path = path;
    out.push_back(f);
  }
  return out;
}

struct ElfSymbols {
  std::map<std::string, uint64_t> values;
  uint64_t bias_delta = 0;  // p_vaddr - p_offset of the segment holding the mapped offset
  bool segment_found = false;
};

class ElfHandle {
 public:
  explicit ElfHandle(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ >= 0) elf_ = elf_begin(fd_, ELF_C_READ, nullptr);
  }
  ~ElfHandle() {
    if (elf_) elf_end(elf_);
    if (fd_ >= 0) ::close(fd_);
  }
  ElfHandle(const ElfHandle&) = delete;
  ElfHandle& operator=(const ElfHandle&) = delete;
  Elf* get() const { return elf_; }

 private:
  int fd_ = -1;
  Elf* elf_ = nullptr;
};

std::optional<ElfSymbols> read_elf(const std::string& path, uint64_t mapped_offset,
                                   const std::vector<std::string>& wanted) {
  elf_version(EV_CURRENT);
  ElfHandle elf(path);
  if (!elf.get() || elf_kind(elf.get()) != ELF_K_ELF) return std::nullopt;
  ElfSymbols out;
  size_t phnum = 0;
  if (elf_getphdrnum(elf.get(), &phnum) != 0) return std::nullopt;
  for (size_t i = 0; i < phnum; i++) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf.get(), static_cast<int>(i), &ph) || ph.p_type != PT_LOAD) continue;
    if (mapped_offset >= (ph.p_offset & ~0xfffULL) && mapped_offset < ph.p_offset + ph.p_filesz) {
      out.bias_delta = ph.p_vaddr - ph.p_offset;
      out.segment_found = true;
      break;
    }
  }
  // .symtab first (unstripped builds), then .dynsym.
  for (Elf64_Word type : {SHT_SYMTAB, SHT_DYNSYM}) {
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(elf.get(), scn)) != nullptr) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || sh.sh_entsize == 0) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      if (!data) continue;
      size_t count = sh.sh_size / sh.sh_entsize;
      for (size_t i = 0; i < count; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(data, static_cast<int>(i), &sym) || sym.st_shndx == SHN_UNDEF) continue;
        const char* name = elf_strptr(elf.get(), sh.sh_link, sym.st_name);
        if (!name) continue;
        for (const std::string& w : wanted)
          if (w == name && !out.values.count(w)) out.values[w] = sym.st_value;
      }
    }
  }
  return out;
}

// The contents of section `name` of an ELF file (empty if it has none).
std::vector<uint8_t> elf_section(const std::string& path, const char* name) {
  elf_version(EV_CURRENT);
  ElfHandle elf(path);
  size_t shstrndx = 0;
  if (!elf.get() || elf_kind(elf.get()) != ELF_K_ELF || elf_getshdrstrndx(elf.get(), &shstrndx))
    return {};
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf.get(), scn)) != nullptr) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS) continue;
    const char* sname = elf_strptr(elf.get(), shstrndx, sh.sh_name);
    if (!sname || std::string(sname) != name) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || !data->d_buf) return {};
    const auto* bytes = static_cast<const uint8_t*>(data->d_buf);
    return std::vector<uint8_t>(bytes, bytes + data->d_size);
  }
  return {};
}

bool python_named(const std::string& path) {
  return std::filesystem::path(path).filename().string().find("python") != std::string::npos;
}

}  // namespace

std::optional<PyVersion> version_from_file_name(const std::string& path) {
  static const std::regex re(R"(python(\d)\.(\d+))");
  std::smatch m;
  std::string name = std::filesystem::path(path).filename().string();
  if (!std::regex_search(name, m, re)) return std::nullopt;
  return PyVersion{std::stoi(m[1]), std::stoi(m[2]), -1};
}

Result<std::optional<InterpreterImage>> find_interpreter(pid_t pid) {
  auto files = mapped_files(pid);
  if (files.empty())
    return Error::failed(fmt::format("read the memory map of process {}", pid),
                         "/proc/PID/maps is empty or unreadable");
  std::string unsupported;  // a Python-named image without _PyRuntime (2.7, 3.6)
  for (const MappedFile& f : files) {
    if (!python_named(f.path)) continue;
    std::string on_disk = proc_dir(pid) + "/root" + f.path;
    auto elf = read_elf(on_disk, f.offset, {"_PyRuntime", "PyCode_Type", "Py_Version"});
    if (!elf || !elf->values.count("_PyRuntime") || !elf->segment_found) {
      if (elf && version_from_file_name(f.path) && unsupported.empty()) unsupported = f.path;
      continue;
    }
    InterpreterImage image;
    image.path = f.path;
    image.bias = f.start - f.offset - elf->bias_delta;
    image.runtime = image.bias + elf->values["_PyRuntime"];
    if (elf->values.count("PyCode_Type")) image.code_type = image.bias + elf->values["PyCode_Type"];
    if (elf->values.count("Py_Version")) image.py_version = image.bias + elf->values["Py_Version"];
    image.name_version = version_from_file_name(f.path);
    return std::optional<InterpreterImage>(image);
  }
  if (!unsupported.empty())
    return Error::failed(fmt::format("find _PyRuntime in {}", unsupported),
                         "no such symbol: a Python older than 3.7, or not CPython",
                         "supported: CPython 3.8 to 3.12, and 3.13 through _Py_DebugOffsets");
  return std::optional<InterpreterImage>();
}

std::vector<uint8_t> find_asyncio_debug(pid_t pid) {
  for (const MappedFile& f : mapped_files(pid)) {
    std::string name = std::filesystem::path(f.path).filename().string();
    if (name.find("python") == std::string::npos && name.rfind("_asyncio", 0) != 0) continue;
    auto raw = elf_section(fmt::format("/proc/{}/root{}", pid, f.path), ".AsyncioDebug");
    if (!raw.empty()) return raw;
  }
  return {};
}

Result<InterpreterLayout> interpreter_layout(const MemoryReader& memory,
                                             const InterpreterImage& image) {
  std::optional<PyVersion> version;
  if (image.py_version) {
    auto hex = memory.value<uint32_t>(image.py_version);
    if (hex) version = PyVersion::from_hex(*hex);
  }
  if (!version) version = image.name_version;
  if (!version)
    return Error::failed(fmt::format("recognise the Python in {}", image.path),
                         "no Py_Version symbol and no version in the file name");
  if (version->major == 3 && version->minor >= 13) {
    auto raw = memory.bytes(image.runtime, kDebugOffsetsReadSize);
    if (!raw)
      return Error::failed(fmt::format("read _PyRuntime of {}", image.path),
                           "target memory is not readable");
    return parse_debug_offsets(*raw);
  }
  return layout_for_version(*version);
}

}  // namespace loopprof::python
