// A target that executes a new program (a PIE interpreter with a shared
// libpython executing itself again, or Debian's python3 executing a pyenv
// CPython 3.12):
// the stalls of the new program show Python and native frames again. Needs root.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "harness.hpp"
#include "stall_match.hpp"

namespace loopprof::test {
namespace {

// Line of `def stall_after_exec` + 1 (its sleep) in the fixture.
int stall_line() {
  std::ifstream in(fixture_source("exec_app.py"));
  std::string line;
  for (int n = 1; std::getline(in, line); n++)
    if (line.rfind("def stall_after_exec", 0) == 0) return n + 1;
  return 0;
}

bool is_python_frame(const std::string& frame) {
  return frame.find(".py:") != std::string::npos;
}

struct ExecRun {
  std::vector<nlohmann::json> events;
  std::string exec_line;  // "exec'd VERSION PATH"
  std::string diagnostics;
};

ExecRun run_exec(const std::vector<std::string>& fixture_argv) {
  ExecRun out;
  TempDir dir;
  const std::string events = dir.file("events.jsonl");
  Process fixture = Process::spawn({fixture_argv, {}, true});
  if (!fixture.wait_for_line(Stream::kStdout, "ready", milliseconds(10000))) {
    ADD_FAILURE() << fixture.describe();
    return out;
  }
  Process loopprof = run_loopprof(fixture.pid(), {"-t", "100", "--events", events});
  fixture.write_stdin("go\n");
  auto execd = fixture.wait_for_line(Stream::kStdout, "exec'd", milliseconds(15000));
  if (execd) out.exec_line = execd->text;
  // Eight stalls or so after the exec (the first second may come before the re-read).
  std::this_thread::sleep_for(milliseconds(3500));
  loopprof.signal(SIGINT);
  EXPECT_EQ(loopprof.wait_exit(milliseconds(20000)), 0) << loopprof.describe();
  fixture.close_stdin();
  fixture.wait_exit(milliseconds(5000));
  out.diagnostics = fixture.describe() + loopprof.describe();
  out.events = read_jsonl(events);
  return out;
}

// Stalls after the exec name stall_after_exec at its line, with native
// frames named below the Python leaf.
void expect_frames_after_exec(const ExecRun& run) {
  ASSERT_FALSE(run.exec_line.empty()) << run.diagnostics;
  EXPECT_NE(run.diagnostics.find("re-reading it as the new program"), std::string::npos)
      << run.diagnostics;
  const std::string culprit = fmt::format("exec_app.py:{})", stall_line());
  size_t named = 0, stalls = 0;
  std::string seen;
  for (const auto& stall : stall_events(run.events, /*ongoing=*/false)) {
    ++stalls;
    for (const auto& stack : stall.at("stacks")) {
      std::vector<std::string> frames = stack.at("frames").get<std::vector<std::string>>();
      seen += fmt::format("  {}\n", fmt::join(frames, ";"));
      auto at = std::find_if(frames.begin(), frames.end(), [&](const std::string& f) {
        return f.rfind("stall_after_exec (", 0) == 0 && f.ends_with(culprit);
      });
      if (at == frames.end()) continue;
      // Native frames named below the Python leaf (time.sleep's clock_nanosleep).
      bool native_below = std::any_of(at + 1, frames.end(), [](const std::string& f) {
        return !is_python_frame(f) && !f.ends_with("_[k]") && f.find("+0x") == std::string::npos;
      });
      if (native_below) ++named;
    }
  }
  std::cout << fmt::format("figure: exec stalls={} with_python_and_native={}\n", stalls, named);
  EXPECT_GE(named, 3u) << "stacks after the exec:\n" << seen << run.diagnostics;
}

// A pyenv CPython 3.12 (PIE, shared libpython: its addresses move with every
// exec), or "" if there is none.
std::string pyenv_python312() {
  const char* home = std::getenv("HOME");
  std::filesystem::path versions =
      std::getenv("PYENV_ROOT") ? std::filesystem::path(std::getenv("PYENV_ROOT")) / "versions"
                                : std::filesystem::path(home ? home : "/root") / ".pyenv/versions";
  std::string python;
  if (std::filesystem::is_directory(versions))
    for (const auto& entry : std::filesystem::directory_iterator(versions))
      if (entry.path().filename().string().rfind("3.12", 0) == 0 &&
          std::filesystem::exists(entry.path() / "bin/python3.12"))
        python = (entry.path() / "bin/python3.12").string();
  return python;
}

TEST(Exec, SameInterpreterReExecutedShowsPythonAndNativeFramesAgain) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const std::string python = pyenv_python312();
  if (python.empty()) GTEST_SKIP() << "no pyenv CPython 3.12";
  ExecRun run = run_exec({python, fixture_source("exec_app.py")});
  expect_frames_after_exec(run);
}

TEST(Exec, DebianPythonExecutingPyenvSharedLibpythonShowsItsFrames) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const std::string python = pyenv_python312();
  if (python.empty()) GTEST_SKIP() << "no pyenv CPython 3.12";
  ExecRun run = run_exec({"/usr/bin/python3", fixture_source("exec_app.py"), python});
  EXPECT_NE(run.exec_line.find(" 3.12."), std::string::npos) << run.exec_line;
  expect_frames_after_exec(run);
  EXPECT_NE(run.diagnostics.find("Python frames from CPython 3.12"), std::string::npos)
      << run.diagnostics;
}

}  // namespace
}  // namespace loopprof::test
