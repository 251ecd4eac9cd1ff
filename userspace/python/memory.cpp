#include "python/memory.hpp"

#include <sys/uio.h>

#include <cerrno>

#include "target/proc_path.hpp"

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
  if (process_vm_readv(reader_, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(size))
    return true;
  // The main thread exited: its memory is read through a live thread.
  if (errno != ESRCH && errno != EINVAL) return false;
  pid_t live = live_thread(pid_);
  if (live == reader_) return false;
  reader_ = live;
  return process_vm_readv(reader_, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(size);
}

}  // namespace loopprof::python
