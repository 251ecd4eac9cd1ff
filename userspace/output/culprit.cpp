#include "output/sink.hpp"

namespace loopprof {

std::string stall_culprit(const Stall& stall) {
  if (stall.stacks.empty()) return {};
  const Frames& frames = stall.stacks.front().frames;  // heaviest first
  for (auto it = frames.rbegin(); it != frames.rend(); ++it)
    if (it->kind == FrameKind::python) return frame_label(*it);
  for (auto it = frames.rbegin(); it != frames.rend(); ++it)
    if (it->kind == FrameKind::native && !it->name.empty()) return frame_label(*it);
  return frame_label(frames.back());
}

}  // namespace loopprof
