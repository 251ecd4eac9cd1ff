// ProcessSymbolizer against the ELF files of tests/elf, run as real processes.
#include <elf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gelf.h>
#include <gtest/gtest.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "symbols/module_cache.hpp"
#include "symbols/proc_maps.hpp"
#include "symbols/symbolizer.hpp"
#include "symbols_test_child.hpp"

namespace loopprof {
namespace {

using testing::elf_dir;
using testing::SymbolTestChild;

const std::string kNoDebugDir = "/nonexistent/loopprof-debug";

std::unique_ptr<ProcessSymbolizer> symbolizer_for(
    pid_t pid, std::vector<std::string> debug_dirs,
    std::chrono::milliseconds reload = std::chrono::milliseconds(1000)) {
  ProcessSymbolizerOptions options;
  options.debug_dirs = std::move(debug_dirs);
  options.reload_interval = reload;
  auto symbolizer = ProcessSymbolizer::open(pid, options);
  EXPECT_TRUE(symbolizer.ok());
  return std::move(symbolizer.value());
}

// The 1-based line of tests/elf/sym_target.cpp holding `marker`.
uint32_t source_line(const std::string& marker) {
  std::ifstream in(LOOPPROF_TEST_SOURCE_DIR "/elf/sym_target.cpp");
  std::string line;
  for (uint32_t n = 1; std::getline(in, line); ++n)
    if (line.find(marker) != std::string::npos) return n;
  ADD_FAILURE() << "no " << marker << " in sym_target.cpp";
  return 0;
}

// File offset of symbol `name` in ELF file `path`, from its .symtab and
// program headers (independent of any process map).
std::optional<uint64_t> symbol_file_offset(const std::string& path, const std::string& name) {
  elf_version(EV_CURRENT);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  std::optional<uint64_t> value;
  for (Elf_Scn* scn = nullptr; elf && (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != SHT_SYMTAB) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    for (size_t i = 0; data && i < shdr.sh_size / shdr.sh_entsize; ++i) {
      GElf_Sym sym;
      if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
      if (name == elf_strptr(elf, shdr.sh_link, sym.st_name)) value = sym.st_value;
    }
  }
  std::optional<uint64_t> offset;
  size_t phnum = 0;
  if (value && elf_getphdrnum(elf, &phnum) == 0) {
    for (size_t i = 0; i < phnum; ++i) {
      GElf_Phdr phdr;
      if (gelf_getphdr(elf, static_cast<int>(i), &phdr) == nullptr || phdr.p_type != PT_LOAD)
        continue;
      if (*value >= phdr.p_vaddr && *value < phdr.p_vaddr + phdr.p_filesz)
        offset = *value - phdr.p_vaddr + phdr.p_offset;
    }
  }
  elf_end(elf);
  close(fd);
  return offset;
}

void expect_single_native(const Frames& frames, const std::string& name,
                          const std::string& module_suffix) {
  ASSERT_EQ(frames.size(), 1u) << frame_label(frames.front());
  EXPECT_EQ(frames[0].kind, FrameKind::native);
  EXPECT_EQ(frames[0].name, name);
  EXPECT_FALSE(frames[0].inlined);
  EXPECT_TRUE(frames[0].module.ends_with(module_suffix)) << frames[0].module;
}

void expect_program_symbols(const std::string& program) {
  SymbolTestChild child(elf_dir() + "/" + program);
  auto symbolizer = symbolizer_for(child.pid(), {kNoDebugDir});
  expect_single_native(symbolizer->symbolize(child.address("sym_c_leaf"), false), "sym_c_leaf",
                       "/" + program);
  // Inside the function, not only at its entry.
  expect_single_native(symbolizer->symbolize(child.address("sym_c_leaf") + 4, true), "sym_c_leaf",
                       "/" + program);
  expect_single_native(symbolizer->symbolize(child.address("sym_static_helper"), false),
                       "sym_static_helper(int)", "/" + program);
  expect_single_native(symbolizer->symbolize(child.address("circle_area"), false),
                       "shapes::Circle::area(double) const", "/" + program);
  // Whether the entry belongs to inlined code depends on the compiler: only
  // the outermost frame is certain.
  EXPECT_EQ(symbolizer->symbolize(child.address("sym_outer"), false).front().name,
            "sym_outer(int)");
  expect_single_native(symbolizer->symbolize(child.address("sym_shared_work"), false),
                       "sym_shared_work", "/libsym_shared.so");

  Frames leaf = symbolizer->symbolize(child.address("sym_c_leaf"), false);
  EXPECT_TRUE(leaf[0].file.ends_with("tests/elf/sym_target.cpp")) << leaf[0].file;
  EXPECT_GT(leaf[0].line, 0u);
  EXPECT_EQ(leaf[0].address, child.address("sym_c_leaf"));
}

TEST(ProcessSymbolizer, PieExecutableAndSharedLibrary) {
  expect_program_symbols("sym_target_pie");
}

TEST(ProcessSymbolizer, NonPieExecutable) {
  expect_program_symbols("sym_target_nopie");
}

TEST(ProcessSymbolizer, InlinedFramesFollowTheirCaller) {
  SymbolTestChild child(elf_dir() + "/sym_target_pie");
  auto symbolizer = symbolizer_for(child.pid(), {kNoDebugDir});
  Frames frames = symbolizer->symbolize(child.address("inlined_return"), true);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].name, "sym_outer(int)");
  EXPECT_FALSE(frames[0].inlined);
  EXPECT_EQ(frames[0].line, source_line("MARK_OUTER_CALL"));
  // Static: DWARF has no linkage name, so no parameter list.
  EXPECT_EQ(frames[1].name, "sym_inlined_step");
  EXPECT_TRUE(frames[1].inlined);
  EXPECT_EQ(frames[1].line, source_line("MARK_INLINED_CALL"));
  EXPECT_TRUE(frames[1].file.ends_with("tests/elf/sym_target.cpp"));
  EXPECT_EQ(frame_label(frames[1]), "sym_inlined_step_[i]");
}

TEST(ProcessSymbolizer, ClangDwarfWithoutArangesHasLinesAndInlinedFrames) {
  expect_program_symbols("sym_target_clang");
  SymbolTestChild child(elf_dir() + "/sym_target_clang");
  auto symbolizer = symbolizer_for(child.pid(), {kNoDebugDir});
  Frames frames = symbolizer->symbolize(child.address("inlined_return"), true);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].name, "sym_outer(int)");
  EXPECT_EQ(frames[0].line, source_line("MARK_OUTER_CALL"));
  // clang records linkage names for static functions too.
  EXPECT_EQ(frames[1].name, "sym_inlined_step(int)");
  EXPECT_TRUE(frames[1].inlined);
  EXPECT_EQ(frames[1].line, source_line("MARK_INLINED_CALL"));
}

TEST(ProcessSymbolizer, InlinedCppFunctionsWithoutLinkageNameAreQualified) {
  SymbolTestChild child(elf_dir() + "/sym_target_pie");
  auto symbolizer = symbolizer_for(child.pid(), {kNoDebugDir});
  Frames frames = symbolizer->symbolize(child.address("scoped_return"), true);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].name, "geometry::sym_scaled(int)");
  EXPECT_EQ(frames[1].name, "geometry::(anonymous namespace)::scale_step");
  EXPECT_TRUE(frames[1].inlined);
}

TEST(ProcessSymbolizer, ReturnAddressesLookUpTheCallInstruction) {
  SymbolTestChild child(elf_dir() + "/sym_target_pie");
  auto symbolizer = symbolizer_for(child.pid(), {kNoDebugDir});
  // As a return address, a function's first byte belongs to whatever
  // precedes it: never to the function itself.
  Frames frames = symbolizer->symbolize(child.address("sym_c_leaf"), true);
  EXPECT_NE(frames.back().name, "sym_c_leaf");
  EXPECT_EQ(frames.back().address, child.address("sym_c_leaf"));
}

TEST(ProcessSymbolizer, StrippedBinaryUsesDebugFileFoundByBuildId) {
  SymbolTestChild child(elf_dir() + "/sym_target_stripped");
  auto symbolizer = symbolizer_for(child.pid(), {elf_dir() + "/debug"});
  expect_single_native(symbolizer->symbolize(child.address("sym_static_helper"), false),
                       "sym_static_helper(int)", "/sym_target_stripped");
  Frames inlined = symbolizer->symbolize(child.address("inlined_return"), true);
  ASSERT_EQ(inlined.size(), 2u);
  EXPECT_EQ(inlined[1].name, "sym_inlined_step");
  EXPECT_EQ(inlined[1].line, source_line("MARK_INLINED_CALL"));
}

TEST(ProcessSymbolizer, StrippedBinaryUsesDebugFileFoundByDebuglink) {
  SymbolTestChild child(elf_dir() + "/sym_target_debuglink");
  auto symbolizer = symbolizer_for(child.pid(), {kNoDebugDir});
  expect_single_native(symbolizer->symbolize(child.address("sym_static_helper"), false),
                       "sym_static_helper(int)", "/sym_target_debuglink");
}

TEST(ProcessSymbolizer, StrippedBinaryWithoutDebugInfoGivesModulePlusFileOffset) {
  SymbolTestChild child(elf_dir() + "/sym_target_stripped");
  auto symbolizer = symbolizer_for(child.pid(), {kNoDebugDir});
  auto expected =
      symbol_file_offset(elf_dir() + "/sym_target_stripped_full", "_ZL17sym_static_helperi");
  ASSERT_TRUE(expected.has_value());
  Frames frames = symbolizer->symbolize(child.address("sym_static_helper"), false);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].kind, FrameKind::unknown);
  EXPECT_EQ(frames[0].name, "");
  EXPECT_EQ(frames[0].offset, *expected);
  EXPECT_EQ(frame_label(frames[0]), fmt::format("sym_target_stripped+0x{:x}", *expected));
  // Every address in the unnamed function is labelled by its start (its
  // .eh_frame FDE), so samples in one function share one frame.
  for (uint64_t delta : {1, 3, 7}) {
    Frames inside = symbolizer->symbolize(child.address("sym_static_helper") + delta, true);
    EXPECT_EQ(frame_label(inside[0]), frame_label(frames[0])) << "+" << delta;
    EXPECT_EQ(inside[0].address, child.address("sym_static_helper") + delta);
  }
}

TEST(ProcessSymbolizer, AddressesOutsideEveryMappingStayNumeric) {
  SymbolTestChild child(elf_dir() + "/sym_target_pie");
  auto symbolizer = symbolizer_for(child.pid(), {kNoDebugDir});
  Frames frames = symbolizer->symbolize(0x1000, false);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].kind, FrameKind::unknown);
  EXPECT_EQ(frame_label(frames[0]), "0x1000");
}

TEST(ProcessSymbolizer, VdsoIsReadFromTheTarget) {
  SymbolTestChild child(elf_dir() + "/sym_target_pie");
  auto maps = read_proc_maps(child.pid());
  ASSERT_TRUE(maps.ok());
  uint64_t vdso_start = 0;
  for (const Mapping& m : maps.value())
    if (m.vdso()) vdso_start = m.start;
  ASSERT_NE(vdso_start, 0u);

  // __vdso_clock_gettime's value in our own vdso (the same kernel image).
  auto* ehdr = reinterpret_cast<const char*>(getauxval(AT_SYSINFO_EHDR));
  ASSERT_NE(ehdr, nullptr);
  elf_version(EV_CURRENT);
  Elf* elf = elf_memory(const_cast<char*>(ehdr), 8192);
  uint64_t value = 0;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != SHT_DYNSYM) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    for (size_t i = 0; i < shdr.sh_size / shdr.sh_entsize; ++i) {
      GElf_Sym sym;
      gelf_getsym(data, static_cast<int>(i), &sym);
      if (std::string(elf_strptr(elf, shdr.sh_link, sym.st_name)) == "__vdso_clock_gettime")
        value = sym.st_value;
    }
  }
  elf_end(elf);
  ASSERT_NE(value, 0u);

  auto symbolizer = symbolizer_for(child.pid(), {kNoDebugDir});
  Frames frames = symbolizer->symbolize(vdso_start + value + 1, true);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].kind, FrameKind::native);
  EXPECT_EQ(frames[0].module, "[vdso]");
  // Both names are the same symbol (clock_gettime is the weak alias).
  EXPECT_TRUE(frames[0].name == "__vdso_clock_gettime" || frames[0].name == "clock_gettime")
      << frames[0].name;
}

TEST(ProcessSymbolizer, DlopenedLibraryAppearsAfterRefresh) {
  SymbolTestChild child(elf_dir() + "/sym_target_pie");
  auto manual = symbolizer_for(child.pid(), {kNoDebugDir}, std::chrono::hours(1));
  auto automatic = symbolizer_for(child.pid(), {kNoDebugDir}, std::chrono::milliseconds(0));
  uint64_t entry = child.command("dlopen " + elf_dir() + "/libsym_plugin.so sym_plugin_entry");
  ASSERT_NE(entry, 0u);

  Frames before = manual->symbolize(entry, false);
  EXPECT_EQ(before[0].kind, FrameKind::unknown);
  EXPECT_EQ(before[0].name, "");
  manual->refresh();
  expect_single_native(manual->symbolize(entry, false), "sym_plugin_entry", "/libsym_plugin.so");
  // An address outside every known mapping re-reads the maps by itself.
  expect_single_native(automatic->symbolize(entry, false), "sym_plugin_entry", "/libsym_plugin.so");
}

TEST(ProcessSymbolizer, ProcessesShareParsedModules) {
  SymbolTestChild first(elf_dir() + "/sym_target_pie");
  SymbolTestChild second(elf_dir() + "/sym_target_pie");
  auto cache = std::make_shared<ModuleCache>();
  ProcessSymbolizerOptions options;
  options.debug_dirs = {kNoDebugDir};
  options.cache = cache;
  auto a = ProcessSymbolizer::open(first.pid(), options);
  auto b = ProcessSymbolizer::open(second.pid(), options);
  ASSERT_TRUE(a.ok() && b.ok());
  a.value()->symbolize(first.address("sym_c_leaf"), false);
  a.value()->symbolize(first.address("sym_shared_work"), false);
  size_t modules = cache->size();
  EXPECT_EQ(modules, 2u);  // the executable and libsym_shared.so
  expect_single_native(b.value()->symbolize(second.address("sym_c_leaf"), false), "sym_c_leaf",
                       "/sym_target_pie");
  b.value()->symbolize(second.address("sym_shared_work"), false);
  EXPECT_EQ(cache->size(), modules);
}

TEST(ProcessSymbolizer, DeletedAndReplacedBinaryStillResolves) {
  if (geteuid() != 0) GTEST_SKIP() << "/proc/PID/map_files needs root";
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / fmt::format("loopprof-sym-{}", getpid());
  fs::create_directories(dir);
  fs::path copy = dir / "sym_target_copy";
  fs::copy_file(elf_dir() + "/sym_target_pie", copy, fs::copy_options::overwrite_existing);
  {
    SymbolTestChild child(copy.string());
    fs::remove(copy);
    // Something else now lives at that path: it must not be read.
    fs::copy_file(elf_dir() + "/sym_target_nopie", copy);
    auto symbolizer = symbolizer_for(child.pid(), {kNoDebugDir});
    expect_single_native(symbolizer->symbolize(child.address("sym_static_helper"), false),
                         "sym_static_helper(int)", "/sym_target_copy");
  }
  fs::remove_all(dir);
}

TEST(ProcessSymbolizer, MissingProcessIsAnError) {
  auto symbolizer = ProcessSymbolizer::open(999999999, {});
  ASSERT_FALSE(symbolizer.ok());
  EXPECT_EQ(symbolizer.error().message.rfind("failed to read /proc/999999999/maps", 0), 0u)
      << symbolizer.error().message;
  // create() still gives a working (if blind) symbolizer.
  auto blind = ProcessSymbolizer::create(999999999);
  EXPECT_EQ(frame_label(blind->symbolize(0x1234, false)[0]), "0x1234");
}

}  // namespace
}  // namespace loopprof
