// A JIT's symbol file: /tmp/perf-PID.map, lines "START SIZE NAME" in hex,
// appended as code is generated (Node --perf-basic-prof, CPython -X perf).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loopprof {

class PerfMap {
 public:
  explicit PerfMap(std::string path) : path_(std::move(path)) {}

  // Reads what was appended since the last call (everything if the file was
  // replaced or truncated). A missing file is an empty map.
  void update();
  // Parses lines of text into the map (used by update(); public for tests).
  void add_lines(std::string_view text);

  // The entry holding `address`; later entries win over earlier ones that
  // start at the same address (JIT code rewritten in place).
  std::optional<std::string_view> lookup(uint64_t address) const;
  const std::string& path() const { return path_; }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint64_t start;
    uint64_t size;
    std::string name;
  };
  void sort_entries();

  std::string path_;
  std::vector<Entry> entries_;  // sorted by start, unique starts
  std::string partial_line_;    // an unterminated last line, completed later
  uint64_t read_offset_ = 0;
  uint64_t inode_ = 0;
};

// /proc/PID/root/tmp/perf-NSPID.map, NSPID being the PID inside the target's
// PID namespace (the last NSpid of /proc/PID/status).
std::string perf_map_path(pid_t pid);

}  // namespace loopprof
