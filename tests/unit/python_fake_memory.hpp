// A MemoryReader over a few byte blocks, for the Python support's unit tests.
#pragma once

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "python/memory.hpp"

namespace loopprof::python::testing {

class FakeMemory final : public MemoryReader {
 public:
  bool read(uint64_t address, void* out, size_t size) const override {
    auto it = blocks_.upper_bound(address);
    if (it == blocks_.begin()) return false;
    --it;
    const uint64_t offset = address - it->first;
    if (offset + size > it->second.size()) return false;
    std::memcpy(out, it->second.data() + offset, size);
    return true;
  }
  // A zeroed block of `size` bytes at `address`.
  void map(uint64_t address, size_t size) { blocks_[address].assign(size, 0); }
  template <typename T>
  void put(uint64_t address, T value) {
    write(address, &value, sizeof(value));
  }
  void write(uint64_t address, const void* data, size_t size) {
    auto it = blocks_.upper_bound(address);
    --it;
    std::memcpy(it->second.data() + (address - it->first), data, size);
  }
  void unmap(uint64_t address) { blocks_.erase(address); }

 private:
  std::map<uint64_t, std::vector<uint8_t>> blocks_;
};

}  // namespace loopprof::python::testing
