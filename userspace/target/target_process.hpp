// The traced process as seen through /proc: existence, names, exit, and the
// threads that are waiting in a poll-family syscall right now.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/error.hpp"
#include "core/unique_fd.hpp"

namespace loopprof {

// A thread blocked in a poll-family syscall when we looked.
struct PollWaiter {
  pid_t tid = 0;
  uint32_t family = 0;  // enum lp_wait_family
  int32_t key = -1;
  uint64_t user_sp = 0;
};

class TargetProcess {
 public:
  static Result<TargetProcess> open(pid_t pid);

  pid_t pid() const { return pid_; }
  const std::string& command() const { return command_; }
  // Readable (poll/epoll) once the process has exited.
  int exit_fd() const { return exit_fd_.get(); }
  bool exited() const;
  size_t thread_count() const;
  // TIDs in /proc/PID/task now.
  std::unordered_set<pid_t> thread_ids() const;
  // Thread name, remembered until forget_thread (a stall record of an
  // exiting thread comes before its exit): the program's own name for it
  // when a namer gives one (Python threading names), else its comm.
  const std::string& thread_name(pid_t tid);
  // TID -> name as the program names its threads; asked at most every
  // kNamerInterval, when a thread's name is first needed.
  using ThreadNamer = std::function<std::unordered_map<pid_t, std::string>()>;
  void set_thread_namer(ThreadNamer namer) { namer_ = std::move(namer); }
  void forget_thread(pid_t tid) { thread_names_.erase(tid); }
  size_t names_kept() const { return thread_names_.size(); }
  // The process executed a new program: re-reads its name and image.
  void note_exec();
  std::vector<PollWaiter> poll_waiters() const;
  // True once per exec of the target: /proc/PID/exe names another file.
  bool image_changed();

 private:
  TargetProcess(pid_t pid, std::string command, UniqueFd exit_fd)
      : pid_(pid), command_(std::move(command)), exit_fd_(std::move(exit_fd)) {
    image_changed();  // remember the current image
  }

  pid_t pid_;
  std::string command_;
  UniqueFd exit_fd_;
  std::unordered_map<pid_t, std::string> thread_names_;
  ThreadNamer namer_;
  std::unordered_map<pid_t, std::string> program_names_;  // the namer's last answer
  std::chrono::steady_clock::time_point named_at_{};
  std::pair<uint64_t, uint64_t> image_{};  // (device, inode) of /proc/PID/exe
};

// Parses one /proc/PID/task/TID/syscall line ("NR ARG1..ARG6 SP PC").
// Returns false for "running", "-1 ..." or a syscall outside the poll family.
// For poll/ppoll the key needs target memory: `first_pollfd` is called with
// the pollfd array address.
bool parse_poll_waiter(const std::string& line, pid_t tid, PollWaiter& out,
                       int32_t (*first_pollfd)(pid_t pid, uint64_t address), pid_t pid);

}  // namespace loopprof
