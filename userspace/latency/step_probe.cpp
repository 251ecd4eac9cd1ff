#include "latency/step_probe.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include "target/proc_path.hpp"

namespace loopprof {

std::string python_runtime_binary(pid_t pid) {
  const std::string proc = proc_dir(pid);
  std::ifstream maps(proc + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    size_t base = path.rfind('/');
    if (path.compare(base + 1, 9, "libpython") == 0)
      return proc + "/root" + path;
  }
  char exe[4096];
  std::string link = proc + "/exe";
  ssize_t n = readlink(link.c_str(), exe, sizeof(exe) - 1);
  if (n <= 0) return {};
  return link;
}

}  // namespace loopprof
