// The stack model shared by every collector and output format.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace loopprof {

enum class FrameKind : uint8_t {
  kernel,     // kernel text, from /proc/kallsyms
  native,     // user-space machine code (ELF symbol, perf map, or module+0xOFF)
  python,     // an interpreter frame: function (file.py:LINE)
  truncated,  // a marker: the walk stopped at a depth limit
  unknown,    // an address nothing could name
};

struct Frame {
  FrameKind kind = FrameKind::unknown;
  std::string name;    // symbol or function name ("" when unknown)
  std::string module;  // ELF path or "[kernel]"; python: ""
  std::string file;    // source file (python frames, DWARF line info)
  uint32_t line = 0;   // 0 = unknown
  uint64_t address = 0;
  uint64_t offset = 0;  // offset of address inside module (for module+0xOFF)
  bool inlined = false;
  std::string build_id;  // GNU build ID of module, hex (native frames; "" unknown)

  auto operator<=>(const Frame&) const = default;
  bool operator==(const Frame&) const = default;
};

// Root first, leaf last.
using Frames = std::vector<Frame>;

// One label per frame, as written in folded output and in JSON "frames".
std::string frame_label(const Frame& frame);

}  // namespace loopprof
