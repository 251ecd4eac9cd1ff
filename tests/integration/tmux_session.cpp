#include "tmux_session.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <sstream>
#include <stdexcept>
#include <thread>

namespace loopprof::test {

TmuxSession::TmuxSession(const std::string& command, int width, int height)
    : socket_(fmt::format("loopprof-test-{}", getpid())) {
  tmux({"-f", "/dev/null", "new-session", "-d", "-s", "test", "-x", std::to_string(width), "-y",
        std::to_string(height), command});
}

TmuxSession::~TmuxSession() {
  try {
    tmux({"kill-server"});
  } catch (const std::exception&) {
  }
}

std::string TmuxSession::tmux(std::vector<std::string> args) {
  args.insert(args.begin(), {"tmux", "-L", socket_});
  std::string line = fmt::format("{}", fmt::join(args, " "));
  Process p = Process::spawn(std::move(args));
  auto code = p.wait_exit(milliseconds(10000));
  if (code != 0) throw std::runtime_error(fmt::format("`{}` failed\n{}", line, p.describe()));
  return p.text(Stream::kStdout);
}

void TmuxSession::type(const std::string& text, bool enter) {
  if (!text.empty()) tmux({"send-keys", "-t", "test", "-l", text});
  if (enter) tmux({"send-keys", "-t", "test", "Enter"});
}

std::vector<std::string> TmuxSession::capture() {
  std::istringstream in(tmux({"capture-pane", "-p", "-t", "test"}));
  std::vector<std::string> rows;
  for (std::string row; std::getline(in, row);) rows.push_back(row);
  return rows;
}

std::vector<std::string> TmuxSession::wait_for(
    const std::function<bool(const std::vector<std::string>&)>& done, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::vector<std::string> rows = capture();
  while (!done(rows) && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(200));
    rows = capture();
  }
  return rows;
}

std::string pane_text(const std::vector<std::string>& rows) {
  return fmt::format("{}", fmt::join(rows, "\n"));
}

bool pane_has(const std::vector<std::string>& rows, const std::string& needle) {
  for (const std::string& row : rows)
    if (row.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace loopprof::test
