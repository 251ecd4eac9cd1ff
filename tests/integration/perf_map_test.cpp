// /tmp/perf-PID.map belongs to the target's user, and loopprof reads it as
// root: it names JIT code only from a regular file owned by that user or
// root, opened without following a link. The target (jit_loop, as nobody)
// runs in a private mount namespace whose /tmp is a plain directory of its
// own, owned by nobody and not sticky, as a container's would be: the
// kernel's protected_symlinks rule does not apply there, so loopprof's own
// checks are all that stands between the link and a root-only file. Needs
// root.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness.hpp"

namespace loopprof::test {
namespace {

namespace fs = std::filesystem;
constexpr uid_t kNobody = 65534;

// Frames of every folded stack of a short run, joined.
std::string frames_of_a_run(pid_t pid) {
  TempDir out{"loopprof-perf-map-out"};
  Process loopprof = run_loopprof(pid, {"-d", "1.5", "-o", out.file("s.folded")});
  if (loopprof.wait_exit(milliseconds(20000)) != 0) {
    ADD_FAILURE() << loopprof.describe();
    return {};
  }
  std::string all;
  for (const auto& stack : read_folded(out.file("s.folded")))
    for (const auto& frame : stack.frames) all += frame + ";";
  return all;
}

TEST(PerfMap, OnlyTheTargetUsersOwnRegularFileNamesItsJitCode) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  if (access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "setpriv not installed";
#if !defined(__x86_64__)
  GTEST_SKIP() << "jit_loop's code is x86-64";
#endif
  Process target = Process::spawn(
      {"unshare", "-m", "--propagation", "private", "sh", "-c",
       "mount -t tmpfs -o mode=0755,uid=65534,gid=65534 loopprof-test-tmp /tmp && exec "
       "/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups \"$1\"",
       "sh", fixture_binary("jit_loop")});
  auto jit = target.wait_for_line(Stream::kStdout, "jit ", milliseconds(10000));
  ASSERT_TRUE(jit) << target.describe();
  ASSERT_TRUE(target.wait_for_line(Stream::kStdout, "ready", milliseconds(10000)))
      << target.describe();
  const std::string code = jit->text.substr(4);  // "START SIZE"
  const std::string map = fmt::format("/proc/{}/root/tmp/perf-{}.map", target.pid(), target.pid());

  // A root-only file, and the target user's link to it.
  TempDir secret_dir{"loopprof-perf-map-secret"};
  const std::string secret = secret_dir.file("secret");
  std::ofstream(secret) << code << " root_only_symbol\n";
  ASSERT_EQ(chmod(secret.c_str(), 0600), 0);
  fs::create_symlink(secret, map);
  ASSERT_EQ(lchown(map.c_str(), kNobody, kNobody), 0);
  std::string frames = frames_of_a_run(target.pid());
  EXPECT_EQ(frames.find("root_only_symbol"), std::string::npos)
      << "read a root-only file through the target user's symlink\n"
      << frames;

  // Another user's file.
  fs::remove(map);
  std::ofstream(map) << code << " other_users_symbol\n";
  ASSERT_EQ(chown(map.c_str(), 4242, 4242), 0);
  frames = frames_of_a_run(target.pid());
  EXPECT_EQ(frames.find("other_users_symbol"), std::string::npos) << frames;

  // The target user's own file: read (so the two above were real lookups).
  fs::remove(map);
  std::ofstream(map) << code << " jit_spin_of_the_target\n";
  ASSERT_EQ(chown(map.c_str(), kNobody, kNobody), 0);
  frames = frames_of_a_run(target.pid());
  EXPECT_NE(frames.find("jit_spin_of_the_target"), std::string::npos)
      << "the JIT code was never looked up in the perf map\n"
      << frames;
}

}  // namespace
}  // namespace loopprof::test
