// The self-contained HTML report: the page template (output/html/report.html,
// compiled in) with the run's data inlined as JSON. The page draws a flame
// graph, a timeline per loop thread and the summary itself, with no network.
// The flame graph's tree is merged and ordered here (FlameTree) and travels
// as typed arrays (html/packed_array.hpp); a stack is a node of that tree,
// so each stall's stacks are node ids: the page has nothing to merge, sort
// or hash, and opens 10,000 stalls over 50,000 stacks well under a second.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "output/flame_tree.hpp"
#include "output/format_writers.hpp"
#include "output/html/html_template.hpp"
#include "output/html/packed_array.hpp"

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

// Frames are stored once and referred to by index; stacks are nodes of one
// flame tree (a stack is the path from the root to its node).
class StackTables {
 public:
  uint32_t frame(const Frame& f) {
    std::string label = frame_label(f);
    std::string detail = frame_detail(f);
    std::string key = label + '\x1f' + detail;
    auto [it, inserted] = frame_ids_.try_emplace(key, static_cast<uint32_t>(frames_.size()));
    if (inserted) frames_.push_back(json::array({label, kind_code(f.kind), detail}));
    return it->second;
  }
  // The stack's node in the tree (a preorder id once finish() ran).
  uint32_t stack(const Frames& frames, uint64_t weight) {
    ids_.clear();
    for (const Frame& f : frames) ids_.push_back(frame(f));
    uint32_t node = tree_.add(ids_, weight);
    distinct_.insert(node);
    return node;
  }
  void finish() { tree_.finish(); }
  const FlameTree& tree() const { return tree_; }
  size_t distinct_stacks() const { return distinct_.size(); }
  json take_frames() { return std::move(frames_); }

 private:
  std::unordered_map<std::string, uint32_t> frame_ids_;
  json frames_ = json::array();
  std::vector<uint32_t> ids_;
  FlameTree tree_;
  std::unordered_set<uint32_t> distinct_;
};

// The tree for the page: depth and frame per node in preorder (the root's
// frame is a 0 placeholder).
json tree_object(const FlameTree& tree) {
  std::vector<uint64_t> depth, frame;
  depth.reserve(tree.size());
  frame.reserve(tree.size());
  for (size_t i = 0; i < tree.size(); ++i) {
    depth.push_back(tree.depth(i));
    frame.push_back(tree.frame(i));
  }
  uint64_t max_depth = depth.empty() ? 0 : *std::max_element(depth.begin(), depth.end());
  return {{"max_depth", max_depth}, {"depth", packed_array(depth)}, {"frame", packed_array(frame)}};
}

// A stall's stacks: (node, weight in us, cause) each.
struct StallStacks {
  std::vector<uint32_t> nodes;
  std::vector<uint64_t> weights;
  std::vector<uint8_t> causes;
};

// All stalls' stacks for the page: their number per stall, then (node,
// weight, cause) of each, stall after stall; and the same merged per (node,
// cause) and ordered by node ("self": the whole run's flame graph).
json stacks_object(const std::vector<StallStacks>& stalls, const FlameTree& tree) {
  std::vector<uint64_t> count, node, weight, cause;
  std::map<std::pair<uint32_t, uint8_t>, uint64_t> self;
  for (const StallStacks& s : stalls) {
    count.push_back(s.nodes.size());
    for (size_t k = 0; k < s.nodes.size(); ++k) {
      uint32_t id = tree.preorder_id(s.nodes[k]);
      node.push_back(id);
      weight.push_back(s.weights[k]);
      cause.push_back(s.causes[k]);
      self[{id, s.causes[k]}] += s.weights[k];
    }
  }
  std::vector<uint64_t> self_node, self_weight, self_cause;
  for (const auto& [key, w] : self) {
    self_node.push_back(key.first);
    self_cause.push_back(key.second);
    self_weight.push_back(w);
  }
  return {{"count", packed_array(count)},          {"node", packed_array(node)},
          {"weight", packed_array(weight)},        {"cause", packed_array(cause)},
          {"self_node", packed_array(self_node)},  {"self_weight", packed_array(self_weight)},
          {"self_cause", packed_array(self_cause)}};
}

json breakdown_array(const Breakdown& b) {
  return json::array({ms(b.on_cpu_ns), ms(b.runqueue_ns), ms(b.lock_ns), ms(b.gil_ns),
                      ms(b.sleep_ns), ms(b.io_ns), ms(b.other_ns)});
}

StallStacks stall_stacks(const Stall& stall, StackTables& tables) {
  StallStacks out;
  for (const WeightedStack& stack : stall.stacks) {
    if (stack.weight_us == 0) continue;
    out.nodes.push_back(tables.stack(stack.frames, stack.weight_us));
    out.weights.push_back(stack.weight_us);
    out.causes.push_back(static_cast<uint8_t>(cause_index(stack_cause(stall, stack))));
  }
  return out;
}

json stall_object(const Stall& stall, uint64_t origin_ns) {
  json out = {{"tid", stall.tid},
              {"thread", stall.thread},
              {"t", ms(stall.start_ns - std::min(origin_ns, stall.start_ns))},
              {"d", ms(stall.duration_ns)},
              {"c", cause_index(main_cause(stall.breakdown))},
              {"culprit", stall_culprit(stall)},
              {"why", why_text(stall)},
              {"b", breakdown_array(stall.breakdown)}};
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
  std::vector<StallStacks> stacks;
  stacks.reserve(stalls.size());
  for (const Stall& stall : stalls) stacks.push_back(stall_stacks(stall, tables));
  tables.finish();
  json stall_list = json::array();
  for (const Stall& stall : stalls) stall_list.push_back(stall_object(stall, origin));
  uint64_t blocked = 0;
  for (const Stall& stall : stalls) blocked += stall.duration_ns;
  json data = {{"facts",
                {{"pid", summary.pid},
                 {"command", summary.command},
                 {"runtime", summary.runtime},
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
               {"distinct_stacks", tables.distinct_stacks()},
               {"tree", tree_object(tables.tree())},
               {"stacks", stacks_object(stacks, tables.tree())}};
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
