// /proc/PID/maps: paths in it are chosen by the target (file names, memfd names).
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "symbols/proc_maps.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  loopprof::Mappings maps = loopprof::parse_proc_maps(in);
  for (const auto& m : maps) {
    (void)loopprof::find_mapping(maps, m.start);
    (void)loopprof::find_mapping(maps, m.end);
    (void)m.file_backed();
    (void)m.file_offset_of(m.start);
  }
  return 0;
}
