// `loopprof top`: in a real terminal (tmux) against a fixture whose loop
// stalls again and again, and as plain text into a pipe. Needs root.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <thread>

#include "harness.hpp"
#include "tmux_session.hpp"

namespace loopprof::test {
namespace {

// The fixture's culprit as loopprof names it: "slow_handler (top_app.py:LINE)".
std::string fixture_culprit() {
  std::ifstream source(fixture_source("top_app.py"));
  int number = 0;
  for (std::string line; std::getline(source, line);) {
    ++number;
    if (line.find("# CULPRIT") != std::string::npos)
      return "slow_handler (top_app.py:" + std::to_string(number) + ")";
  }
  return "CULPRIT marker not found in top_app.py";
}

class TopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    auto pythons = test_pythons();
    ASSERT_FALSE(pythons.empty());
    app_.emplace(Process::spawn(
        {pythons.front().executable, fixture_source("top_app.py"), "--stall", "300"}));
    auto loop = app_->wait_for_line(Stream::kStdout, "loop top-loop ", milliseconds(30000));
    ASSERT_TRUE(loop) << app_->describe();
    tid_ = std::stoi(loop->text.substr(loop->text.rfind(' ') + 1));
    ASSERT_TRUE(app_->wait_for_line(Stream::kStdout, "ready", milliseconds(30000)));
  }

  // The row of the fixture's loop thread on a screen, or "".
  std::string loop_row(const std::vector<std::string>& rows) const {
    std::regex row("^ *" + std::to_string(app_->pid()) + " +" + std::to_string(tid_) +
                   " +top-loop ");
    for (const std::string& r : rows)
      if (std::regex_search(r, row)) return r;
    return "";
  }

  std::optional<Process> app_;
  pid_t tid_ = 0;
};

TEST_F(TopTest, TerminalShowsLoopAndCulpritKeysWorkQuitRestoresShell) {
  const std::string culprit = fixture_culprit();
  TmuxSession tmux("bash --norc --noprofile", 160, 50);
  // The shell's prompt, alone on the last line: it waits for a command.
  auto last_row = [](std::vector<std::string> rows) {
    while (!rows.empty() && rows.back().empty()) rows.pop_back();
    return rows.empty() ? std::string() : rows.back();
  };
  std::string prompt = last_row(
      tmux.wait_for([&](const auto& rows) { return last_row(rows).find('#') != std::string::npos; },
                    milliseconds(10000)));
  ASSERT_NE(prompt, "") << pane_text(tmux.capture());
  auto at_prompt = [&](const auto& rows) { return last_row(rows) == prompt; };

  tmux.type("echo before-top-marker", true);
  auto before = tmux.wait_for(
      [&](const auto& rows) {
        return pane_has(rows, "before-top-marker") && at_prompt(rows) && rows.size() > 2;
      },
      milliseconds(10000));
  while (!before.empty() && before.back().empty()) before.pop_back();
  ASSERT_EQ(before.size(), 3u) << pane_text(before);  // prompt+command, output, prompt

  const std::string command = fmt::format("{} top -p {}", loopprof_binary(), app_->pid());
  tmux.type(command, true);
  // The loop's row names the thread and the worst stall's culprit and
  // cause; the stacks below name it too.
  auto screen = tmux.wait_for(
      [&](const auto& rows) {
        std::string row = loop_row(rows);
        return row.find(culprit) != std::string::npos && pane_has(rows, "in " + culprit);
      },
      milliseconds(30000));
  std::string row = loop_row(screen);
  ASSERT_NE(row, "") << "no row for tid " << tid_ << "\n" << pane_text(screen);
  EXPECT_NE(row.find(culprit), std::string::npos) << pane_text(screen);
  EXPECT_NE(row.find(" sleep "), std::string::npos) << "cause\n" << pane_text(screen);
  EXPECT_TRUE(pane_has(screen, "in " + culprit)) << pane_text(screen);
  EXPECT_TRUE(pane_has(screen, "LAG p99")) << pane_text(screen);

  tmux.type("s");
  screen = tmux.wait_for([](const auto& rows) { return pane_has(rows, "sort: stalls/min"); },
                         milliseconds(5000));
  EXPECT_TRUE(pane_has(screen, "sort: stalls/min")) << pane_text(screen);
  tmux.type(" ");
  screen = tmux.wait_for([](const auto& rows) { return pane_has(rows, "[PAUSED]"); },
                         milliseconds(5000));
  EXPECT_TRUE(pane_has(screen, "[PAUSED]")) << pane_text(screen);

  tmux.type("q");
  auto after =
      tmux.wait_for([&](const auto& rows) { return !pane_has(rows, "LAG p99") && at_prompt(rows); },
                    milliseconds(5000));
  EXPECT_FALSE(pane_has(after, "LAG p99")) << "still on top's screen\n" << pane_text(after);
  tmux.type("echo top-exit-$?", true);
  after = tmux.wait_for([](const auto& rows) { return pane_has(rows, "top-exit-0"); },
                        milliseconds(5000));
  EXPECT_TRUE(pane_has(after, "top-exit-0")) << pane_text(after);

  // The shell's screen is as it was: the lines before, the command, what
  // loopprof printed before taking the screen, and nothing of top's view.
  ASSERT_GT(after.size(), before.size()) << pane_text(after);
  for (size_t i = 0; i + 1 < before.size(); ++i)
    EXPECT_EQ(after[i], before[i]) << "row " << i << "\n" << pane_text(after);
  // (tmux trims the blank after the prompt)
  EXPECT_EQ(after[before.size() - 1].rfind(prompt, 0), 0u) << pane_text(after);
  EXPECT_TRUE(after[before.size() - 1].ends_with(" " + command)) << pane_text(after);
  EXPECT_NE(after[before.size()].find("loopprof: attached to PID"), std::string::npos)
      << pane_text(after);
  EXPECT_FALSE(pane_has(after, "heaviest stall stacks")) << pane_text(after);
}

// Parses "300.4ms" / "1.20s" into ms; nullopt for bounds ("<...") and "-".
std::optional<double> parse_ms(const std::string& token) {
  std::smatch m;
  if (std::regex_match(token, m, std::regex(R"(([0-9.]+)(us|ms|s))"))) {
    double value = std::stod(m[1]);
    return m[2] == "us" ? value / 1000 : m[2] == "ms" ? value : value * 1000;
  }
  return std::nullopt;
}

TEST_F(TopTest, PipeGetsPlainTextBlocks) {
  const std::string culprit = fixture_culprit();
  Process top = start_loopprof({"top", "-p", std::to_string(app_->pid()), "-i", "1", "-n", "4"});
  ASSERT_EQ(top.wait_exit(milliseconds(60000)), 0) << top.describe();
  std::string out = top.text(Stream::kStdout);
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << "terminal escapes in a pipe\n" << out;

  std::vector<std::string> rows;
  size_t blocks = 0;
  for (const OutputLine& line : top.lines(Stream::kStdout)) {
    rows.push_back(line.text);
    blocks += line.text.rfind("loopprof top ", 0) == 0;
  }
  EXPECT_EQ(blocks, 4u) << out;
  EXPECT_FALSE(pane_has(rows, "keys:")) << "key help in a pipe\n" << out;

  // Every block has the loop's row; some interval saw a whole stall: its lag
  // max is the 300 ms sleep (and no more than it plus scheduling delay on a
  // loaded machine), its utilization between the stall's share and all.
  size_t loop_rows = 0;
  bool saw_stall_interval = false;
  std::regex row_re("^ *" + std::to_string(app_->pid()) + " +" + std::to_string(tid_) +
                    " +top-loop +([0-9]+) +(\\S+) +(\\S+) +(\\S+) +([0-9.]+)% ");
  for (const std::string& r : rows) {
    std::smatch m;
    if (!std::regex_search(r, m, row_re)) continue;
    ++loop_rows;
    auto max_ms = parse_ms(m[4]);
    if (!max_ms || *max_ms < 300) continue;
    saw_stall_interval = true;
    EXPECT_LT(*max_ms, 1500) << r;
    double util = std::stod(m[5]);
    EXPECT_GT(util, 15) << r;
    EXPECT_LE(util, 100) << r;
    EXPECT_NE(r.find(culprit), std::string::npos) << r;
  }
  EXPECT_EQ(loop_rows, 4u) << out;
  EXPECT_TRUE(saw_stall_interval) << out;
  EXPECT_TRUE(pane_has(rows, "in " + culprit)) << out;
}

TEST_F(TopTest, TargetExitEndsTextMode) {
  Process top = start_loopprof({"top", "-p", std::to_string(app_->pid()), "-i", "0.5"});
  ASSERT_TRUE(top.wait_for_line(Stream::kStdout, "loopprof top ", milliseconds(30000)))
      << top.describe();
  app_->signal(SIGKILL);
  ASSERT_EQ(top.wait_exit(milliseconds(10000)), 0) << top.describe();
  EXPECT_NE(top.text(Stream::kStderr).find(fmt::format("PID {} (python3) exited", app_->pid())),
            std::string::npos)
      << top.describe();
}

// Without -p, top watches every loop process of the host in one BPF session:
// a loop started before top and one started while it runs both get their
// row, lag and culprit; one that exits leaves with a notice.
TEST_F(TopTest, WithoutPidWatchesEveryLoopProcessOldAndNew) {
  const std::string culprit = fixture_culprit();
  Process top = start_loopprof({"top", "-i", "1", "-n", "8", "--text"});
  ASSERT_TRUE(top.wait_for_line(Stream::kStdout, "loopprof top ", milliseconds(30000)))
      << top.describe();
  auto pythons = test_pythons();
  Process late =
      Process::spawn({pythons.back().executable, fixture_source("top_app.py"), "--stall", "250"});
  auto loop = late.wait_for_line(Stream::kStdout, "loop top-loop ", milliseconds(30000));
  ASSERT_TRUE(loop) << late.describe();
  pid_t late_tid = std::stoi(loop->text.substr(loop->text.rfind(' ') + 1));
  ASSERT_TRUE(top.wait_for_line(Stream::kStdout, fmt::format("watching PID {} (", late.pid()),
                                milliseconds(20000)))
      << top.describe();
  std::this_thread::sleep_for(milliseconds(2500));  // intervals with the late loop's stalls
  app_->signal(SIGKILL);
  ASSERT_EQ(top.wait_exit(milliseconds(60000)), 0) << top.describe();
  late.signal(SIGKILL);
  std::string out = top.text(Stream::kStdout);
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_NE(out.find("every loop process ("), std::string::npos) << out;

  // Rows: "PID TID THREAD ITER ..." with the culprit once a stall was seen.
  auto row_of = [](pid_t pid, pid_t tid) {
    return std::regex("^ *" + std::to_string(pid) + " +" + std::to_string(tid) + " +top-loop ");
  };
  bool early_row = false, late_row = false, late_culprit = false;
  for (const OutputLine& line : top.lines(Stream::kStdout)) {
    if (std::regex_search(line.text, row_of(app_->pid(), tid_))) early_row = true;
    if (std::regex_search(line.text, row_of(late.pid(), late_tid))) {
      late_row = true;
      late_culprit |= line.text.find(culprit) != std::string::npos;
    }
  }
  EXPECT_TRUE(early_row) << "no row for the loop started before top\n" << out;
  EXPECT_TRUE(late_row) << "no row for the loop started after top\n" << out;
  EXPECT_TRUE(late_culprit) << "the late loop's stalls are not named\n" << out;
  EXPECT_NE(out.find(fmt::format("PID {} exited", app_->pid())), std::string::npos)
      << "no notice of the exit\n"
      << out;
}

}  // namespace
}  // namespace loopprof::test
