#include "agent/selector.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <sstream>

#include "agent/process_labels.hpp"

namespace loopprof::agent {

std::string normalize_cgroup_path(std::string_view path) {
  for (std::string_view mount :
       {"/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup"})
    if (path.substr(0, mount.size()) == mount) {
      path.remove_prefix(mount.size());
      break;
    }
  std::string out(path);
  if (out.empty() || out[0] != '/') out.insert(out.begin(), '/');
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

bool cgroup_under(std::string_view path, std::string_view prefix) {
  if (prefix == "/") return true;
  if (path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

Result<ProcessSelector> ProcessSelector::make(const std::vector<pid_t>& pids,
                                              const std::string& match, const std::string& cgroup) {
  ProcessSelector selector;
  selector.pids_.insert(pids.begin(), pids.end());
  if (!match.empty()) {
    try {
      selector.match_.emplace(match, std::regex::extended | std::regex::nosubs);
    } catch (const std::regex_error& e) {
      return Error::failed("parse --match '" + match + "'", e.what(),
                           "a POSIX extended regular expression, e.g. 'python|node'");
    }
    selector.match_text_ = match;
  }
  if (!cgroup.empty()) selector.cgroup_ = normalize_cgroup_path(cgroup);
  return selector;
}

bool ProcessSelector::matches(const ProcessFacts& facts) const {
  if (!pids_.empty() && !pids_.count(facts.pid)) return false;
  if (match_ && !std::regex_search(facts.command_line, *match_)) return false;
  if (!cgroup_.empty()) {
    bool under = false;
    std::istringstream lines(facts.cgroup_text);
    for (std::string line; std::getline(lines, line) && !under;) {
      size_t colon = line.find(':', line.find(':') + 1);  // "ID:CONTROLLERS:PATH"
      if (colon != std::string::npos) under = cgroup_under(line.substr(colon + 1), cgroup_);
    }
    if (!under) return false;
  }
  return true;
}

std::string ProcessSelector::describe() const {
  std::vector<std::string> parts;
  if (!pids_.empty()) parts.push_back(fmt::format("PIDs {}", fmt::join(pids_, ", ")));
  if (match_) parts.push_back(fmt::format("command lines matching '{}'", match_text_));
  if (!cgroup_.empty()) parts.push_back(fmt::format("cgroup {}", cgroup_));
  if (parts.empty()) return "every event loop on the host";
  return fmt::format("event loops among {}", fmt::join(parts, " and "));
}

ProcessFacts read_process_facts(pid_t pid) {
  ProcessFacts facts;
  facts.pid = pid;
  std::vector<std::string> argv = read_argv(pid);
  for (size_t i = 0; i < argv.size(); ++i) facts.command_line += (i ? " " : "") + argv[i];
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::stringstream text;
  text << in.rdbuf();
  facts.cgroup_text = text.str();
  return facts;
}

}  // namespace loopprof::agent
