// Which processes the agent watches: --pid (repeatable), --match REGEX (on the
// command line) and --cgroup PATH narrow "every loop on the host". A process
// must pass every selector given.
#pragma once

#include <sys/types.h>

#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace loopprof::agent {

struct ProcessFacts {
  pid_t pid = 0;
  std::string command_line;  // argv joined by spaces
  std::string cgroup_text;   // /proc/PID/cgroup
};

class ProcessSelector {
 public:
  static Result<ProcessSelector> make(const std::vector<pid_t>& pids, const std::string& match,
                                      const std::string& cgroup);
  bool matches(const ProcessFacts& facts) const;
  // Only the --pid list can be watched: no discovery needed.
  bool pids_only() const { return !pids_.empty(); }
  const std::set<pid_t>& pids() const { return pids_; }
  std::string describe() const;

 private:
  std::set<pid_t> pids_;
  std::optional<std::regex> match_;
  std::string match_text_;
  std::string cgroup_;  // normalized: "/system.slice/x.service"
};

// "/sys/fs/cgroup/system.slice/x.service" or "system.slice/x.service" ->
// "/system.slice/x.service" (also strips the v1 "unified"/"systemd" mounts).
std::string normalize_cgroup_path(std::string_view path);
// Is `path` (a cgroup's path) `prefix` or below it?
bool cgroup_under(std::string_view path, std::string_view prefix);
ProcessFacts read_process_facts(pid_t pid);

}  // namespace loopprof::agent
