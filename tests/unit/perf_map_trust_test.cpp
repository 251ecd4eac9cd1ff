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

// Inside a container the target's user may own /tmp itself: a /tmp that is a
// symlink (here to a directory holding a perf map loopprof must not read)
// is not followed either, nor is a link anywhere below the target's root.
TEST_F(PerfMapTrust, NoSymlinkIsFollowedBelowTheTargetsRoot) {
  fs::create_directories(dir_ / "root/elsewhere");
  fs::create_directories(dir_ / "root/home");
  std::ofstream(dir_ / "root/elsewhere/perf-7.map") << "1000 10 planted_symbol\n";
  std::ofstream(dir_ / "root/home/perf-7.map") << "1000 10 real_symbol\n";
  fs::create_symlink("elsewhere", dir_ / "root/tmp");
  PerfMap through_link("tmp/perf-7.map", geteuid(), file("root"));
  through_link.update();
  EXPECT_EQ(through_link.size(), 0u) << "/tmp is a symlink: not followed";
  EXPECT_EQ(through_link.path(), file("root") + "/tmp/perf-7.map");
  PerfMap escaping("../secret", geteuid(), file("root"));
  escaping.update();
  EXPECT_EQ(escaping.size(), 0u) << "nothing outside the target's root";
  PerfMap direct("home/perf-7.map", geteuid(), file("root"));
  direct.update();
  ASSERT_EQ(direct.size(), 1u);
  EXPECT_EQ(direct.lookup(0x1005), "real_symbol");
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
