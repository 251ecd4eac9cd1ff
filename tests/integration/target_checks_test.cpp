// Odd targets: a zombie, a kernel thread, a process whose main thread has
// exited. Needs root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "harness.hpp"
#include "stall_match.hpp"

namespace loopprof::test {
namespace {

void expect_refused_at_once(pid_t pid, const std::string& why) {
  auto started = Clock::now();
  Process loopprof = start_loopprof({"-p", std::to_string(pid), "--loop-timeout", "20"});
  auto code = loopprof.wait_exit(milliseconds(15000));
  ASSERT_TRUE(code) << loopprof.describe();
  EXPECT_EQ(*code, 1) << loopprof.describe();
  EXPECT_LT(Clock::now() - started, milliseconds(5000)) << loopprof.describe();
  std::string err = loopprof.text(Stream::kStderr);
  EXPECT_EQ(err.find("attached"), std::string::npos) << loopprof.describe();
  EXPECT_NE(err.find(why), std::string::npos) << loopprof.describe();
}

TEST(TargetChecks, KernelThreadIsRefusedAtOnce) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  expect_refused_at_once(2, "kernel thread");
}

TEST(TargetChecks, ZombieIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  // The child exits at once; its parent never reaps it.
  Process parent = Process::spawn({"sh", "-c", "sleep 0 & echo child $!; exec sleep 60"});
  auto line = parent.wait_for_line(Stream::kStdout, "child", milliseconds(10000));
  ASSERT_TRUE(line) << parent.describe();
  pid_t child = std::stoi(line->text.substr(6));
  for (int i = 0; i < 100; ++i) {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string text;
    std::getline(stat, text);
    if (text.find(") Z") != std::string::npos) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  expect_refused_at_once(child, "has exited");
}

// The main thread called pthread_exit; the loop runs in another thread. Its
// stalls still carry the Python frames (read through the live thread).
TEST(TargetChecks, ProcessWhoseMainThreadExitedKeepsItsFrames) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  Process target =
      Process::spawn({test_pythons().at(0).executable, fixture_source("main_exits_app.py")});
  ASSERT_TRUE(target.wait_for_line(Stream::kStdout, "ready", milliseconds(30000)))
      << target.describe();
  std::this_thread::sleep_for(milliseconds(300));  // past pthread_exit
  TempDir dir{"loopprof-main-exits"};
  Process loopprof =
      run_loopprof(target.pid(), {"-d", "3", "--events", dir.file("e.jsonl")}, milliseconds(30000));
  ASSERT_EQ(loopprof.wait_exit(milliseconds(30000)), 0) << loopprof.describe();
  bool python_frame = false, native_frame = false;
  for (const auto& event : read_jsonl(dir.file("e.jsonl"))) {
    if (event["event"] != "stall") continue;
    for (const auto& stack : event["stacks"])
      for (const auto& frame : stack["frames"]) {
        std::string f = frame.get<std::string>();
        python_frame |= f.find("blocking_handler (") != std::string::npos;
        native_frame |= f.find("clock_nanosleep") != std::string::npos && f.find("[k]") == f.npos;
      }
  }
  EXPECT_TRUE(python_frame) << "no Python frame in the stalls\n" << loopprof.describe();
  EXPECT_TRUE(native_frame) << "no named native frame in the stalls\n" << loopprof.describe();
}

}  // namespace
}  // namespace loopprof::test
