#include "symbols/mapped_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>
#include "target/proc_path.hpp"

namespace loopprof {

namespace {

bool same_file(int fd, const Mapping& mapping) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  return st.st_ino == mapping.inode && major(st.st_dev) == mapping.dev_major &&
         minor(st.st_dev) == mapping.dev_minor;
}

Result<std::vector<char>> read_memory(pid_t pid, uint64_t start, uint64_t size) {
  const std::string path = proc_dir(pid) + "/mem";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::failed("open " + path, std::strerror(errno));
  std::vector<char> bytes(size);
  ssize_t n = ::pread(fd.get(), bytes.data(), size, static_cast<off_t>(start));
  if (n < 0) return Error::failed("read " + path, std::strerror(errno));
  if (static_cast<uint64_t>(n) != size) return Error::failed("read " + path, "short read");
  return bytes;
}

Result<std::vector<char>> own_vdso(uint64_t size) {
  auto mine = read_proc_maps(::getpid());
  if (!mine) return mine.error();
  for (const Mapping& m : mine.value()) {
    if (!m.vdso()) continue;
    if (m.end - m.start != size) break;
    const char* begin = reinterpret_cast<const char*>(m.start);
    return std::vector<char>(begin, begin + size);
  }
  return Error::failed("find a local vdso image", "none of the same size");
}

}  // namespace

Result<UniqueFd> open_mapped_file(pid_t pid, const Mapping& mapping) {
  std::string reason = "deleted";
  if (!mapping.deleted) {
    const std::string path = proc_dir(pid) + "/root" + mapping.path;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.valid() && same_file(fd.get(), mapping)) return fd;
    reason = fd.valid() ? "replaced since it was mapped" : std::strerror(errno);
  }
  const std::string map_file =
      fmt::format("{}/map_files/{:x}-{:x}", proc_dir(pid), mapping.start, mapping.end);
  UniqueFd fd(::open(map_file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.valid()) return fd;
  return Error::failed("open " + mapping.path,
                       reason + ", and " + map_file + ": " + std::strerror(errno),
                       "run as root to read deleted or replaced binaries");
}

Result<UniqueFd> open_vdso_image(pid_t pid, const Mapping& mapping) {
  const uint64_t size = mapping.end - mapping.start;
  auto bytes = read_memory(pid, mapping.start, size);
  if (!bytes) {
    auto local = own_vdso(size);
    if (!local) return bytes.error();
    bytes = std::move(local);
  }
  UniqueFd fd(::memfd_create("loopprof-vdso", MFD_CLOEXEC));
  if (!fd.valid()) return Error::failed("create a vdso image file", std::strerror(errno));
  const char* data = bytes.value().data();
  size_t left = bytes.value().size();
  while (left > 0) {
    ssize_t n = ::write(fd.get(), data, left);
    if (n <= 0) return Error::failed("write the vdso image", std::strerror(errno));
    data += n;
    left -= static_cast<size_t>(n);
  }
  return fd;
}

}  // namespace loopprof
