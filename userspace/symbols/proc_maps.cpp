#include "symbols/proc_maps.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include "target/proc_path.hpp"

namespace loopprof {

namespace {

constexpr std::string_view kDeletedSuffix = " (deleted)";

bool parse_line(const std::string& line, Mapping& m) {
  // "start-end perms offset major:minor inode    path"
  char perms[5] = {};
  int path_pos = -1;
  unsigned long long start = 0, end = 0, offset = 0, inode = 0;
  unsigned major = 0, minor = 0;
  if (std::sscanf(line.c_str(), "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, perms, &offset,
                  &major, &minor, &inode, &path_pos) < 7)
    return false;
  m.start = start;
  m.end = end;
  m.file_offset = offset;
  m.dev_major = major;
  m.dev_minor = minor;
  m.inode = inode;
  m.executable = perms[2] == 'x';
  m.path = path_pos > 0 && static_cast<size_t>(path_pos) <= line.size() ? line.substr(path_pos)
                                                                        : std::string();
  if (m.path.ends_with(kDeletedSuffix)) {
    m.deleted = true;
    m.path.resize(m.path.size() - kDeletedSuffix.size());
  }
  return true;
}

}  // namespace

Mappings parse_proc_maps(std::istream& in) {
  Mappings mappings;
  std::string line;
  while (std::getline(in, line)) {
    Mapping m;
    if (parse_line(line, m)) mappings.push_back(std::move(m));
  }
  std::sort(mappings.begin(), mappings.end(),
            [](const Mapping& a, const Mapping& b) { return a.start < b.start; });
  return mappings;
}

Result<Mappings> read_proc_maps(pid_t pid) {
  const std::string path = proc_dir(pid) + "/maps";
  std::ifstream in(path);
  if (!in) return Error::failed("read " + path, std::strerror(errno));
  return parse_proc_maps(in);
}

const Mapping* find_mapping(const Mappings& mappings, uint64_t address) {
  auto it = std::upper_bound(mappings.begin(), mappings.end(), address,
                             [](uint64_t a, const Mapping& m) { return a < m.start; });
  if (it == mappings.begin()) return nullptr;
  --it;
  return it->contains(address) ? &*it : nullptr;
}

}  // namespace loopprof
