// Handle._run's code object found in the memory of each real interpreter on
// this machine (pyenv 3.8-3.13, Debian's stripped 3.11): the address the
// interpreter itself gives, id(asyncio.events.Handle._run.__code__), so the
// first capture of a process already names its asyncio Task. A process that
// never imported asyncio gives none. Reading a child's memory needs no root.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "python/asyncio_handle.hpp"
#include "python/interpreter.hpp"
#include "python/memory.hpp"
#include "symbols_test_child.hpp"

namespace loopprof::python {
namespace {

std::vector<std::string> interpreters() {
  std::vector<std::string> out;
  if (std::filesystem::exists("/usr/bin/python3")) out.push_back("/usr/bin/python3");
  const char* home = std::getenv("HOME");
  std::filesystem::path versions = std::filesystem::path(home ? home : "/root") / ".pyenv/versions";
  static const std::regex before_314(R"(3\.(8|9|10|11|12|13)\.\d+)");
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(versions, ec))
    if (std::regex_match(entry.path().filename().string(), before_314))
      out.push_back((entry.path() / "bin/python3").string());
  return out;
}

constexpr const char* kPrintHandleRun =
    "import asyncio, sys\n"
    "print('handle_run', hex(id(asyncio.events.Handle._run.__code__)))\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n";

constexpr const char* kNoAsyncio =
    "import sys\n"
    "assert 'asyncio' not in sys.modules\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n";

std::optional<uint64_t> found_in(pid_t pid) {
  auto image = find_interpreter(pid);
  if (!image || !image.value()) throw std::runtime_error("no interpreter found");
  ProcessMemory memory(pid);
  auto layout = interpreter_layout(memory, *image.value());
  if (!layout) throw std::runtime_error(layout.error().message);
  return find_handle_run_code(memory, layout.value(), image.value()->runtime);
}

TEST(AsyncioHandleRun, FoundInEveryInterpreterAsItsOwnIdSaysAndNotBeforeAsyncioIsImported) {
  auto pythons = interpreters();
  ASSERT_FALSE(pythons.empty());
  for (const std::string& python : pythons) {
    SCOPED_TRACE(python);
    {
      testing::SymbolTestChild child({python, "-c", kPrintHandleRun});
      EXPECT_EQ(found_in(child.pid()), child.address("handle_run"));
    }
    {
      testing::SymbolTestChild child({python, "-S", "-c", kNoAsyncio});
      EXPECT_EQ(found_in(child.pid()), std::nullopt);
    }
  }
}

}  // namespace
}  // namespace loopprof::python
