#include "symbols/module_cache.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace loopprof {

Result<std::shared_ptr<ElfModule>> ModuleCache::get(UniqueFd fd, const std::string& path,
                                                    const std::vector<std::string>& debug_dirs) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::failed("stat " + path, std::strerror(errno));
  Identity identity{st.st_dev, st.st_ino,
                    static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                    static_cast<int64_t>(st.st_size)};
  if (auto it = by_identity_.find(identity); it != by_identity_.end()) {
    if (it->second.module) return it->second.module;
    return it->second.error;
  }

  auto opened = ElfModule::open(std::move(fd), path, debug_dirs);
  if (!opened) {
    by_identity_.emplace(identity, Entry{nullptr, opened.error()});
    return opened.error();
  }
  std::shared_ptr<ElfModule> module = std::move(opened.value());
  if (!module->build_id().empty()) {
    // Another copy of the same binary (a container's, a memfd of the vdso):
    // keep the one already parsed and warmed up.
    auto [it, inserted] = by_build_id_.emplace(module->build_id(), module);
    if (!inserted) module = it->second;
  }
  by_identity_.emplace(identity, Entry{module, Error{}});
  return module;
}

}  // namespace loopprof
