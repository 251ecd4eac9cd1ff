// Tests of the harness itself (no loopprof, no root): if these fail, the
// integration tests' verdicts mean nothing.
#include "harness.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <fstream>

namespace loopprof::test {
namespace {

TEST(Harness, CapturesBothStreamsAndExitCode) {
  Process p = Process::spawn({"sh", "-c", "echo one; echo two >&2; printf partial; exit 3"});
  auto line = p.wait_for_line(Stream::kStdout, "one", milliseconds(5000));
  ASSERT_TRUE(line);
  EXPECT_EQ(line->text, "one");
  EXPECT_TRUE(p.wait_for_line(Stream::kStderr, "two", milliseconds(5000)));
  EXPECT_EQ(p.wait_exit(milliseconds(5000)), 3);
  EXPECT_EQ(p.text(Stream::kStdout), "one\npartial");
  EXPECT_EQ(p.lines(Stream::kStdout).back().text, "partial");
}

TEST(Harness, WaitForLineTimesOutAndStopsAtEof) {
  Process p = Process::spawn({"sh", "-c", "echo a; sleep 0.3; echo b"});
  EXPECT_FALSE(p.wait_for_line(Stream::kStdout, "b", milliseconds(50)));
  EXPECT_TRUE(p.wait_for_line(Stream::kStdout, "b", milliseconds(5000)));
  auto start = Clock::now();
  EXPECT_FALSE(p.wait_for_line(Stream::kStdout, "never", milliseconds(5000)));
  EXPECT_LT(Clock::now() - start, milliseconds(3000));  // ended by EOF, not by timeout
}

TEST(Harness, WaitForLineFromIndexSkipsEarlierLines) {
  Process p = Process::spawn({"sh", "-c", "echo x1; echo y; echo x2"});
  auto first = p.wait_for_line(Stream::kStdout, "x", milliseconds(5000));
  ASSERT_TRUE(first);
  auto second = p.wait_for_line(Stream::kStdout, "x", milliseconds(5000), first->index + 1);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->text, "x2");
}

TEST(Harness, SignalAndStdin) {
  Process p = Process::spawn({{"sh", "-c",
                               "trap 'echo got-term; exit 0' TERM; read x; echo \"read $x\"; "
                               "while :; do sleep 0.05; done"},
                              {},
                              true});
  p.write_stdin("hello\n");
  ASSERT_TRUE(p.wait_for_line(Stream::kStdout, "read hello", milliseconds(5000)));
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(milliseconds(5000)), 0);
  EXPECT_NE(p.text(Stream::kStdout).find("got-term"), std::string::npos);
}

TEST(Harness, ExitCodeOfSignalledProcess) {
  Process p = Process::spawn({"sleep", "30"});
  EXPECT_FALSE(p.wait_exit(milliseconds(50)));
  p.signal(SIGKILL);
  EXPECT_EQ(p.wait_exit(milliseconds(5000)), 128 + SIGKILL);
}

TEST(Harness, EnvironmentIsPassed) {
  Process p = Process::spawn(
      {{"sh", "-c", "echo \"v=$LOOPPROF_HARNESS_VAR\""}, {{"LOOPPROF_HARNESS_VAR", "42"}}});
  EXPECT_TRUE(p.wait_for_line(Stream::kStdout, "v=42", milliseconds(5000)));
}

TEST(Harness, DestructorKillsTheProcessGroup) {
  pid_t parent = -1, child = -1;
  {
    Process p = Process::spawn({"sh", "-c", "sleep 60 & echo child $!; wait"});
    auto line = p.wait_for_line(Stream::kStdout, "child", milliseconds(5000));
    ASSERT_TRUE(line);
    parent = p.pid();
    child = std::stoi(line->text.substr(6));
  }
  EXPECT_EQ(kill(parent, 0), -1);
  // The orphaned grandchild was killed too (it may linger as a zombie of init briefly).
  for (int i = 0; i < 100 && kill(child, 0) == 0; ++i) {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string pid, comm, state;
    stat >> pid >> comm >> state;
    if (!stat || state == "Z") break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
  std::string pid, comm, state;
  stat >> pid >> comm >> state;
  EXPECT_TRUE(!stat || state == "Z") << "grandchild " << child << " still alive";
}

TEST(Harness, SpawnOfMissingProgramThrows) {
  EXPECT_THROW(Process::spawn({"/nonexistent/program"}), std::runtime_error);
  EXPECT_THROW(Process::spawn({"no-such-program-in-path-xyz"}), std::runtime_error);
}

TEST(Harness, ReadsFoldedAndJsonl) {
  TempDir dir;
  std::ofstream(dir.file("a.folded")) << "main;run;leaf 150\nmain;other 50\n";
  auto stacks = read_folded(dir.file("a.folded"));
  ASSERT_EQ(stacks.size(), 2u);
  EXPECT_EQ(stacks[0].frames, (std::vector<std::string>{"main", "run", "leaf"}));
  EXPECT_EQ(total_weight(stacks), 200u);

  std::ofstream(dir.file("frames with spaces.folded")) << "a b;c d 7\n";
  auto spaced = read_folded(dir.file("frames with spaces.folded"));
  ASSERT_EQ(spaced.size(), 1u);
  EXPECT_EQ(spaced[0].frames.back(), "c d");

  std::ofstream(dir.file("e.jsonl")) << "{\"event\":\"stall\",\"tid\":1}\n{\"event\":\"x\"}\n";
  auto events = read_jsonl(dir.file("e.jsonl"));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["tid"], 1);

  std::ofstream(dir.file("cut.jsonl")) << "{\"event\":\"stall\"}\n{\"event\":";
  EXPECT_THROW(read_jsonl(dir.file("cut.jsonl")), std::runtime_error);
  std::ofstream(dir.file("bad.folded")) << "main;run nope\n";
  EXPECT_THROW(read_folded(dir.file("bad.folded")), std::runtime_error);
}

TEST(Harness, TempDirIsRemoved) {
  std::filesystem::path path;
  {
    TempDir dir;
    path = dir.path();
    std::ofstream(dir.file("f")) << "x";
    EXPECT_TRUE(std::filesystem::exists(path / "f"));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace loopprof::test
