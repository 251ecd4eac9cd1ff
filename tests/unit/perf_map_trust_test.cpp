// /tmp/perf-PID.map belongs to the target's user: loopprof (root) reads it
// only when it is a regular file owned by that user or root, never through a
// symlink (which could point at a root-only file), and never blocks on a FIFO.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "symbols/perf_map.hpp"

namespace loopprof {
namespace {

namespace fs = std::filesystem;

class PerfMapTrust : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("loopprof-perfmap-trust-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "secret") << "1000 10 secret_symbol\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const char* name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(PerfMapTrust, SymlinkIsNotFollowed) {
  fs::create_symlink(dir_ / "secret", dir_ / "perf.map");
  PerfMap map(file("perf.map"));
  map.update();
  EXPECT_EQ(map.size(), 0u);
  PerfMap direct(file("secret"));  // the same file, opened directly, is read
  direct.update();
  EXPECT_EQ(direct.size(), 1u);
}

// The attack of issue 8: the target's user (nobody here) plants
// /tmp/perf-PID.map as a symlink to a root-only file. Root owns that file,
// so an owner check made after following the link would pass.
TEST_F(PerfMapTrust, TargetUsersSymlinkToARootOnlyFileIsNotRead) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  constexpr uid_t kNobody = 65534;
  ASSERT_EQ(chmod(file("secret").c_str(), 0600), 0);
  fs::create_symlink(dir_ / "secret", dir_ / "perf-4242.map");
  ASSERT_EQ(lchown(file("perf-4242.map").c_str(), kNobody, kNobody), 0);
  PerfMap map(file("perf-4242.map"), kNobody);
  map.update();
  EXPECT_EQ(map.size(), 0u);
  EXPECT_FALSE(map.lookup(0x1004));
}

TEST_F(PerfMapTrust, FifoIsSkippedWithoutBlocking) {
  ASSERT_EQ(mkfifo(file("perf.map").c_str(), 0600), 0);
  PerfMap map(file("perf.map"));
  map.update();  // must return at once
  EXPECT_EQ(map.size(), 0u);
}

TEST_F(PerfMapTrust, OnlyAFileOfTheTargetsUserOrRootIsRead) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  const std::string path = file("secret");
  PerfMap owned_by_root(path, 4242);  // root's file: trusted
  owned_by_root.update();
  EXPECT_EQ(owned_by_root.size(), 1u);
  ASSERT_EQ(chown(path.c_str(), 5151, 5151), 0);
  PerfMap other_user(path, 4242);  // another user's file: not read
  other_user.update();
  EXPECT_EQ(other_user.size(), 0u);
  PerfMap target_user(path, 5151);
  target_user.update();
  EXPECT_EQ(target_user.size(), 1u);
}

}  // namespace
}  // namespace loopprof
