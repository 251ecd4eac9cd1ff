// A child process with captured stdout/stderr, for integration tests.
//
// The child runs in its own process group with PR_SET_PDEATHSIG=SIGKILL, and
// the destructor kills the group and reaps it: a failing test leaks nothing.
// Note: PDEATHSIG fires when the *thread* that spawned the child exits, so
// spawn a Process on a thread that outlives it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace loopprof::test {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

enum class Stream { kStdout, kStderr };

// One complete line of output and when the harness read it.
struct OutputLine {
  std::string text;
  Clock::time_point received;
  size_t index = 0;  // position among the stream's lines
};

struct ProcessOptions {
  std::vector<std::string> argv;           // argv[0] is looked up in PATH
  std::map<std::string, std::string> env;  // added to / overriding the test's environment
  bool pipe_stdin = false;                 // else stdin is /dev/null
};

class Process {
 public:
  // Throws std::runtime_error when the program cannot be started.
  static Process spawn(ProcessOptions options);
  static Process spawn(std::vector<std::string> argv) {
    return spawn({std::move(argv), {}, false});
  }

  Process(Process&&) noexcept;
  Process& operator=(Process&&) = delete;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();  // SIGKILLs the process group if still running, reaps, joins the reader

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }

  // First line (from line index `from` on) containing `needle`; nullopt on
  // timeout or when the stream ends without it.
  std::optional<OutputLine> wait_for_line(Stream stream, const std::string& needle,
                                          milliseconds timeout, size_t from = 0);
  std::vector<OutputLine> lines(Stream stream) const;
  std::string text(Stream stream) const;  // everything read so far, partial last line included

  void signal(int sig) const;  // to the process only (not its group)
  void write_stdin(const std::string& data) const;
  void close_stdin();

  // Exit code (128 + signal number if killed by a signal), nullopt on timeout.
  // After the exit, waits (briefly) until both pipes are drained.
  std::optional<int> wait_exit(milliseconds timeout);
  bool running();
  std::optional<int> exit_code() const { return exit_code_; }

  // "name pid=N exit=X\n--- stdout ---\n...--- stderr ---\n..." for failure messages.
  std::string describe() const;

 private:
  struct Capture;  // pipe buffers shared with the reader thread
  Process(pid_t pid, std::string name, int stdin_fd, int stdout_fd, int stderr_fd);
  bool reap(bool block);

  pid_t pid_ = -1;
  std::string name_;
  int stdin_fd_ = -1;
  std::optional<int> exit_code_;
  std::shared_ptr<Capture> capture_;
  std::thread reader_;
};

}  // namespace loopprof::test
