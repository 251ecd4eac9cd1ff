// One process's memory map, as listed by /proc/PID/maps.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace loopprof {

struct Mapping {
  uint64_t start = 0;
  uint64_t end = 0;  // exclusive
  uint64_t file_offset = 0;
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  uint64_t inode = 0;
  bool executable = false;
  bool deleted = false;  // the path carried " (deleted)" (stripped from `path`)
  std::string path;      // "/usr/lib/libc.so.6", "[vdso]", "[heap]", "" (anonymous)

  bool contains(uint64_t address) const { return address >= start && address < end; }
  // A regular file (or memfd) that may hold an ELF image.
  bool file_backed() const { return !path.empty() && path[0] == '/' && inode != 0; }
  bool vdso() const { return path == "[vdso]"; }
  uint64_t file_offset_of(uint64_t address) const { return address - start + file_offset; }
};

// Sorted by start, non-overlapping (as the kernel lists them).
using Mappings = std::vector<Mapping>;

Mappings parse_proc_maps(std::istream& in);
Result<Mappings> read_proc_maps(pid_t pid);

// The mapping holding `address`, or nullptr.
const Mapping* find_mapping(const Mappings& mappings, uint64_t address);

}  // namespace loopprof
