// The self-contained HTML report: the page template (output/html/report.html,
// compiled in) with the run's data inlined as JSON. The page draws a flame
// graph, a timeline per loop thread and the summary itself, with no network.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "output/format_writers.hpp"
#include "output/html/html_template.hpp"

namespace loopprof {

namespace {

using nlohmann::json;

constexpr const char* kCauses[] = {"on_cpu", "runqueue", "lock", "gil", "sleep", "io", "other"};

int cause_index(const std::string& cause) {
  for (int i = 0; i < 7; ++i)
    if (cause == kCauses[i]) return i;
  return 6;
}

double ms(uint64_t ns) {
  return static_cast<double>(ns / 1000) / 1000.0;
}

// 0 python, 1 native, 2 kernel, 3 other (unknown, truncated markers).
int kind_code(FrameKind kind) {
  switch (kind) {
    case FrameKind::python:
      return 0;
    case FrameKind::native:
      return 1;
    case FrameKind::kernel:
      return 2;
    default:
      return 3;
  }
}

std::string frame_detail(const Frame& f) {
  std::string where = f.file;
  if (!where.empty() && f.line > 0) where += fmt::format(":{}", f.line);
  if (f.kind != FrameKind::python && !f.module.empty())
    where += (where.empty() ? "" : " in ") + f.module;
  if (f.inlined) where += (where.empty() ? "" : ", ") + std::string("inlined");
  return where;
}

// Frames and stacks are stored once and referred to by index.
class StackTables {
 public:
  size_t frame(const Frame& f) {
    std::string label = frame_label(f);
    std::string detail = frame_detail(f);
    std::string key = label + '\x1f' + detail;
    auto [it, inserted] = frame_ids_.try_emplace(key, frames_.size());
    if (inserted) frames_.push_back(json::array({label, kind_code(f.kind), detail}));
    return it->second;
  }
  size_t stack(const Frames& frames) {
    std::vector<size_t> ids;
    ids.reserve(frames.size());
    for (const Frame& f : frames) ids.push_back(frame(f));
    auto [it, inserted] = stack_ids_.try_emplace(ids, stacks_.size());
    if (inserted) stacks_.push_back(ids);
    return it->second;
  }
  json take_frames() { return std::move(frames_); }
  json take_stacks() { return std::move(stacks_); }

 private:
  std::unordered_map<std::string, size_t> frame_ids_;
  std::map<std::vector<size_t>, size_t> stack_ids_;
  json frames_ = json::array();
  json stacks_ = json::array();
};

json breakdown_array(const Breakdown& b) {
  return json::array({ms(b.on_cpu_ns), ms(b.runqueue_ns), ms(b.lock_ns), ms(b.gil_ns),
                      ms(b.sleep_ns), ms(b.io_ns), ms(b.other_ns)});
}

json stall_object(const Stall& stall, uint64_t origin_ns, StackTables& tables) {
  json stacks = json::array();
  for (const WeightedStack& stack : stall.stacks) {
    if (stack.weight_us == 0) continue;
    stacks.push_back(json::array(
        {tables.stack(stack.frames), stack.weight_us, cause_index(stack_cause(stall, stack))}));
  }
  json out = {{"tid", stall.tid},
              {"thread", stall.thread},
              {"t", ms(stall.start_ns - std::min(origin_ns, stall.start_ns))},
              {"d", ms(stall.duration_ns)},
              {"cpu", ms(stall.on_cpu_ns)},
              {"c", cause_index(main_cause(stall.breakdown))},
              {"culprit", stall_culprit(stall)},
              {"why", why_text(stall)},
              {"b", breakdown_array(stall.breakdown)},
              {"s", std::move(stacks)}};
  if (!stall.wakers.empty()) out["waker"] = waker_text(stall.wakers.front());
  if (stall.at_exit) out["at_exit"] = true;
  if (stall.thread_exited) out["exited"] = true;
  return out;
}

json summary_object(const Summary& summary, std::span<const Stall> stalls) {
  json worst = json::array();
  for (const Stall& w : summary.worst) {
    // The index of the same stall in the timeline, to select it on click.
    long index = -1;
    for (size_t i = 0; i < stalls.size(); ++i)
      if (stalls[i].tid == w.tid && stalls[i].seq == w.seq && stalls[i].start_ns == w.start_ns) {
        index = static_cast<long>(i);
        break;
      }
    worst.push_back({{"i", index},
                     {"tid", w.tid},
                     {"thread", w.thread},
                     {"d", ms(w.duration_ns)},
                     {"culprit", stall_culprit(w)},
                     {"why", why_text(w)}});
  }
  json loops = json::array();
  for (const auto& l : summary.loops)
    loops.push_back({{"tid", l.tid},
                     {"thread", l.thread},
                     {"iterations", l.iterations},
                     {"utilization", l.utilization()},
                     {"stalls", l.stalls},
                     {"p50", ms(l.busy_hist.quantile_ns(0.5))},
                     {"p99", ms(l.busy_hist.quantile_ns(0.99))},
                     {"max", ms(l.busy_max_ns)},
                     {"blocked", ms(l.blocked_ns)}});
  json callbacks = json::array();
  for (const auto& c : summary.callbacks)
    callbacks.push_back({{"callback", c.callback},
                         {"count", c.count},
                         {"total", ms(c.total_ns)},
                         {"p50", ms(c.p50_ns)},
                         {"p99", ms(c.p99_ns)},
                         {"max", ms(c.max_ns)}});
  json threads = json::array();
  for (const auto& t : summary.threads)
    threads.push_back({{"tid", t.tid},
                       {"thread", t.thread},
                       {"running", ms(t.running_ns)},
                       {"runqueue", ms(t.runqueue_ns)},
                       {"futex", ms(t.futex_ns)},
                       {"sleep", ms(t.sleep_ns)},
                       {"io", ms(t.io_ns)},
                       {"other", ms(t.other_ns)},
                       {"idle", ms(t.idle_ns)}});
  return {{"worst", std::move(worst)},
          {"loops", std::move(loops)},
          {"callbacks", std::move(callbacks)},
          {"callback_method", summary.callback_method},
          {"threads", std::move(threads)}};
}

}  // namespace

std::string encode_html(std::span<const Stall> stalls, const Summary& summary) {
  uint64_t origin = UINT64_MAX;
  for (const Stall& stall : stalls) origin = std::min(origin, stall.start_ns);
  StackTables tables;
  json stall_list = json::array();
  for (const Stall& stall : stalls) stall_list.push_back(stall_object(stall, origin, tables));
  uint64_t blocked = 0;
  for (const Stall& stall : stalls) blocked += stall.duration_ns;
  json data = {{"facts",
                {{"pid", summary.pid},
                 {"command", summary.command},
                 {"wall_seconds", summary.wall_seconds},
                 {"threshold_ms", ms(summary.threshold_ns)},
                 {"stalls", stalls.size()},
                 {"blocked_ms", ms(blocked)},
                 {"stop_reason", summary.stop_reason},
                 {"dropped", summary.dropped}}},
               {"causes", kCauses},
               {"stalls", std::move(stall_list)},
               {"summary", summary_object(summary, stalls)},
               {"frames", tables.take_frames()},
               {"stacks", tables.take_stacks()}};
  std::string text = data.dump(-1, ' ', false, json::error_handler_t::replace);
  // Inside <script>: "</" could end the element; "\/" is the same JSON.
  std::string safe;
  safe.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<' && i + 1 < text.size() && text[i + 1] == '/') {
      safe += "<\\/";
      ++i;
    } else {
      safe += text[i];
    }
  }
  std::string_view page = html_report_template();
  constexpr std::string_view kMarker = "__LOOPPROF_DATA__";
  size_t at = page.find(kMarker);
  if (at == std::string_view::npos) return std::string(page);  // BUG: template lost its marker
  std::string out;
  out.reserve(page.size() + safe.size());
  out.append(page.substr(0, at)).append(safe).append(page.substr(at + kMarker.size()));
  return out;
}

}  // namespace loopprof
