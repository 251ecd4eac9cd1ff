// A JIT's symbol file: /tmp/perf-PID.map, lines "START SIZE NAME" in hex,
// appended as code is generated (Node --perf-basic-prof, CPython -X perf).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loopprof {

class PerfMap {
 public:
  // `owner`: the only user besides root whose file is read (the target's).
  // The file is `root`/`beneath` ("/proc/PID/root", "tmp/perf-N.map"); with
  // no root, `beneath` is a path whose last component is guarded.
  explicit PerfMap(std::string beneath, uid_t owner = ::geteuid(), std::string root = {})
      : root_(std::move(root)),
        beneath_(std::move(beneath)),
        path_(root_.empty() ? beneath_ : root_ + "/" + beneath_),
        owner_(owner) {}

  // Reads what was appended since the last call (everything if the file was
  // replaced or truncated). A missing file is an empty map. The file is read
  // only if it is a regular file owned by `owner` or root, reached without
  // following a symlink anywhere below `root` (the target's user controls
  // /tmp/perf-PID.map, and in a container /tmp itself; a link to a root-only
  // file must not be read as root). At most kMaxReadBytes are read per call.
  void update();
  // Parses lines of text into the map (used by update(); public for tests).
  void add_lines(std::string_view text);

  // The entry holding `address`; later entries win over earlier ones that
  // start at the same address (JIT code rewritten in place).
  std::optional<std::string_view> lookup(uint64_t address) const;
  const std::string& path() const { return path_; }
  static constexpr uint64_t kMaxReadBytes = 64ull << 20;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint64_t start;
    uint64_t size;
    std::string name;
  };
  void sort_entries();

  // The file opened read-only, or an invalid descriptor.
  int open_file() const;

  std::string root_;
  std::string beneath_;
  std::string path_;
  std::vector<Entry> entries_;  // sorted by start, unique starts
  std::string partial_line_;    // an unterminated last line, completed later
  uint64_t read_offset_ = 0;
  uint64_t inode_ = 0;
  uid_t owner_;
};

// The user whose perf map of `pid` is trusted: the owner of /proc/PID.
uid_t perf_map_owner(pid_t pid);

// The perf map of `pid`: /proc/PID/root/tmp/perf-NSPID.map, NSPID being the
// PID inside the target's PID namespace (the last NSpid of
// /proc/PID/status), read beneath the target's root as its owner's file.
PerfMap perf_map_of(pid_t pid);

}  // namespace loopprof
