// A program running in a real terminal: a detached tmux session on a private
// server (its own socket), driven with send-keys and read with capture-pane.
// The destructor kills the server.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "process.hpp"

namespace loopprof::test {

class TmuxSession {
 public:
  // Starts `command` (a shell command line) in a width x height pane.
  // Throws std::runtime_error if tmux cannot start it.
  TmuxSession(const std::string& command, int width, int height);
  ~TmuxSession();
  TmuxSession(const TmuxSession&) = delete;
  TmuxSession& operator=(const TmuxSession&) = delete;

  // Types `text` literally (no key names), then Enter if `enter`.
  void type(const std::string& text, bool enter = false);
  // The visible pane, one string per row (trailing blanks trimmed by tmux).
  std::vector<std::string> capture();
  // Captures until `done` holds for the pane or `timeout` passes; returns the
  // last capture either way.
  std::vector<std::string> wait_for(
      const std::function<bool(const std::vector<std::string>&)>& done, milliseconds timeout);

 private:
  std::string tmux(std::vector<std::string> args);  // runs tmux -L SOCKET ARGS..., returns stdout
  std::string socket_;
};

// The pane as one string (rows joined with '\n'), for failure messages.
std::string pane_text(const std::vector<std::string>& rows);
// Whether some row of the pane contains `needle`.
bool pane_has(const std::vector<std::string>& rows, const std::string& needle);

}  // namespace loopprof::test
