#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "output/sink.hpp"

namespace loopprof {

namespace {

// Python frames carry the dotted module of library code (standard library,
// site-/dist-packages, frozen) in `module`, "" for the application's own.
bool is_app_frame(const Frame& frame) {
  return frame.kind == FrameKind::python && frame.module.empty();
}

// A culprit in two parts: what names it ("main (app.py:5) -> subprocess.run")
// and the deepest frame under that (" -> _PollLikeSelector.select"), so the
// stacks of one stall that differ only in that deepest frame add up.
struct CulpritParts {
  std::string head;
  std::string tail;
};

// The deepest application frame, the library call it made, and the deepest
// Python frame under it.
std::optional<CulpritParts> python_culprit(const Frames& frames) {
  size_t leaf = frames.size(), app = frames.size();
  for (size_t i = frames.size(); i-- > 0;) {
    if (frames[i].kind != FrameKind::python) continue;
    if (leaf == frames.size()) leaf = i;
    if (is_app_frame(frames[i])) {
      app = i;
      break;
    }
  }
  if (leaf == frames.size()) return std::nullopt;
  if (app == frames.size() || app == leaf) return CulpritParts{frame_label(frames[leaf]), ""};
  size_t call = app + 1;
  while (frames[call].kind != FrameKind::python) ++call;  // stops at leaf at the latest
  CulpritParts out{
      fmt::format("{} -> {}.{}", frame_label(frames[app]), frames[call].module, frames[call].name),
      ""};
  if (call != leaf) out.tail = " -> " + frames[leaf].name;
  return out;
}

CulpritParts culprit_parts(const Frames& frames) {
  if (auto python = python_culprit(frames)) return *python;
  for (auto it = frames.rbegin(); it != frames.rend(); ++it)
    if (it->kind == FrameKind::native && !it->name.empty()) return {frame_label(*it), ""};
  return {frames.empty() ? std::string() : frame_label(frames.back()), ""};
}

bool is_marker_only(const Frames& frames) {
  return std::all_of(frames.begin(), frames.end(),
                     [](const Frame& f) { return f.kind == FrameKind::truncated; });
}

}  // namespace

std::string frames_culprit(const Frames& frames) {
  CulpritParts parts = culprit_parts(frames);
  return parts.head + parts.tail;
}

std::string stall_culprit(const Stall& stall) {
  if (stall.stacks.empty()) return {};
  // The stacks that name the same culprit add up (CPU samples of a hot loop
  // land on many lines); time no stack covers ("[off-cpu, no stack]") names
  // nothing and counts only when no stack names anything. Within the winner,
  // the deepest frame is the heaviest stack's.
  struct Weight {
    uint64_t total = 0;
    uint64_t heaviest = 0;
    std::string tail;
  };
  std::map<std::string, Weight> by_head;
  for (const WeightedStack& stack : stall.stacks) {
    if (is_marker_only(stack.frames)) continue;
    CulpritParts parts = culprit_parts(stack.frames);
    Weight& w = by_head[parts.head];
    w.total += stack.weight_us;
    if (stack.weight_us > w.heaviest || w.total == stack.weight_us) {
      w.heaviest = stack.weight_us;
      w.tail = parts.tail;
    }
  }
  if (by_head.empty()) return frames_culprit(stall.stacks.front().frames);  // heaviest first
  auto best = std::max_element(by_head.begin(), by_head.end(), [](const auto& a, const auto& b) {
    return a.second.total < b.second.total;
  });
  return best->first + best->second.tail;
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

namespace {

bool is_wake_primitive(const Frame& frame) {
  if (frame.kind == FrameKind::kernel) return true;
  for (const char* prefix : {"pthread_", "__pthread_", "sem_post", "futex_", "__lll_", "__GI___lll",
                             "syscall", "__GI___pthread"})
    if (frame.name.rfind(prefix, 0) == 0) return true;
  return false;
}

// Where a waker was: its deepest Python frame, else the native caller of the
// unlock/signal/post primitive that woke the loop (drop_gil, not futex_wake).
std::string waker_culprit(const Frames& frames) {
  for (auto it = frames.rbegin(); it != frames.rend(); ++it)
    if (it->kind == FrameKind::python) return frame_label(*it);
  for (size_t i = 1; i < frames.size(); ++i)
    if (frames[i].kind == FrameKind::native && is_wake_primitive(frames[i]) &&
        !is_wake_primitive(frames[i - 1]) && !frames[i - 1].name.empty())
      return frame_label(frames[i - 1]);
  return frames_culprit(frames);
}

}  // namespace

std::string waker_text(const Waker& waker) {
  std::string who =
      waker.tid ? fmt::format("thread {} (tid {})", waker.thread, waker.tid) : waker.thread;
  std::string where = waker_culprit(waker.frames);
  return fmt::format("{} {}{}{}", waker.gil ? "GIL held by" : "woken by", who,
                     where.empty() ? "" : " in ", where);
}

}  // namespace loopprof
