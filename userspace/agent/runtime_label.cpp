#include "agent/runtime_label.hpp"

#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <utility>

namespace loopprof::agent {

namespace {

// NODE_MODULE_VERSION (libnode.so.N) -> Node.js major version.
constexpr std::pair<int, int> kNodeAbiMajors[] = {
    {72, 12}, {83, 14}, {93, 16}, {108, 18}, {115, 20}, {120, 21}, {127, 22}, {131, 23}, {137, 24}};

std::string basename_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

std::string native_runtime_label(std::string_view exe_path, std::string_view maps_text) {
  std::string exe = basename_of(exe_path);
  if (exe != "node" && exe != "nodejs") return "native";
  std::smatch m;
  std::string maps(maps_text);
  if (std::regex_search(maps, m, std::regex(R"(libnode\.so\.(\d+))"))) {
    int abi = std::stoi(m[1]);
    for (auto [module_version, major] : kNodeAbiMajors)
      if (module_version == abi) return "node-" + std::to_string(major);
  }
  std::string path(exe_path);  // nvm and official builds: .../node-v20.11.0-linux-x64/bin/node
  if (std::regex_search(path, m, std::regex(R"(node[-/]v?(\d+)\.\d+)")))
    return "node-" + m[1].str();
  return "node";
}

std::string read_native_runtime_label(pid_t pid) {
  std::string base = "/proc/" + std::to_string(pid);
  char exe[4096];
  ssize_t n = readlink((base + "/exe").c_str(), exe, sizeof(exe) - 1);
  std::string exe_path = n > 0 ? std::string(exe, static_cast<size_t>(n)) : "";
  if (basename_of(exe_path).rfind("node", 0) != 0) return "native";
  std::ifstream in(base + "/maps");
  std::stringstream maps;
  maps << in.rdbuf();
  return native_runtime_label(exe_path, maps.str());
}

}  // namespace loopprof::agent
