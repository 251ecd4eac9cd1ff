// Code objects (names, file names, line tables) read from target memory: the
// input is the target's memory at kBase, for each supported CPython layout.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "python/code_objects.hpp"
#include "python/layout.hpp"

namespace {

constexpr uint64_t kBase = 0x10000;

class InputMemory final : public loopprof::python::MemoryReader {
 public:
  InputMemory(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool read(uint64_t address, void* out, size_t size) const override {
    if (address < kBase || address - kBase > size_ || size > size_ - (address - kBase))
      return false;
    std::memcpy(out, data_ + (address - kBase), size);
    return true;
  }

 private:
  const uint8_t* data_;
  size_t size_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  using namespace loopprof::python;
  auto layout = layout_for_version(PyVersion{3, 8 + data[0] % 5, 0});
  if (!layout) return 0;
  InputMemory memory(data + 1, size - 1);
  CodeObjects codes(memory, layout.value(), 0);
  for (uint64_t offset : {uint64_t{0}, uint64_t{8}, uint64_t{64}}) {
    const CodeInfo* info = codes.get(kBase + offset);
    if (!info) continue;
    for (uint64_t instr : {uint64_t{0}, uint64_t{2}, uint64_t{100}, kBase + 200, ~uint64_t{0}})
      (void)codes.line_of(*info, kBase + offset, instr);
  }
  // 3.13+: the layout itself comes from the target's _Py_DebugOffsets.
  (void)parse_debug_offsets(std::span<const uint8_t>(data, size));
  return 0;
}
