#include "process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <utility>

extern char** environ;

namespace loopprof::test {

struct Process::Capture {
  struct Channel {
    int fd = -1;
    bool eof = false;
    std::string partial;
    std::string all;
    std::vector<OutputLine> lines;
  };
  mutable std::mutex mutex;
  std::condition_variable changed;
  std::array<Channel, 2> channels;
  std::atomic<bool> stop{false};

  Channel& channel(Stream s) { return channels[s == Stream::kStdout ? 0 : 1]; }
  const Channel& channel(Stream s) const { return channels[s == Stream::kStdout ? 0 : 1]; }

  void append(Channel& ch, const char* data, size_t n) {
    auto now = Clock::now();
    ch.all.append(data, n);
    ch.partial.append(data, n);
    size_t pos;
    while ((pos = ch.partial.find('\n')) != std::string::npos) {
      ch.lines.push_back({ch.partial.substr(0, pos), now, ch.lines.size()});
      ch.partial.erase(0, pos + 1);
    }
  }

  void finish(Channel& ch) {
    if (!ch.partial.empty()) {
      ch.lines.push_back({ch.partial, Clock::now(), ch.lines.size()});
      ch.partial.clear();
    }
    ch.eof = true;
    close(ch.fd);
    ch.fd = -1;
  }

  // Reader thread body: drains both pipes until EOF or stop.
  void pump() {
    std::array<char, 8192> buf;
    for (;;) {
      std::array<pollfd, 2> fds{};
      nfds_t n = 0;
      std::array<Channel*, 2> owners{};
      for (auto& ch : channels) {
        if (ch.eof) continue;
        fds[n] = {ch.fd, POLLIN, 0};
        owners[n++] = &ch;
      }
      if (n == 0 || stop.load()) break;
      int ready = poll(fds.data(), n, 50);
      if (ready < 0 && errno != EINTR) break;
      for (nfds_t i = 0; i < n && ready > 0; ++i) {
        if (fds[i].revents == 0) continue;
        ssize_t got = read(fds[i].fd, buf.data(), buf.size());
        std::lock_guard lock(mutex);
        if (got > 0) {
          append(*owners[i], buf.data(), static_cast<size_t>(got));
        } else if (got == 0 || errno != EINTR) {
          finish(*owners[i]);
        }
        changed.notify_all();
      }
    }
    std::lock_guard lock(mutex);
    for (auto& ch : channels) {
      if (!ch.eof) finish(ch);
    }
    changed.notify_all();
  }
};

namespace {

std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  throw std::runtime_error(fmt::format("failed to find program {}: not in PATH", name));
}

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) env[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      throw std::runtime_error(fmt::format("failed to create pipe: {}", strerror(errno)));
    }
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    if (read_end >= 0) close(read_end);
    if (write_end >= 0) close(write_end);
  }
  int release_read() { return std::exchange(read_end, -1); }
  int release_write() { return std::exchange(write_end, -1); }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
};

std::string tail(const std::string& s, size_t max) {
  return s.size() <= max ? s : "...\n" + s.substr(s.size() - max);
}

}  // namespace

Process Process::spawn(ProcessOptions options) {
  static const bool sigpipe_ignored = (std::signal(SIGPIPE, SIG_IGN), true);
  (void)sigpipe_ignored;
  if (options.argv.empty()) throw std::runtime_error("failed to spawn process: empty argv");

  std::string program = resolve_program(options.argv[0]);
  std::vector<std::string> env = merged_environment(options.env);
  std::vector<char*> argv_c = c_strings(options.argv);
  std::vector<char*> env_c = c_strings(env);

  Pipe in, out, err, exec_status;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(fmt::format("failed to fork: {}", strerror(errno)));
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    int stdin_fd = options.pipe_stdin ? in.read_end : open("/dev/null", O_RDONLY);
    dup2(stdin_fd, 0);
    dup2(out.write_end, 1);
    dup2(err.write_end, 2);
    execve(program.c_str(), argv_c.data(), env_c.data());
    int e = errno;
    (void)!write(exec_status.write_end, &e, sizeof e);
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so the group exists before we return
  close(exec_status.release_write());
  int exec_errno = 0;
  ssize_t got;
  do {
    got = read(exec_status.read_end, &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  if (got > 0) {
    waitpid(pid, nullptr, 0);
    throw std::runtime_error(
        fmt::format("failed to execute {}: {}", program, strerror(exec_errno)));
  }
  close(in.release_read());
  close(out.release_write());
  close(err.release_write());
  int stdin_fd = options.pipe_stdin ? in.release_write() : -1;
  return Process(pid, options.argv[0], stdin_fd, out.release_read(), err.release_read());
}

Process::Process(pid_t pid, std::string name, int stdin_fd, int stdout_fd, int stderr_fd)
    : pid_(pid),
      name_(std::move(name)),
      stdin_fd_(stdin_fd),
      capture_(std::make_shared<Capture>()) {
  capture_->channel(Stream::kStdout).fd = stdout_fd;
  capture_->channel(Stream::kStderr).fd = stderr_fd;
  reader_ = std::thread([capture = capture_] { capture->pump(); });
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      name_(std::move(other.name_)),
      stdin_fd_(std::exchange(other.stdin_fd_, -1)),
      exit_code_(other.exit_code_),
      capture_(std::move(other.capture_)),
      reader_(std::move(other.reader_)) {}

Process::~Process() {
  if (pid_ > 0 && !exit_code_) {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    reap(true);
  }
  close_stdin();
  if (capture_) capture_->stop = true;
  if (reader_.joinable()) reader_.join();
}

bool Process::reap(bool block) {
  if (exit_code_) return true;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return false;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

bool Process::running() {
  return !reap(false);
}

std::optional<int> Process::wait_exit(milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!reap(false)) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(5));
  }
  // Give the reader a moment to drain what the process wrote last.
  std::unique_lock lock(capture_->mutex);
  capture_->changed.wait_until(lock, Clock::now() + milliseconds(2000), [&] {
    return capture_->channels[0].eof && capture_->channels[1].eof;
  });
  return exit_code_;
}

void Process::signal(int sig) const {
  if (pid_ > 0 && !exit_code_) kill(pid_, sig);
}

void Process::write_stdin(const std::string& data) const {
  if (stdin_fd_ < 0) throw std::runtime_error(fmt::format("{}: stdin is not a pipe", name_));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(stdin_fd_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw std::runtime_error(
          fmt::format("failed to write to stdin of {}: {}", name_, strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
}

void Process::close_stdin() {
  if (stdin_fd_ >= 0) close(std::exchange(stdin_fd_, -1));
}

std::optional<OutputLine> Process::wait_for_line(Stream stream, const std::string& needle,
                                                 milliseconds timeout, size_t from) {
  auto deadline = Clock::now() + timeout;
  std::unique_lock lock(capture_->mutex);
  const auto& ch = capture_->channel(stream);
  for (;;) {
    for (size_t i = from; i < ch.lines.size(); ++i) {
      if (ch.lines[i].text.find(needle) != std::string::npos) return ch.lines[i];
    }
    from = std::max(from, ch.lines.size());
    if (ch.eof) return std::nullopt;
    if (capture_->changed.wait_until(lock, deadline) == std::cv_status::timeout) {
      for (size_t i = from; i < ch.lines.size(); ++i) {
        if (ch.lines[i].text.find(needle) != std::string::npos) return ch.lines[i];
      }
      return std::nullopt;
    }
  }
}

std::vector<OutputLine> Process::lines(Stream stream) const {
  std::lock_guard lock(capture_->mutex);
  return capture_->channel(stream).lines;
}

std::string Process::text(Stream stream) const {
  std::lock_guard lock(capture_->mutex);
  return capture_->channel(stream).all;
}

std::string Process::describe() const {
  return fmt::format("{} pid={} exit={}\n--- stdout ---\n{}\n--- stderr ---\n{}\n", name_, pid_,
                     exit_code_ ? std::to_string(*exit_code_) : "running",
                     tail(text(Stream::kStdout), 6000), tail(text(Stream::kStderr), 6000));
}

}  // namespace loopprof::test
