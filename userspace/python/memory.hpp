// Reading another process's memory, behind an interface so the Python support
// can be tested against fake memory.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace loopprof::python {

class MemoryReader {
 public:
  virtual ~MemoryReader() = default;
  // Copies `size` bytes at `address`; false if any of them cannot be read.
  virtual bool read(uint64_t address, void* out, size_t size) const = 0;

  template <typename T>
  std::optional<T> value(uint64_t address) const {
    T v{};
    if (!read(address, &v, sizeof(v))) return std::nullopt;
    return v;
  }
  std::optional<std::vector<uint8_t>> bytes(uint64_t address, size_t size) const;
};

// Memory of a live process, through process_vm_readv(2).
class ProcessMemory final : public MemoryReader {
 public:
  explicit ProcessMemory(pid_t pid) : pid_(pid), reader_(pid) {}
  bool read(uint64_t address, void* out, size_t size) const override;

 private:
  pid_t pid_;
  mutable pid_t reader_;  // the thread whose memory view is read (a live one)
};

}  // namespace loopprof::python
