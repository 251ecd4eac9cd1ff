// speedscope's file format (https://www.speedscope.app/file-format-schema.json):
// per loop thread an evented profile on the run's time axis (each stall opens
// a "stall" frame holding its stacks, one after the other, for their share of
// its time), and one sampled profile of all stall time.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "output/format_writers.hpp"

namespace loopprof {

namespace {

class FrameTable {
 public:
  size_t index(const Frame& frame) {
    std::string key =
        frame_label(frame) + '\x1f' + frame.file + '\x1f' + std::to_string(frame.line);
    auto [it, inserted] = ids_.try_emplace(key, frames_.size());
    if (inserted) {
      nlohmann::json f = {{"name", frame.kind == FrameKind::python && !frame.name.empty()
                                       ? frame.name
                                       : frame_label(frame)}};
      if (!frame.file.empty())
        f["file"] = frame.file;
      else if (!frame.module.empty())
        f["file"] = frame.module;
      if (frame.line > 0) f["line"] = frame.line;
      frames_.push_back(std::move(f));
    }
    return it->second;
  }
  size_t named(const std::string& name) {
    auto [it, inserted] = ids_.try_emplace("\x1e" + name, frames_.size());
    if (inserted) frames_.push_back({{"name", name}});
    return it->second;
  }
  nlohmann::json take() { return std::move(frames_); }

 private:
  std::map<std::string, size_t> ids_;
  nlohmann::json frames_ = nlohmann::json::array();
};

void open_close(nlohmann::json& events, const char* type, size_t frame, uint64_t at) {
  events.push_back({{"type", type}, {"frame", frame}, {"at", at}});
}

}  // namespace

std::string encode_speedscope(std::span<const Stall> stalls, const Summary& summary) {
  FrameTable frames;
  nlohmann::json profiles = nlohmann::json::array();

  // Evented: one profile per loop thread.
  std::map<pid_t, std::vector<const Stall*>> by_thread;
  uint64_t first = UINT64_MAX, last = 0;
  for (const Stall& stall : stalls) {
    by_thread[stall.tid].push_back(&stall);
    first = std::min(first, stall.start_ns);
    last = std::max(last, stall.start_ns + stall.duration_ns);
  }
  if (stalls.empty()) first = last = 0;
  for (auto& [tid, list] : by_thread) {
    std::stable_sort(list.begin(), list.end(),
                     [](const Stall* a, const Stall* b) { return a->start_ns < b->start_ns; });
    nlohmann::json events = nlohmann::json::array();
    uint64_t clock = 0;  // events never go back in time
    for (const Stall* stall : list) {
      uint64_t start = std::max(stall->start_ns - first, clock);
      uint64_t end = std::max(stall->start_ns - first + stall->duration_ns, start);
      std::string culprit = stall_culprit(*stall);
      size_t root = frames.named(fmt::format("stall ({}){}", main_cause(stall->breakdown),
                                             culprit.empty() ? "" : " in " + culprit));
      open_close(events, "O", root, start);
      uint64_t at = start;
      for (const WeightedStack& stack : stall->stacks) {
        uint64_t until = std::min(end, at + stack.weight_us * 1000);
        if (until <= at || stack.frames.empty()) continue;
        std::vector<size_t> ids;
        for (const Frame& frame : stack.frames) ids.push_back(frames.index(frame));
        for (size_t id : ids) open_close(events, "O", id, at);
        for (auto id = ids.rbegin(); id != ids.rend(); ++id) open_close(events, "C", *id, until);
        at = until;
      }
      open_close(events, "C", root, end);
      clock = end;
    }
    profiles.push_back(
        {{"type", "evented"},
         {"name", fmt::format("{} (tid {}): stalls in time", list.front()->thread, tid)},
         {"unit", "nanoseconds"},
         {"startValue", 0},
         {"endValue", std::max(last - first, clock)},
         {"events", std::move(events)}});
  }

  // Sampled: every stack, weighted by its stall time, aggregated.
  std::map<std::vector<size_t>, uint64_t> weights;
  std::vector<std::vector<size_t>> order;
  uint64_t total = 0;
  for (const Stall& stall : stalls)
    for (const WeightedStack& stack : stall.stacks) {
      if (stack.frames.empty() || stack.weight_us == 0) continue;
      std::vector<size_t> ids;
      for (const Frame& frame : stack.frames) ids.push_back(frames.index(frame));
      auto [it, inserted] = weights.try_emplace(ids, 0);
      if (inserted) order.push_back(ids);
      it->second += stack.weight_us * 1000;
      total += stack.weight_us * 1000;
    }
  nlohmann::json samples = nlohmann::json::array(), sample_weights = nlohmann::json::array();
  for (const auto& ids : order) {
    samples.push_back(ids);
    sample_weights.push_back(weights[ids]);
  }
  profiles.push_back({{"type", "sampled"},
                      {"name", "stall time, all loop threads"},
                      {"unit", "nanoseconds"},
                      {"startValue", 0},
                      {"endValue", total},
                      {"samples", std::move(samples)},
                      {"weights", std::move(sample_weights)}});

  nlohmann::json file = {
      {"$schema", "https://www.speedscope.app/file-format-schema.json"},
      {"shared", {{"frames", frames.take()}}},
      {"profiles", std::move(profiles)},
      {"name", fmt::format("loopprof: PID {} ({})", summary.pid, summary.command)},
      {"activeProfileIndex", 0},
      {"exporter", "loopprof"}};
  return file.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace loopprof
