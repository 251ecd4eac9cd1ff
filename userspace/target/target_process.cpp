#include "target/target_process.hpp"

#include <dirent.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "bpf/abi.hpp"
#include "target/proc_path.hpp"

namespace loopprof {

namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

int32_t read_first_pollfd(pid_t pid, uint64_t address) {
  int32_t fd = -1;
  iovec local{&fd, sizeof(fd)};
  iovec remote{reinterpret_cast<void*>(address), sizeof(fd)};
  if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != sizeof(fd)) return -1;
  return fd;
}

uint32_t wait_family_of_syscall(long nr) {
  switch (nr) {
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
#ifdef SYS_epoll_pwait2
    case SYS_epoll_pwait2:
#else
    case 441:
#endif
      return LP_WAIT_EPOLL;
    case SYS_poll:
    case SYS_ppoll:
      return LP_WAIT_POLL;
    case SYS_select:
    case SYS_pselect6:
      return LP_WAIT_SELECT;
  }
  return LP_WAIT_NONE;
}

constexpr unsigned long kPfKthread = 0x00200000;  // PF_KTHREAD in the stat flags

// Field `index` (0 = state) after the command name of /proc/PID/stat.
std::string stat_field(pid_t pid, int index) {
  std::string line = read_first_line("/proc/" + std::to_string(pid) + "/stat");
  size_t close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  for (int i = 0; i <= index && fields >> field; ++i) {
  }
  return field;
}

// A kernel thread has no user space to profile; a zombie (every thread
// exited, not yet reaped by its parent) has nothing left to trace.
Status check_traceable(pid_t pid, const std::string& command) {
  std::string what = "trace PID " + std::to_string(pid) + " (" + command + ")";
  std::string flags = stat_field(pid, 6);
  if (!flags.empty() && (std::strtoul(flags.c_str(), nullptr, 10) & kPfKthread))
    return Error::failed(what, "it is a kernel thread, not a user-space process",
                         "give the PID of the process running the event loop");
  char state = task_state(pid, live_thread(pid));
  if (state == 'Z' || state == 'X')
    return Error::failed(what, "the process has exited (a zombie its parent has not reaped)");
  if (state == 0) return Error::failed(what, "no such process");
  return ok_status();
}

}  // namespace

Result<TargetProcess> TargetProcess::open(pid_t pid) {
  if (pid <= 0) return Error::failed("trace PID " + std::to_string(pid), "not a valid PID");
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    if (errno == ESRCH)
      return Error::failed("trace PID " + std::to_string(pid), "no such process",
                           "check the PID with `ps -p " + std::to_string(pid) + "`");
    return Error::failed("open PID " + std::to_string(pid), std::strerror(errno));
  }
  // A thread ID is not a process: insist on the thread-group leader.
  std::ifstream status_file("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status_file, line);) {
    if (line.rfind("Tgid:", 0) == 0) {
      pid_t tgid = static_cast<pid_t>(std::stol(line.substr(5)));
      if (tgid != pid)
        return Error::failed("trace PID " + std::to_string(pid),
                             "it is a thread of process " + std::to_string(tgid),
                             "use -p " + std::to_string(tgid));
      break;
    }
  }
  std::string command = read_first_line("/proc/" + std::to_string(pid) + "/comm");
  UniqueFd pidfd(fd);
  if (auto usable = check_traceable(pid, command); !usable) return usable.error();
  return TargetProcess(pid, std::move(command), std::move(pidfd));
}

bool TargetProcess::exited() const {
  pollfd p{exit_fd_.get(), POLLIN, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

size_t TargetProcess::thread_count() const {
  size_t count = 0;
  DIR* dir = opendir(("/proc/" + std::to_string(pid_) + "/task").c_str());
  if (!dir) return 0;
  while (dirent* entry = readdir(dir))
    if (entry->d_name[0] != '.') ++count;
  closedir(dir);
  return count;
}

std::unordered_set<pid_t> TargetProcess::thread_ids() const {
  std::unordered_set<pid_t> ids;
  DIR* dir = opendir(("/proc/" + std::to_string(pid_) + "/task").c_str());
  if (!dir) return ids;
  while (dirent* entry = readdir(dir))
    if (entry->d_name[0] != '.') ids.insert(static_cast<pid_t>(std::atoi(entry->d_name)));
  closedir(dir);
  return ids;
}

bool TargetProcess::image_changed() {
  struct stat st {};
  if (stat((proc_dir(pid_) + "/exe").c_str(), &st) != 0) return false;
  std::pair<uint64_t, uint64_t> image{st.st_dev, st.st_ino};
  bool changed = image_.second != 0 && image != image_;
  image_ = image;
  if (changed) command_ = read_first_line("/proc/" + std::to_string(pid_) + "/comm");
  return changed;
}

void TargetProcess::note_exec() {
  image_ = {};
  image_changed();
  command_ = read_first_line("/proc/" + std::to_string(pid_) + "/comm");
  thread_names_.clear();  // comm changes with the program
  program_names_.clear();
}

const std::string& TargetProcess::thread_name(pid_t tid) {
  auto it = thread_names_.find(tid);
  if (it != thread_names_.end() && !it->second.empty()) return it->second;
  if (namer_) {
    constexpr std::chrono::milliseconds kNamerInterval{250};
    auto now = std::chrono::steady_clock::now();
    if (!program_names_.count(tid) && now - named_at_ >= kNamerInterval) {
      program_names_ = namer_();
      named_at_ = now;
    }
    if (auto named = program_names_.find(tid); named != program_names_.end())
      return thread_names_[tid] = named->second;
  }
  std::string name =
      read_first_line("/proc/" + std::to_string(pid_) + "/task/" + std::to_string(tid) + "/comm");
  if (name.empty()) name = "?";
  return thread_names_[tid] = name;
}

bool parse_poll_waiter(const std::string& line, pid_t tid, PollWaiter& out,
                       int32_t (*first_pollfd)(pid_t pid, uint64_t address), pid_t pid) {
  std::istringstream in(line);
  long nr = -1;
  if (!(in >> nr)) return false;
  uint64_t values[8] = {};  // six arguments, then sp and pc
  for (auto& value : values) {
    std::string word;
    if (!(in >> word)) return false;
    value = std::stoull(word, nullptr, 16);
  }
  uint32_t family = wait_family_of_syscall(nr);
  if (family == LP_WAIT_NONE) return false;
  out.tid = tid;
  out.family = family;
  out.user_sp = values[6];
  if (family == LP_WAIT_POLL)
    out.key = values[1] == 0 ? -1 : first_pollfd(pid, values[0]);
  else
    out.key = static_cast<int32_t>(values[0]);
  return true;
}

std::vector<PollWaiter> TargetProcess::poll_waiters() const {
  std::vector<PollWaiter> waiters;
  std::string task_dir = "/proc/" + std::to_string(pid_) + "/task";
  DIR* dir = opendir(task_dir.c_str());
  if (!dir) return waiters;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    pid_t tid = static_cast<pid_t>(std::atoi(entry->d_name));
    PollWaiter waiter;
    std::string line = read_first_line(task_dir + "/" + entry->d_name + "/syscall");
    try {
      // The thread's own TID reads its memory (the main thread may have exited).
      if (parse_poll_waiter(line, tid, waiter, read_first_pollfd, tid)) waiters.push_back(waiter);
    } catch (const std::exception&) {
      // a line we do not understand: that thread is simply not seeded
    }
  }
  closedir(dir);
  return waiters;
}

}  // namespace loopprof
