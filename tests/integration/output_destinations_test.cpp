// Where loopprof writes: regular files appear only complete (and nothing else
// is left beside them, even when loopprof is stopped or killed at once);
// devices, FIFOs and stdout are written in place and stay what they are;
// symlinks are followed only when safe; what cannot work is refused before
// anything is attached. Device cases run in a private mount namespace over a
// tmpfs /dev, so the host's /dev is never written. Needs root.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "harness.hpp"

namespace loopprof::test {
namespace {

namespace fs = std::filesystem;

// A native loop that stalls 150 ms every ~250 ms (for about 8 minutes).
Process start_stalling_loop() {
  std::vector<std::string> argv{fixture_binary("epoll_loop"), "--no-wait", "--gap", "100"};
  for (int i = 0; i < 2000; ++i) argv.push_back("sleep:150");
  Process p = Process::spawn(argv);
  if (!p.wait_for_line(Stream::kStdout, "ready", milliseconds(10000)))
    throw std::runtime_error("fixture not ready\n" + p.describe());
  return p;
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += n + " ";
  return out;
}

bool said_attached(const Process& p) {
  return p.text(Stream::kStderr).find("attached") != std::string::npos;
}

// loopprof with ARGS must exit 1 at once, before attaching, saying `why`.
void expect_refused(pid_t pid, std::vector<std::string> args, const std::string& why) {
  args.insert(args.begin(), {"-p", std::to_string(pid), "-d", "5"});
  auto started = Clock::now();
  Process loopprof = start_loopprof(args);
  auto code = loopprof.wait_exit(milliseconds(10000));
  ASSERT_TRUE(code) << loopprof.describe();
  EXPECT_EQ(*code, 1) << loopprof.describe();
  EXPECT_LT(Clock::now() - started, milliseconds(3000)) << "refused only after profiling\n"
                                                        << loopprof.describe();
  EXPECT_FALSE(said_attached(loopprof)) << loopprof.describe();
  EXPECT_NE(loopprof.text(Stream::kStderr).find(why), std::string::npos)
      << "expected the message to say: " << why << "\n"
      << loopprof.describe();
}

class OutputDestinations : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    loop_ = new Process(start_stalling_loop());
  }
  static void TearDownTestSuite() {
    delete loop_;
    loop_ = nullptr;
  }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!loop_->running()) {  // a slow machine outlasted its steps
      delete loop_;
      loop_ = new Process(start_stalling_loop());
    }
  }
  static pid_t pid() { return loop_->pid(); }
  static std::string spid() { return std::to_string(pid()); }

  static Process* loop_;
  TempDir dir_{"loopprof-outputs"};
};

Process* OutputDestinations::loop_ = nullptr;

TEST_F(OutputDestinations, DirectoryIsRefusedBeforeAttaching) {
  expect_refused(pid(), {"-o", dir_.path().string()}, "is a directory");
}

TEST_F(OutputDestinations, MissingDirectoryIsRefusedBeforeAttaching) {
  expect_refused(pid(), {"--events", dir_.file("nowhere/e.jsonl")}, "No such file or directory");
}

TEST_F(OutputDestinations, TwoOutputsOnOneFileAreRefused) {
  expect_refused(pid(), {"-o", dir_.file("same"), "--events", dir_.file("same")}, "the same file");
  // The same existing file under two names (a symlink).
  std::ofstream(dir_.file("real")) << "old\n";
  fs::create_symlink(dir_.file("real"), dir_.file("alias"));
  expect_refused(pid(), {"-o", dir_.file("real"), "--events", dir_.file("alias")}, "the same file");
  expect_refused(pid(), {"-o", "-", "--events", "-"}, "the same file");
}

TEST_F(OutputDestinations, ReadOnlyDirectoryIsRefused) {
  fs::create_directory(dir_.file("ro"));
  Process mount = Process::spawn(
      {"unshare", "-m", "--propagation", "private", "sh", "-c",
       "mount -t tmpfs -o ro tmpfs \"$1\" && exec \"$2\" -p \"$3\" -d 5 -o \"$1/x.folded\"", "sh",
       dir_.file("ro"), loopprof_binary(), spid()});
  auto code = mount.wait_exit(milliseconds(10000));
  ASSERT_TRUE(code) << mount.describe();
  EXPECT_EQ(*code, 1) << mount.describe();
  EXPECT_FALSE(said_attached(mount)) << mount.describe();
  EXPECT_NE(mount.text(Stream::kStderr).find("Read-only file system"), std::string::npos)
      << mount.describe();
}

TEST_F(OutputDestinations, LongestValidFileNameIsWrittenAndNothingElseIsLeft) {
  std::string name(250, 'n');
  Process loopprof = run_loopprof(pid(), {"-d", "1", "-o", dir_.file(name)});
  ASSERT_EQ(loopprof.wait_exit(milliseconds(15000)), 0) << loopprof.describe();
  EXPECT_EQ(entries(dir_.path()), std::vector<std::string>{name});
  EXPECT_GT(total_weight(read_folded(dir_.file(name))), 0u) << loopprof.describe();
}

TEST_F(OutputDestinations, StdoutCarriesTheOutputAndTheReportMovesToStderr) {
  Process loopprof = run_loopprof(pid(), {"-d", "1.5", "-o", "-"});
  ASSERT_EQ(loopprof.wait_exit(milliseconds(15000)), 0) << loopprof.describe();
  auto lines = loopprof.lines(Stream::kStdout);
  ASSERT_FALSE(lines.empty()) << loopprof.describe();
  for (const auto& line : lines) {
    auto space = line.text.rfind(' ');
    ASSERT_NE(space, std::string::npos) << "not a folded line: " << line.text;
    EXPECT_NO_THROW(std::stoull(line.text.substr(space + 1))) << line.text;
  }
  EXPECT_NE(loopprof.text(Stream::kStderr).find("stalls"), std::string::npos)
      << "the summary should be on stderr\n"
      << loopprof.describe();
}

TEST_F(OutputDestinations, SymlinkToARegularFileIsKeptAndItsTargetReplaced) {
  std::ofstream(dir_.file("real.jsonl")) << "old\n";
  fs::create_symlink("real.jsonl", dir_.file("link.jsonl"));
  Process loopprof = run_loopprof(pid(), {"-d", "1", "--events", dir_.file("link.jsonl")});
  ASSERT_EQ(loopprof.wait_exit(milliseconds(15000)), 0) << loopprof.describe();
  EXPECT_TRUE(fs::is_symlink(dir_.file("link.jsonl")));
  EXPECT_EQ(fs::read_symlink(dir_.file("link.jsonl")), "real.jsonl");
  auto events = read_jsonl(dir_.file("real.jsonl"));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["event"], "summary");
  EXPECT_EQ(entries(dir_.path()), (std::vector<std::string>{"link.jsonl", "real.jsonl"}));
}

TEST_F(OutputDestinations, AnotherUsersSymlinkInASharedStickyDirectoryIsRefused) {
  if (access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "setpriv not installed";
  fs::path shared = dir_.path() / "shared";
  fs::create_directory(shared);
  chmod(dir_.path().c_str(), 0755);
  chmod(shared.c_str(), 01777);
  std::ofstream(dir_.file("precious")) << "keep me\n";
  Process ln =
      Process::spawn({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "ln",
                      "-s", dir_.file("precious"), (shared / "out.folded").string()});
  ASSERT_EQ(ln.wait_exit(milliseconds(5000)), 0) << ln.describe();
  expect_refused(pid(), {"-o", (shared / "out.folded").string()}, "symlink");
  std::ifstream in(dir_.file("precious"));
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "keep me");
}

TEST_F(OutputDestinations, FifoIsWrittenInPlaceAndOneWithoutReaderIsRefused) {
  std::string fifo = dir_.file("events.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  expect_refused(pid(), {"--events", fifo}, "no process is reading");
  Process reader = Process::spawn({"cat", fifo});
  std::this_thread::sleep_for(milliseconds(200));  // cat has opened it
  Process loopprof = run_loopprof(pid(), {"-d", "1", "--events", fifo});
  ASSERT_EQ(loopprof.wait_exit(milliseconds(15000)), 0) << loopprof.describe();
  ASSERT_EQ(reader.wait_exit(milliseconds(5000)), 0) << reader.describe();
  auto lines = reader.lines(Stream::kStdout);
  ASSERT_FALSE(lines.empty()) << reader.describe();
  EXPECT_EQ(nlohmann::json::parse(lines.back().text)["event"], "summary");
  struct stat st {};
  ASSERT_EQ(lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

// In a private mount namespace over a tmpfs /dev: -o /dev/null, --events
// /dev/full, --events /dev/stdout. The devices must stay devices.
TEST_F(OutputDestinations, DevicesAreWrittenInPlaceNeverReplaced) {
  const std::string script = R"(
set -e
mount -t tmpfs -o mode=755 loopprof-test-dev /dev
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/full c 1 7
ln -s /proc/self/fd/1 /dev/stdout
set +e
"$1" -p "$2" -d 1 -o /dev/null --events /dev/full 2>&1
echo "full-rc=$?"
"$1" -p "$2" -d 1 -o /dev/null --events /dev/stdout 2>/dev/null
echo "stdout-rc=$?"
stat -c 'type %n %F' /dev/null /dev/full /dev/stdout
)";
  Process ns = Process::spawn({"unshare", "-m", "--propagation", "private", "sh", "-c", script,
                               "sh", loopprof_binary(), spid()});
  ASSERT_EQ(ns.wait_exit(milliseconds(30000)), 0) << ns.describe();
  std::string out = ns.text(Stream::kStdout);
  EXPECT_NE(out.find("failed to write /dev/full: No space left on device"), std::string::npos)
      << out;
  EXPECT_NE(out.find("full-rc=1"), std::string::npos) << out;
  EXPECT_NE(out.find("stdout-rc=0"), std::string::npos) << out;
  EXPECT_NE(out.find("\"event\":\"summary\""), std::string::npos)
      << "--events /dev/stdout should stream JSON to stdout\n"
      << out;
  EXPECT_NE(out.find("type /dev/null character special file"), std::string::npos) << out;
  EXPECT_NE(out.find("type /dev/full character special file"), std::string::npos) << out;
  EXPECT_NE(out.find("type /dev/stdout symbolic link"), std::string::npos) << out;
}

// loopprof's own stdout or stderr, named as a path (/dev/stdout,
// /proc/self/fd/2) while the shell sends it to a regular file: written in
// place through the descriptor. Renamed over, the file would lose the text
// report (written to the shell's descriptor, then on a deleted inode) and
// whatever the shell had put there.
TEST_F(OutputDestinations, OwnStdoutOrStderrInAFileIsWrittenInPlace) {
  const std::string script = R"(
cd "$3"
echo kept-line > out
echo kept-line > err
ls -i out err > inodes-before
"$1" -p "$2" -d 1 --events /dev/stdout >> out 2> report
echo "stdout-rc=$?" > rcs
"$1" -p "$2" -d 1 -o /proc/self/fd/2 > report2 2>> err
echo "stderr-rc=$?" >> rcs
ls -i out err > inodes-after
)";
  Process sh =
      Process::spawn({"sh", "-c", script, "sh", loopprof_binary(), spid(), dir_.path().string()});
  ASSERT_EQ(sh.wait_exit(milliseconds(30000)), 0) << sh.describe();
  auto text = [&](const std::string& name) {
    std::ifstream in(dir_.file(name));
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(text("rcs"), "stdout-rc=0\nstderr-rc=0\n");
  EXPECT_EQ(text("inodes-before"), text("inodes-after")) << "an output replaced the shell's file";
  // --events /dev/stdout >> out: the old line, then the events; the report on stderr.
  std::string out = text("out");
  EXPECT_EQ(out.rfind("kept-line\n", 0), 0u) << out.substr(0, 200);
  EXPECT_NE(out.find("\"event\":\"summary\""), std::string::npos) << out.substr(0, 400);
  EXPECT_NE(text("report").find("stalls"), std::string::npos)
      << "the text report should move to stderr\n"
      << text("report");
  // -o /proc/self/fd/2 2>> err: the old line, loopprof's messages and the folded stacks.
  std::string err = text("err");
  EXPECT_EQ(err.rfind("kept-line\n", 0), 0u) << err.substr(0, 200);
  EXPECT_NE(err.find("attached to PID"), std::string::npos) << err.substr(0, 400);
  size_t folded = 0;  // "frame;frame;... WEIGHT" lines
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);) {
    auto space = line.rfind(' ');
    if (line.rfind("loopprof:", 0) != 0 && space != std::string::npos && space + 1 < line.size() &&
        line.find_first_not_of("0123456789", space + 1) == std::string::npos)
      ++folded;
  }
  EXPECT_GT(folded, 0u) << "no folded stacks on stderr\n" << err;
  EXPECT_NE(text("report2").find("stalls"), std::string::npos) << text("report2");
  EXPECT_EQ(entries(dir_.path()), (std::vector<std::string>{"err", "inodes-after", "inodes-before",
                                                            "out", "rcs", "report", "report2"}));
}

// True once process `pid` holds a descriptor of a file in `dir` (an output it
// is writing, named or not); false if it exits first or after `timeout`.
bool wait_for_open_file_in(pid_t pid, const fs::path& dir, milliseconds timeout) {
  const std::string prefix = dir.string() + "/";
  for (auto end = Clock::now() + timeout; Clock::now() < end;) {
    std::error_code ec;
    for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
      std::error_code link_ec;
      if (fs::read_symlink(fd.path(), link_ec).string().rfind(prefix, 0) == 0) return true;
    }
    if (ec) return false;  // exited
    std::this_thread::sleep_for(milliseconds(1));
  }
  return false;
}

// Stopped (SIGINT) or killed (SIGKILL) at any moment of its start-up, loopprof
// leaves no temporary file: regular outputs are unnamed until they are renamed.
// The delays count from the moment it has its output files open (on a loaded
// machine, start-up alone can outlast them).
TEST_F(OutputDestinations, StoppingAtStartLeavesNoTemporaryFiles) {
  for (int signal : {SIGINT, SIGKILL}) {
    for (int delay_ms : {0, 15, 30, 45, 60, 75, 100, 150}) {
      Process loopprof = start_loopprof(
          {"-p", spid(), "-o", dir_.file("s.folded"), "--events", dir_.file("e.jsonl")});
      ASSERT_TRUE(wait_for_open_file_in(loopprof.pid(), dir_.path(), milliseconds(10000)))
          << "loopprof never opened its outputs\n"
          << loopprof.describe();
      std::this_thread::sleep_for(milliseconds(delay_ms));
      loopprof.signal(signal);
      ASSERT_TRUE(loopprof.wait_exit(milliseconds(15000))) << loopprof.describe();
      for (const auto& name : entries(dir_.path()))
        EXPECT_TRUE(name == "s.folded" || name == "e.jsonl")
            << "left behind after signal " << signal << " at " << delay_ms
            << " ms: " << joined(entries(dir_.path())) << "\n"
            << loopprof.describe();
      if (fs::exists(dir_.file("e.jsonl"))) {
        EXPECT_NO_THROW(read_jsonl(dir_.file("e.jsonl"))) << loopprof.describe();
      }
    }
  }
}

}  // namespace
}  // namespace loopprof::test
