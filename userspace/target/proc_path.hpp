// /proc paths of a target process that keep working after its main thread
// has exited (pthread_exit in main): the leader is then a zombie whose
// /proc/PID/{maps,mem,root,exe,map_files} are empty or unreadable, while
// /proc/PID/task/TID/ of any live thread shows the process's memory and root.
#pragma once

#include <sys/types.h>

#include <string>

namespace loopprof {

// One-letter scheduler state of a task ('R', 'S', 'Z', ...), from
// /proc/PID/task/TID/stat; 0 when it cannot be read.
char task_state(pid_t pid, pid_t tid);

// `pid` while its main thread lives, else a live thread of it (or `pid`
// when none is left).
pid_t live_thread(pid_t pid);

// "/proc/PID", or "/proc/PID/task/TID" of a live thread once the main
// thread has exited.
std::string proc_dir(pid_t pid);

}  // namespace loopprof
