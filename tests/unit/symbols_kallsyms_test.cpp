// KallsymsTable / KernelSymbolizer on a kallsyms text written by the test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "symbols/kallsyms.hpp"
#include "symbols/symbolizer.hpp"

namespace loopprof {
namespace {

constexpr const char* kKallsyms =
    "ffffffff81000000 T startup_64\n"
    "ffffffff81000000 T _text\n"          // markers listed after the function they share
    "ffffffff81001000 T do_syscall_64\n"  // an address with
    "ffffffff81001000 T __entry_text_start\n"
    "ffffffff81002000 D some_data\n"  // not text: ignored
    "ffffffff81003000 t schedule\n"
    "ffffffff81003000 T __schedule_alias\n"
    "ffffffff81004000 W weak_fn\n"
    "ffffffff81005000 T _etext\n"
    "ffffffffc0a01000 t ext4_readpage\t[ext4]\n"
    "ffffffffc0a02000 T ext4_end\t[ext4]\n"
    "garbage line\n";

KallsymsTable table() {
  std::istringstream in(kKallsyms);
  return KallsymsTable::parse(in);
}

TEST(Kallsyms, FindsTheSymbolAtOrBelowAnAddress) {
  KallsymsTable t = table();
  EXPECT_EQ(t.size(), 10u);
  EXPECT_EQ(t.lookup(0xffffffff81000010).value(), "startup_64");  // not the _text marker
  EXPECT_EQ(t.lookup(0xffffffff81001000).value(), "do_syscall_64");
  // some_data is not text: the address still belongs to do_syscall_64.
  EXPECT_EQ(t.lookup(0xffffffff81002abc).value(), "do_syscall_64");
  EXPECT_EQ(t.lookup(0xffffffff81004010).value(), "weak_fn");
  EXPECT_EQ(t.lookup(0xffffffffc0a01234).value(), "ext4_readpage");
}

TEST(Kallsyms, AliasesResolveToOneOfTheirNames) {
  KallsymsTable t = table();
  auto name = t.lookup(0xffffffff81003004);
  ASSERT_TRUE(name.has_value());
  EXPECT_TRUE(*name == "schedule" || *name == "__schedule_alias") << *name;
}

TEST(Kallsyms, SectionMarkersNameNothing) {
  KallsymsTable t = table();
  // do_syscall_64, not __entry_text_start at the same address.
  EXPECT_EQ(t.lookup(0xffffffff81001000).value(), "do_syscall_64");
  // Past _etext (kernel data, before the modules): no name.
  EXPECT_FALSE(t.lookup(0xffffffff81005010).has_value());
}

TEST(Kallsyms, NothingBeforeTheFirstOrAfterTheLastSymbol) {
  KallsymsTable t = table();
  EXPECT_FALSE(t.lookup(0xffffffff80ffffff).has_value());
  EXPECT_FALSE(t.lookup(0xffffffffc0a02010).has_value());
}

TEST(Kallsyms, RestrictedKallsymsIsAnErrorWithAHint) {
  auto path =
      std::filesystem::temp_directory_path() / ("loopprof-kallsyms-" + std::to_string(getpid()));
  std::ofstream(path) << "0000000000000000 T _text\n0000000000000000 T schedule\n";
  auto symbolizer = KernelSymbolizer::open(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(symbolizer.ok());
  EXPECT_EQ(symbolizer.error().message,
            "failed to read kernel symbols from " + path.string() + ": no usable text symbol");
  EXPECT_FALSE(symbolizer.error().hint.empty());
}

TEST(KernelSymbolizer, FramesAreKernelFramesOfTheKernelModule) {
  auto path =
      std::filesystem::temp_directory_path() / ("loopprof-kallsyms-" + std::to_string(getpid()));
  std::ofstream(path) << kKallsyms;
  auto symbolizer = KernelSymbolizer::open(path.string());
  std::filesystem::remove(path);
  ASSERT_TRUE(symbolizer.ok());
  Frame frame = symbolizer.value()->symbolize(0xffffffff81001010);
  EXPECT_EQ(frame.kind, FrameKind::kernel);
  EXPECT_EQ(frame.name, "do_syscall_64");
  EXPECT_EQ(frame.module, "[kernel]");
  EXPECT_EQ(frame.address, 0xffffffff81001010u);
  EXPECT_EQ(frame_label(frame), "do_syscall_64_[k]");
  Frame unknown = symbolizer.value()->symbolize(0x1000);
  EXPECT_EQ(unknown.name, "");
  EXPECT_EQ(frame_label(unknown), "0x1000_[k]");
}

TEST(KernelSymbolizer, RealKallsymsWhenReadable) {
  auto symbolizer = KernelSymbolizer::open("/proc/kallsyms");
  if (!symbolizer.ok()) GTEST_SKIP() << symbolizer.error().message;
  // Find schedule's address in the file and look it up (+1: inside it).
  std::ifstream in("/proc/kallsyms");
  std::string address, type, name;
  uint64_t schedule = 0;
  while (in >> address >> type >> name) {
    if (name == "schedule" && (type == "T" || type == "t"))
      schedule = std::stoull(address, nullptr, 16);
    in.ignore(1 << 20, '\n');
  }
  ASSERT_NE(schedule, 0u);
  EXPECT_EQ(symbolizer.value()->symbolize(schedule + 1).name, "schedule");
}

}  // namespace
}  // namespace loopprof
