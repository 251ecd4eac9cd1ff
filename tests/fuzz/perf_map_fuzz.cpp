// perf maps (/tmp/perf-PID.map) are written by the target's user.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "symbols/perf_map.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  loopprof::PerfMap map("unused");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t half = size / 2;
  map.add_lines(text.substr(0, half));
  map.add_lines(text.substr(half));  // a second batch merges with the first
  for (uint64_t address : {0ull, 0x1000ull, 0x7fffffffffffull, ~0ull}) (void)map.lookup(address);
  return 0;
}
