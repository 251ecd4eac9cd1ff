#include "agent/process_labels.hpp"

#include <fstream>
#include <sstream>

namespace loopprof::agent {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string basename_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

bool is_hex(std::string_view text) {
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return !text.empty();
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// "docker-<64 hex>.scope", "cri-containerd-<id>.scope", "libpod-<id>", "<64 hex>".
std::string container_id(std::string_view component) {
  std::string_view name = component;
  if (ends_with(name, ".scope")) name.remove_suffix(6);
  size_t dash = name.rfind('-');
  std::string_view id = dash == std::string_view::npos ? name : name.substr(dash + 1);
  if (id.size() == 64 && is_hex(id)) return std::string(id.substr(0, 12));
  return "";
}

bool is_interpreter(std::string_view program) {
  for (std::string_view name : {"python", "node", "nodejs", "ruby", "perl", "bash", "sh"})
    if (program.substr(0, name.size()) == name) return true;
  return false;
}

}  // namespace

std::string cgroup_v2_path(std::string_view cgroup_text) {
  std::istringstream lines{std::string(cgroup_text)};
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  return "";
}

std::string service_from_cgroup(std::string_view cgroup_text) {
  std::string path = cgroup_v2_path(cgroup_text);
  if (path.empty()) {  // cgroup v1: the name=systemd hierarchy
    std::istringstream lines{std::string(cgroup_text)};
    for (std::string line; std::getline(lines, line);)
      if (size_t at = line.find(":name=systemd:"); at != std::string::npos)
        path = line.substr(at + 14);
  }
  std::vector<std::string_view> parts;
  std::string_view rest = path;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  for (auto it = parts.rbegin(); it != parts.rend(); ++it)
    if (std::string id = container_id(*it); !id.empty()) return id;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    std::string_view part = *it;
    if (ends_with(part, ".service")) return std::string(part);
  }
  return "";
}

std::string service_from_argv(const std::vector<std::string>& argv) {
  if (argv.empty()) return "";
  std::string program = basename_of(argv[0]);
  if (!is_interpreter(program)) return program;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "-m" && i + 1 < argv.size()) return argv[i + 1];
    if (arg == "-c" || arg == "-e") return program;  // inline code: no script name
    if (arg.empty() || arg[0] == '-') continue;
    return basename_of(arg);
  }
  return program;
}

std::vector<std::string> read_argv(pid_t pid) {
  std::string text = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> argv;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\0', start);
    if (end == std::string::npos) end = text.size();
    argv.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return argv;
}

uint64_t process_start_time(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');  // comm may hold spaces and parentheses
  if (paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  // Field 3 (state) is the first after ')'; starttime is field 22.
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22) return std::stoull(field);
  return 0;
}

ProcessLabels read_process_labels(pid_t pid) {
  ProcessLabels labels;
  labels.pid = pid;
  std::string base = "/proc/" + std::to_string(pid);
  labels.comm = read_file(base + "/comm");
  while (!labels.comm.empty() && labels.comm.back() == '\n') labels.comm.pop_back();
  labels.service = service_from_cgroup(read_file(base + "/cgroup"));
  if (labels.service.empty()) labels.service = service_from_argv(read_argv(pid));
  if (labels.service.empty()) labels.service = labels.comm;
  return labels;
}

}  // namespace loopprof::agent
