// PerfMap parsing and JIT frames from /tmp/perf-PID.map.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "symbols/perf_map.hpp"
#include "symbols/symbolizer.hpp"
#include "symbols_test_child.hpp"

namespace loopprof {
namespace {

TEST(PerfMap, ParsesNodeAndCPythonLines) {
  PerfMap map("unused");
  map.add_lines(
      "7f0000001000 40 LazyCompile:*handler /app/server.js:10\n"  // Node: no 0x
      "0x7f0000002000 0x20 py::fib:/app/fib.py\n"                 // with 0x
      "not a line\n"
      "7f0000003000 0 zero_size\n");
  EXPECT_EQ(map.size(), 2u);
  EXPECT_EQ(map.lookup(0x7f0000001000).value(), "LazyCompile:*handler /app/server.js:10");
  EXPECT_EQ(map.lookup(0x7f000000103f).value(), "LazyCompile:*handler /app/server.js:10");
  EXPECT_FALSE(map.lookup(0x7f0000001040).has_value());  // past its size
  EXPECT_EQ(map.lookup(0x7f0000002010).value(), "py::fib:/app/fib.py");
  EXPECT_FALSE(map.lookup(0x7f0000000fff).has_value());
  EXPECT_FALSE(map.lookup(0x7f0000003000).has_value());
}

TEST(PerfMap, LaterEntriesReplaceEarlierOnesAtTheSameAddress) {
  PerfMap map("unused");
  map.add_lines("1000 10 old\n");
  map.add_lines("1000 10 new\n");
  EXPECT_EQ(map.lookup(0x1004).value(), "new");
}

TEST(PerfMap, UpdateReadsOnlyCompleteAppendedLines) {
  auto path = std::filesystem::temp_directory_path() /
              ("loopprof-perfmap-" + std::to_string(getpid()) + ".map");
  std::ofstream(path) << "1000 10 first\n2000 10 sec";
  PerfMap map(path.string());
  map.update();
  EXPECT_EQ(map.lookup(0x1000).value(), "first");
  EXPECT_FALSE(map.lookup(0x2000).has_value());  // the line is not finished
  std::ofstream(path, std::ios::app) << "ond\n3000 10 third\n";
  map.update();
  EXPECT_EQ(map.lookup(0x2000).value(), "second");
  EXPECT_EQ(map.lookup(0x3000).value(), "third");
  std::filesystem::remove(path);
}

TEST(PerfMap, PathUsesTheNamespacePid) {
  // In our own namespace the NSpid is our pid.
  EXPECT_EQ(perf_map_of(getpid()).path(), "/proc/" + std::to_string(getpid()) + "/root/tmp/perf-" +
                                              std::to_string(getpid()) + ".map");
}

// JIT code: an anonymous executable mapping in this process, described by
// /tmp/perf-<our pid>.map.
TEST(ProcessSymbolizer, JitFramesComeFromThePerfMap) {
  const size_t size = 4096;
  void* code = mmap(nullptr, size, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(code, MAP_FAILED);
  const uint64_t start = reinterpret_cast<uint64_t>(code);
  const std::string path = "/tmp/perf-" + std::to_string(getpid()) + ".map";
  std::ofstream(path) << fmt::format("{:x} 40 LazyCompile:*onRequest /srv/app.js:7\n", start);

  ProcessSymbolizerOptions options;
  options.reload_interval = std::chrono::milliseconds(0);
  auto symbolizer = ProcessSymbolizer::open(getpid(), options);
  ASSERT_TRUE(symbolizer.ok());
  Frames frames = symbolizer.value()->symbolize(start + 0x10, true);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].kind, FrameKind::native);
  EXPECT_EQ(frames[0].name, "LazyCompile:*onRequest /srv/app.js:7");

  // Past the entry's size: unknown.
  Frames beyond = symbolizer.value()->symbolize(start + 0x100, false);
  EXPECT_EQ(beyond[0].kind, FrameKind::unknown);
  EXPECT_EQ(beyond[0].name, "");

  // Code generated later is found once the JIT appends it.
  std::ofstream(path, std::ios::app) << fmt::format("{:x} 20 py::later:/app/x.py\n", start + 0x100);
  EXPECT_EQ(symbolizer.value()->symbolize(start + 0x100, false)[0].name, "py::later:/app/x.py");

  std::filesystem::remove(path);
  munmap(code, size);
}

// A containerized target: its own PID namespace (it writes
// /tmp/perf-<its own pid>.map) and its own /tmp (seen through /proc/PID/root).
TEST(ProcessSymbolizer, PerfMapOfAProcessInAnotherPidAndMountNamespace) {
  if (geteuid() != 0) GTEST_SKIP() << "unshare --pid --mount needs root";
  // A fresh /tmp for the target. The build (and so the target and its
  // libraries) may itself live under /tmp: its directory is bound back in.
  // Every mount here is private to the new namespace.
  testing::SymbolTestChild child(
      {"unshare", "--pid", "--mount", "--fork", "--kill-child", "sh", "-c",
       "d=$(dirname \"$0\") && mount -t tmpfs keep /mnt && mkdir /mnt/d && "
       "mount --bind \"$d\" /mnt/d && mount -t tmpfs loopprof-test /tmp && mkdir -p \"$d\" && "
       "mount --bind /mnt/d \"$d\" && exec \"$0\"",
       testing::elf_dir() + "/sym_target_pie"});
  // The target is unshare's child; inside its namespace it is pid 1.
  std::ifstream children(fmt::format("/proc/{}/task/{}/children", child.pid(), child.pid()));
  pid_t target = 0;
  ASSERT_TRUE(children >> target);
  const uint64_t ns_pid = child.address("pid");
  ASSERT_NE(static_cast<pid_t>(ns_pid), target);
  EXPECT_EQ(perf_map_of(target).path(),
            fmt::format("/proc/{}/root/tmp/perf-{}.map", target, ns_pid));

  const uint64_t code = child.command("jit");
  const std::string path = fmt::format("/proc/{}/root/tmp/perf-{}.map", target, ns_pid);
  std::ofstream(path) << fmt::format("{:x} 100 JS:*inNamespace /srv/ns.js:1\n", code);
  auto symbolizer = ProcessSymbolizer::open(target, {});
  ASSERT_TRUE(symbolizer.ok());
  Frames frames = symbolizer.value()->symbolize(code + 8, true);
  EXPECT_FALSE(std::filesystem::exists(fmt::format("/tmp/perf-{}.map", ns_pid)));  // not ours
  std::filesystem::remove(path);
  EXPECT_EQ(frames[0].name, "JS:*inNamespace /srv/ns.js:1");
}

}  // namespace
}  // namespace loopprof
