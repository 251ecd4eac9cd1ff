// loopprof refuses what it cannot profile, with a non-zero exit and a message
// that says why.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>

#include "harness.hpp"

namespace loopprof::test {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// A PID with no process behind it (one that just exited and was reaped).
pid_t vanished_pid() {
  Process p = Process::spawn({"true"});
  p.wait_exit(milliseconds(5000));
  return kill(p.pid(), 0) == 0 ? 0 : p.pid();
}

TEST(LoopprofErrors, NoSuchPid) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  pid_t pid = vanished_pid();
  ASSERT_NE(pid, 0);
  Process loopprof = start_loopprof({"-p", std::to_string(pid)});
  auto code = loopprof.wait_exit(milliseconds(10000));
  ASSERT_TRUE(code) << loopprof.describe();
  EXPECT_NE(*code, 0) << loopprof.describe();
  EXPECT_NE(loopprof.text(Stream::kStderr).find(std::to_string(pid)), std::string::npos)
      << "the message should name the PID\n"
      << loopprof.describe();
}

void expect_not_a_loop(const std::vector<std::string>& target_argv) {
  Process target = Process::spawn(target_argv);
  std::this_thread::sleep_for(milliseconds(100));  // past exec
  auto started = Clock::now();
  Process loopprof = start_loopprof({"-p", std::to_string(target.pid()), "--loop-timeout", "2"});
  auto code = loopprof.wait_exit(milliseconds(15000));
  ASSERT_TRUE(code) << "still running 15 s after --loop-timeout 2\n" << loopprof.describe();
  auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - started).count();
  EXPECT_NE(*code, 0) << loopprof.describe();
  EXPECT_GE(took, 1500) << "gave up before the loop timeout\n" << loopprof.describe();
  EXPECT_LE(took, 8000) << loopprof.describe();
  std::string err = lower(loopprof.text(Stream::kStderr));
  EXPECT_TRUE(err.find("not") != std::string::npos && err.find("event loop") != std::string::npos)
      << "the message should say it is not an event loop\n"
      << loopprof.describe();
  EXPECT_TRUE(target.running()) << "loopprof must leave the target alone";
}

TEST(LoopprofErrors, SleepingProcessIsNotALoop) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  expect_not_a_loop({"sleep", "60"});
}

TEST(LoopprofErrors, BusyProcessIsNotALoop) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  expect_not_a_loop({"sh", "-c", "while :; do :; done"});
}

TEST(LoopprofErrors, NotRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to drop to another user";
  if (access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "setpriv not installed";
  Process target = Process::spawn({"sleep", "60"});
  Process loopprof =
      Process::spawn({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                      "--inh-caps=-all", loopprof_binary(), "-p", std::to_string(target.pid())});
  auto code = loopprof.wait_exit(milliseconds(10000));
  ASSERT_TRUE(code) << loopprof.describe();
  EXPECT_NE(*code, 0) << loopprof.describe();
  std::string err = lower(loopprof.text(Stream::kStderr));
  EXPECT_TRUE(err.find("root") != std::string::npos || err.find("cap_") != std::string::npos ||
              err.find("permission") != std::string::npos)
      << "the message should say privileges are missing\n"
      << loopprof.describe();
}

}  // namespace
}  // namespace loopprof::test
