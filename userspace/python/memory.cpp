#include "python/memory.hpp"

#include <sys/uio.h>

namespace loopprof::python {

std::optional<std::vector<uint8_t>> MemoryReader::bytes(uint64_t address, size_t size) const {
  std::vector<uint8_t> out(size);
  if (size > 0 && !read(address, out.data(), size)) return std::nullopt;
  return out;
}

bool ProcessMemory::read(uint64_t address, void* out, size_t size) const {
  if (address == 0) return false;
  iovec local{out, size};
  iovec remote{reinterpret_cast<void*>(address), size};
  return process_vm_readv(pid_, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(size);
}

}  // namespace loopprof::python
