// The labels a watched process carries in every metric and log line, computed
// once when it is first seen: pid, comm, service (systemd unit, container id,
// or the main script/binary name) and runtime (cpython-3.11, node-20, native).
// Never the full command line: argv can hold secrets.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace loopprof::agent {

struct ProcessLabels {
  pid_t pid = 0;
  std::string comm;
  std::string service;
  std::string runtime;
};

// The service named by a /proc/PID/cgroup text: the innermost systemd unit
// (".service", ".scope" ...) outside user sessions' scopes, or a container id
// (12 hex digits of a docker/containerd/cri-o/libpod id); empty when none.
std::string service_from_cgroup(std::string_view cgroup_text);
// The program a command line runs: the first argument after an interpreter
// that names a script (`python3 -m mod`: "mod"), else argv[0]; basenames.
std::string service_from_argv(const std::vector<std::string>& argv);
// The cgroup v2 path of a /proc/PID/cgroup text ("0::/system.slice/x.service").
std::string cgroup_v2_path(std::string_view cgroup_text);

// Reads /proc/PID/{comm,cgroup,cmdline}. `runtime` is left to the caller.
ProcessLabels read_process_labels(pid_t pid);
// argv of a process (NUL-separated /proc/PID/cmdline), empty if gone.
std::vector<std::string> read_argv(pid_t pid);
// /proc/PID/stat's start time (clock ticks since boot): with the PID, names
// one process, so a reused PID is told apart. 0 when gone.
uint64_t process_start_time(pid_t pid);

}  // namespace loopprof::agent
