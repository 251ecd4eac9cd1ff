#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "output/sink.hpp"

namespace loopprof {

std::string frames_culprit(const Frames& frames) {
  for (auto it = frames.rbegin(); it != frames.rend(); ++it)
    if (it->kind == FrameKind::python) return frame_label(*it);
  for (auto it = frames.rbegin(); it != frames.rend(); ++it)
    if (it->kind == FrameKind::native && !it->name.empty()) return frame_label(*it);
  return frames.empty() ? std::string() : frame_label(frames.back());
}

std::string stall_culprit(const Stall& stall) {
  if (stall.stacks.empty()) return {};
  return frames_culprit(stall.stacks.front().frames);  // heaviest first
}

std::string breakdown_text(const Breakdown& b) {
  std::vector<std::pair<uint64_t, const char*>> parts = {
      {b.on_cpu_ns, "on-cpu"}, {b.runqueue_ns, "runqueue"}, {b.lock_ns, "lock"},
      {b.gil_ns, "GIL"},       {b.sleep_ns, "sleep"},       {b.io_ns, "io"},
      {b.other_ns, "other"}};
  std::stable_sort(parts.begin(), parts.end(),
                   [](const auto& x, const auto& y) { return x.first > y.first; });
  std::string out;
  for (const auto& [ns, name] : parts) {
    if (ns < 1000000 && !out.empty()) break;
    out += fmt::format("{}{} {:.1f} ms", out.empty() ? "" : ", ", name, ns / 1e6);
  }
  return out;
}

std::string waker_text(const Waker& waker) {
  std::string who =
      waker.tid ? fmt::format("thread {} (tid {})", waker.thread, waker.tid) : waker.thread;
  std::string where = frames_culprit(waker.frames);
  return fmt::format("{} {}{}{}", waker.gil ? "GIL held by" : "woken by", who,
                     where.empty() ? "" : " in ", where);
}

}  // namespace loopprof
