// Parsed ELF files, keyed by file identity (device, inode, mtime, size) and by
// build ID, so each binary is parsed once however many processes map it and
// however often their maps are re-read.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "core/unique_fd.hpp"
#include "symbols/elf_module.hpp"

namespace loopprof {

class ModuleCache {
 public:
  // The module for the file open on `fd` (consumed). Failures are cached too,
  // so a file that is not ELF is opened once.
  Result<std::shared_ptr<ElfModule>> get(UniqueFd fd, const std::string& path,
                                         const std::vector<std::string>& debug_dirs);
  size_t size() const { return by_identity_.size(); }

 private:
  // st_dev, st_ino, mtime (ns), st_size
  using Identity = std::tuple<dev_t, ino_t, int64_t, int64_t>;
  struct Entry {
    std::shared_ptr<ElfModule> module;  // null when opening failed
    Error error;
  };
  std::map<Identity, Entry> by_identity_;
  std::unordered_map<std::string, std::shared_ptr<ElfModule>> by_build_id_;
};

}  // namespace loopprof
