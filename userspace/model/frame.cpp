#include "model/frame.hpp"

#include <fmt/format.h>

#include <filesystem>

namespace loopprof {

namespace {
std::string module_basename(const std::string& module) {
  return std::filesystem::path(module).filename().string();
}
}  // namespace

std::string frame_label(const Frame& frame) {
  switch (frame.kind) {
    case FrameKind::kernel:
      return (frame.name.empty() ? fmt::format("0x{:x}", frame.address) : frame.name) + "_[k]";
    case FrameKind::python:
      if (frame.line == 0) return fmt::format("{} ({})", frame.name, frame.file);
      return fmt::format("{} ({}:{})", frame.name, frame.file, frame.line);
    case FrameKind::native:
      if (!frame.name.empty()) return frame.inlined ? frame.name + "_[i]" : frame.name;
      [[fallthrough]];
    case FrameKind::unknown:
      if (!frame.module.empty())
        return fmt::format("{}+0x{:x}", module_basename(frame.module), frame.offset);
      return fmt::format("0x{:x}", frame.address);
    case FrameKind::truncated:
      return frame.name.empty() ? std::string("[truncated]") : frame.name;
  }
  return "[?]";
}

}  // namespace loopprof
