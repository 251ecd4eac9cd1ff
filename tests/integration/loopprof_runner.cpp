#include "loopprof_runner.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>

namespace loopprof::test {

std::string loopprof_binary() {
  return LOOPPROF_BIN;
}

std::string fixture_source(const std::string& name) {
  return std::string(LOOPPROF_FIXTURE_SRC_DIR) + "/" + name;
}

std::string fixture_binary(const std::string& name) {
  return std::string(LOOPPROF_FIXTURE_BIN_DIR) + "/" + name;
}

Process start_loopprof(std::vector<std::string> args) {
  args.insert(args.begin(), loopprof_binary());
  return Process::spawn(std::move(args));
}

Process run_loopprof(pid_t pid, std::vector<std::string> extra_args, milliseconds attach_timeout) {
  std::vector<std::string> args{"-p", std::to_string(pid)};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  Process loopprof = start_loopprof(std::move(args));
  if (!loopprof.wait_for_line(Stream::kStderr, "attached", attach_timeout)) {
    loopprof.wait_exit(milliseconds(100));
    throw std::runtime_error(fmt::format("loopprof did not attach to pid {} within {} ms\n{}", pid,
                                         attach_timeout.count(), loopprof.describe()));
  }
  return loopprof;
}

namespace {

constexpr const char* kDescribePython =
    "import sys, platform, importlib.util\n"
    "print(sys.executable)\n"
    "print(platform.python_version())\n"
    "print(importlib.util.find_spec('uvloop') is not None)\n";

// What `python` is, or nullopt if it does not run.
std::optional<PythonInterpreter> describe_python(const std::string& python) {
  try {
    Process p = Process::spawn({python, "-c", kDescribePython});
    if (p.wait_exit(milliseconds(10000)) != 0) return std::nullopt;
    auto lines = p.lines(Stream::kStdout);
    if (lines.size() < 3) return std::nullopt;
    return PythonInterpreter{lines[0].text, lines[1].text, lines[2].text == "True"};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::vector<PythonInterpreter> test_pythons() {
  std::vector<std::string> candidates;
  if (const char* listed = std::getenv("LOOPPROF_TEST_PYTHONS"); listed && *listed) {
    std::string all = listed;
    size_t start = 0;
    while (start <= all.size()) {
      size_t end = all.find(':', start);
      if (end == std::string::npos) end = all.size();
      if (end > start) candidates.push_back(all.substr(start, end - start));
      start = end + 1;
    }
  } else {
    candidates = {"python3", "/usr/bin/python3"};
  }
  std::vector<PythonInterpreter> pythons;
  std::vector<std::filesystem::path> seen;
  for (const auto& candidate : candidates) {
    auto python = describe_python(candidate);
    if (!python) continue;
    std::error_code ec;
    auto canonical = std::filesystem::canonical(python->executable, ec);
    if (ec) continue;
    if (std::find(seen.begin(), seen.end(), canonical) != seen.end()) continue;
    seen.push_back(canonical);
    pythons.push_back(*python);
  }
  return pythons;
}

}  // namespace loopprof::test
