#include "unwind/vdso_image.hpp"

#include <fmt/format.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "symbols/proc_maps.hpp"

namespace loopprof {

Result<VdsoImage> VdsoImage::create() {
  const uint64_t base = getauxval(AT_SYSINFO_EHDR);
  if (base == 0) return Error::failed("find the vDSO", "AT_SYSINFO_EHDR is not set");
  auto maps = read_proc_maps(getpid());
  if (!maps) return maps.error();
  const Mapping* vdso = find_mapping(maps.value(), base);
  if (!vdso || !vdso->vdso())
    return Error::failed("find the vDSO", "no [vdso] mapping at its base");

  UniqueFd fd(memfd_create("loopprof-vdso", MFD_CLOEXEC));
  if (!fd.valid()) return Error::failed("create the vDSO image", std::strerror(errno));
  const auto* bytes = reinterpret_cast<const char*>(vdso->start);
  size_t left = vdso->end - vdso->start;
  while (left > 0) {
    const ssize_t n = write(fd.get(), bytes, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::failed("write the vDSO image", std::strerror(errno));
    bytes += n;
    left -= static_cast<size_t>(n);
  }
  std::string path = fmt::format("/proc/self/fd/{}", fd.get());
  return VdsoImage(std::move(fd), std::move(path));
}

}  // namespace loopprof
