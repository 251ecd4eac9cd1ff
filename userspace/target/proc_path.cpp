#include "target/proc_path.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace loopprof {

namespace {

bool dead(char state) {
  return state == 0 || state == 'Z' || state == 'X' || state == 'x';
}

}  // namespace

char task_state(pid_t pid, pid_t tid) {
  std::string path = fmt::format("/proc/{}/task/{}/stat", pid, tid);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buffer[512];
  ssize_t n = ::read(fd, buffer, sizeof(buffer));
  ::close(fd);
  if (n <= 0) return 0;
  // "pid (comm) S ...": comm may hold spaces and parentheses; the last ')' ends it.
  std::string_view text(buffer, static_cast<size_t>(n));
  size_t close = text.rfind(')');
  if (close == std::string_view::npos || close + 2 >= text.size()) return 0;
  return text[close + 2];
}

pid_t live_thread(pid_t pid) {
  if (!dead(task_state(pid, pid))) return pid;
  DIR* dir = ::opendir(fmt::format("/proc/{}/task", pid).c_str());
  if (!dir) return pid;
  pid_t found = pid;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    pid_t tid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (tid > 0 && !dead(task_state(pid, tid))) {
      found = tid;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

std::string proc_dir(pid_t pid) {
  pid_t tid = live_thread(pid);
  return tid == pid ? fmt::format("/proc/{}", pid) : fmt::format("/proc/{}/task/{}", pid, tid);
}

}  // namespace loopprof
