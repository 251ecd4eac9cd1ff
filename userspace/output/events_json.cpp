#include "output/events_json.hpp"

#include <array>
#include <stdexcept>

namespace loopprof {

namespace {

using nlohmann::json;

double ms(uint64_t ns) {
  return static_cast<double>(ns / 1000) / 1000.0;
}

constexpr std::array<std::pair<FrameKind, const char*>, 5> kFrameKinds = {{
    {FrameKind::kernel, "kernel"},
    {FrameKind::native, "native"},
    {FrameKind::python, "python"},
    {FrameKind::truncated, "truncated"},
    {FrameKind::unknown, "unknown"},
}};

const char* kind_name(FrameKind kind) {
  for (const auto& [k, name] : kFrameKinds)
    if (k == kind) return name;
  return "unknown";
}

FrameKind kind_of(const std::string& name) {
  for (const auto& [k, n] : kFrameKinds)
    if (name == n) return k;
  throw std::invalid_argument("unknown frame kind '" + name + "'");
}

// The frame as data; empty and zero fields are left out.
json frame_json(const Frame& f) {
  json out = {{"kind", kind_name(f.kind)}};
  if (!f.name.empty()) out["name"] = f.name;
  if (!f.module.empty()) out["module"] = f.module;
  if (!f.file.empty()) out["file"] = f.file;
  if (f.line != 0) out["line"] = f.line;
  if (f.address != 0) out["address"] = f.address;
  if (f.offset != 0) out["offset"] = f.offset;
  if (f.inlined) out["inlined"] = true;
  if (!f.build_id.empty()) out["build_id"] = f.build_id;
  return out;
}

Frame frame_from(const json& j) {
  return Frame{.kind = kind_of(j.at("kind").get<std::string>()),
               .name = j.value("name", std::string()),
               .module = j.value("module", std::string()),
               .file = j.value("file", std::string()),
               .line = j.value("line", uint32_t{0}),
               .address = j.value("address", uint64_t{0}),
               .offset = j.value("offset", uint64_t{0}),
               .inlined = j.value("inlined", false),
               .build_id = j.value("build_id", std::string())};
}

json labels_json(const Frames& frames) {
  json out = json::array();
  for (const Frame& frame : frames) out.push_back(frame_label(frame));
  return out;
}

json details_json(const Frames& frames) {
  json out = json::array();
  for (const Frame& frame : frames) out.push_back(frame_json(frame));
  return out;
}

Frames frames_from(const json& details) {
  Frames frames;
  for (const json& f : details) frames.push_back(frame_from(f));
  return frames;
}

json breakdown_ms(const Breakdown& b) {
  return {{"on_cpu_ms", ms(b.on_cpu_ns)}, {"runqueue_ms", ms(b.runqueue_ns)},
          {"lock_ms", ms(b.lock_ns)},     {"gil_ms", ms(b.gil_ns)},
          {"sleep_ms", ms(b.sleep_ns)},   {"io_ms", ms(b.io_ns)},
          {"other_ms", ms(b.other_ns)}};
}

json breakdown_ns(const Breakdown& b) {
  return {{"on_cpu", b.on_cpu_ns}, {"runqueue", b.runqueue_ns}, {"lock", b.lock_ns},
          {"gil", b.gil_ns},       {"sleep", b.sleep_ns},       {"io", b.io_ns},
          {"other", b.other_ns}};
}

Breakdown breakdown_from(const json& j) {
  return Breakdown{.on_cpu_ns = j.at("on_cpu"),
                   .runqueue_ns = j.at("runqueue"),
                   .lock_ns = j.at("lock"),
                   .gil_ns = j.at("gil"),
                   .sleep_ns = j.at("sleep"),
                   .io_ns = j.at("io"),
                   .other_ns = j.at("other")};
}

json hist_json(const Log2Histogram& h) {
  // {"le_us": upper bound, "count"} for non-empty buckets
  json out = json::array();
  for (size_t i = 0; i < h.counts.size(); ++i)
    if (h.counts[i] > 0)
      out.push_back({{"le_us", Log2Histogram::bucket_upper_ns(i) / 1000}, {"count", h.counts[i]}});
  return out;
}

Log2Histogram hist_from(const json& counts) {
  return Log2Histogram{.counts = counts.get<std::vector<uint64_t>>()};
}

}  // namespace

json stall_to_json(const Stall& stall) {
  json stacks = json::array();
  for (const WeightedStack& stack : stall.stacks)
    stacks.push_back({{"frames", labels_json(stack.frames)},
                      {"weight_us", stack.weight_us},
                      {"state", cpu_state_name(stack.state)},
                      {"frame_details", details_json(stack.frames)}});
  json wakers = json::array();
  for (const Waker& w : stall.wakers)
    wakers.push_back({{"tid", w.tid},
                      {"thread", w.thread},
                      {"frames", labels_json(w.frames)},
                      {"ms", ms(w.blocked_ns)},
                      {"gil", w.gil},
                      {"blocked_ns", w.blocked_ns},
                      {"frame_details", details_json(w.frames)}});
  json out = {{"event", "stall"},
              {"pid", stall.pid},
              {"tid", stall.tid},
              {"thread", stall.thread},
              {"seq", stall.seq},
              {"start_ns", stall.start_ns},
              {"duration_ms", ms(stall.duration_ns)},
              {"on_cpu_ms", ms(stall.on_cpu_ns)},
              {"off_cpu_ms", ms(stall.off_cpu_ns)},
              {"ongoing", stall.ongoing},
              {"thread_exited", stall.thread_exited},
              {"at_exit", stall.at_exit},
              {"cause", main_cause(stall.breakdown)},
              {"breakdown", breakdown_ms(stall.breakdown)},
              {"wakers", std::move(wakers)},
              {"stacks", std::move(stacks)},
              {"duration_ns", stall.duration_ns},
              {"on_cpu_ns", stall.on_cpu_ns},
              {"off_cpu_ns", stall.off_cpu_ns},
              {"breakdown_ns", breakdown_ns(stall.breakdown)}};
  out["began_before_attach"] = stall.began_before_attach;
  if (!stall.waited_on.empty()) out["waited_on"] = stall.waited_on;
  if (!stall.deadlock.empty()) out["deadlock"] = stall.deadlock;
  if (stall.task)
    out["task"] = {{"name", stall.task->name},
                   {"coroutine", stall.task->coroutine},
                   {"awaited_by", stall.task->awaited_by}};
  return out;
}

Stall stall_from_json(const json& j) {
  Stall stall{.pid = j.at("pid"),
              .tid = j.at("tid"),
              .thread = j.at("thread"),
              .seq = j.at("seq"),
              .start_ns = j.at("start_ns"),
              .duration_ns = j.at("duration_ns"),
              .on_cpu_ns = j.at("on_cpu_ns"),
              .off_cpu_ns = j.at("off_cpu_ns"),
              .ongoing = j.at("ongoing"),
              .thread_exited = j.at("thread_exited"),
              .at_exit = j.at("at_exit"),
              .breakdown = breakdown_from(j.at("breakdown_ns"))};
  for (const json& s : j.at("stacks"))
    stall.stacks.push_back(
        {.frames = frames_from(s.at("frame_details")),
         .weight_us = s.at("weight_us"),
         .state = s.at("state") == "off_cpu" ? CpuState::off_cpu : CpuState::on_cpu});
  for (const json& w : j.at("wakers"))
    stall.wakers.push_back({.tid = w.at("tid"),
                            .thread = w.at("thread"),
                            .frames = frames_from(w.at("frame_details")),
                            .blocked_ns = w.at("blocked_ns"),
                            .gil = w.at("gil")});
  stall.began_before_attach = j.value("began_before_attach", false);
  stall.waited_on = j.value("waited_on", std::string());
  stall.deadlock = j.value("deadlock", std::string());
  if (j.contains("task")) {
    const json& t = j.at("task");
    stall.task = TaskInfo{.name = t.at("name"),
                          .coroutine = t.at("coroutine"),
                          .awaited_by = t.at("awaited_by").get<std::vector<std::string>>()};
  }
  return stall;
}

namespace {

// Times of a thread (or of a group of threads, added up), in ms and exact ns.
json times_json(const ThreadTimes& t) {
  return {{"running_ms", ms(t.running_ns)}, {"runqueue_ms", ms(t.runqueue_ns)},
          {"futex_ms", ms(t.futex_ns)},     {"sleep_ms", ms(t.sleep_ns)},
          {"io_ms", ms(t.io_ns)},           {"other_ms", ms(t.other_ns)},
          {"loop_idle_ms", ms(t.idle_ns)}};
}

json times_ns_json(const ThreadTimes& t) {
  return {{"running", t.running_ns}, {"runqueue", t.runqueue_ns},
          {"futex", t.futex_ns},     {"sleep", t.sleep_ns},
          {"io", t.io_ns},           {"other", t.other_ns},
          {"loop_idle", t.idle_ns}};
}

ThreadTimes times_from(const json& ns) {
  return {.running_ns = ns.at("running"),
          .runqueue_ns = ns.at("runqueue"),
          .futex_ns = ns.at("futex"),
          .sleep_ns = ns.at("sleep"),
          .io_ns = ns.at("io"),
          .other_ns = ns.at("other"),
          .idle_ns = ns.at("loop_idle")};
}

}  // namespace

json summary_to_json(const Summary& summary) {
  json loops = json::array();
  for (const auto& loop : summary.loops)
    loops.push_back({{"tid", loop.tid},
                     {"thread", loop.thread},
                     {"iterations", loop.iterations},
                     {"stalls", loop.stalls},
                     {"blocked_ms", ms(loop.blocked_ns)},
                     {"worst_ms", ms(loop.worst_ns)},
                     {"busy_ms", ms(loop.busy_ns)},
                     {"idle_ms", ms(loop.idle_ns)},
                     {"utilization", loop.utilization()},
                     {"busy_p50_ms", ms(loop.busy_hist.quantile_ns(0.5))},
                     {"busy_p99_ms", ms(loop.busy_hist.quantile_ns(0.99))},
                     {"busy_max_ms", ms(loop.busy_max_ns)},
                     {"busy_hist", hist_json(loop.busy_hist)},
                     {"blocked_ns", loop.blocked_ns},
                     {"worst_ns", loop.worst_ns},
                     {"busy_ns", loop.busy_ns},
                     {"idle_ns", loop.idle_ns},
                     {"busy_max_ns", loop.busy_max_ns},
                     {"busy_hist_counts", loop.busy_hist.counts}});
  json threads = json::array();
  for (const auto& t : summary.threads)
    threads.push_back({{"tid", t.tid},
                       {"thread", t.thread},
                       {"running_ms", ms(t.running_ns)},
                       {"runqueue_ms", ms(t.runqueue_ns)},
                       {"futex_ms", ms(t.futex_ns)},
                       {"sleep_ms", ms(t.sleep_ns)},
                       {"io_ms", ms(t.io_ns)},
                       {"other_ms", ms(t.other_ns)},
                       {"loop_idle_ms", ms(t.idle_ns)},
                       {"runqueue_hist", hist_json(t.runq_hist)},
                       {"futex_hist", hist_json(t.futex_hist)},
                       {"ns", times_ns_json(t)},
                       {"runqueue_hist_counts", t.runq_hist.counts},
                       {"futex_hist_counts", t.futex_hist.counts}});
  json callbacks = json::array();
  for (const auto& c : summary.callbacks)
    callbacks.push_back(
        {{"callback", c.callback},
         {"count", c.count},
         {"total_ms", ms(c.total_ns)},
         {"p50_ms", ms(c.p50_ns)},
         {"p99_ms", ms(c.p99_ns)},
         {"max_ms", ms(c.max_ns)},
         {"ns", {{"total", c.total_ns}, {"p50", c.p50_ns}, {"p99", c.p99_ns}, {"max", c.max_ns}}}});
  json tasks = json::array();
  for (const auto& t : summary.tasks)
    tasks.push_back({{"name", t.name},
                     {"coroutine", t.coroutine},
                     {"steps", t.steps},
                     {"busy_ms", ms(t.busy_ns)},
                     {"worst_step_ms", ms(t.worst_ns)},
                     {"stalls", t.stalls},
                     {"ns", {{"busy", t.busy_ns}, {"worst_step", t.worst_ns}}}});
  json worst = json::array();
  for (const Stall& stall : summary.worst) worst.push_back(stall_to_json(stall));
  return {{"event", "summary"},
          {"pid", summary.pid},
          {"wall_seconds", summary.wall_seconds},
          {"threshold_ms", ms(summary.threshold_ns)},
          {"stalls", summary.stalls},
          {"blocked_ms", ms(summary.blocked_ns)},
          {"loops", std::move(loops)},
          {"loops_not_shown", summary.loops_not_shown},
          {"threads", std::move(threads)},
          {"threads_not_shown", summary.threads_not_shown},
          {"threads_not_shown_ms", times_json(summary.threads_not_shown_times)},
          {"threads_not_shown_ns", times_ns_json(summary.threads_not_shown_times)},
          {"threads_exited", summary.threads_exited},
          {"map_full", summary.map_full},
          {"missed_switch_ins", summary.missed_switch_ins},
          {"callbacks", std::move(callbacks)},
          {"callback_method", summary.callback_method},
          {"tasks", std::move(tasks)},
          {"dropped", summary.dropped},
          {"stop_reason", summary.stop_reason},
          {"format_version", kEventsFormatVersion},
          {"command", summary.command},
          {"runtime", summary.runtime},
          {"threshold_ns", summary.threshold_ns},
          {"blocked_ns", summary.blocked_ns},
          {"worst", std::move(worst)}};
}

Summary summary_from_json(const json& j) {
  Summary summary{.pid = j.at("pid"),
                  .command = j.at("command"),
                  .runtime = j.value("runtime", ""),
                  .wall_seconds = j.at("wall_seconds"),
                  .threshold_ns = j.at("threshold_ns"),
                  .stalls = j.at("stalls"),
                  .blocked_ns = j.at("blocked_ns"),
                  .callback_method = j.at("callback_method"),
                  .dropped = j.at("dropped").get<std::map<std::string, uint64_t>>(),
                  .stop_reason = j.at("stop_reason")};
  for (const json& w : j.at("worst")) summary.worst.push_back(stall_from_json(w));
  for (const json& l : j.at("loops"))
    summary.loops.push_back({.tid = l.at("tid"),
                             .thread = l.at("thread"),
                             .iterations = l.at("iterations"),
                             .stalls = l.at("stalls"),
                             .blocked_ns = l.at("blocked_ns"),
                             .worst_ns = l.at("worst_ns"),
                             .busy_ns = l.at("busy_ns"),
                             .idle_ns = l.at("idle_ns"),
                             .busy_max_ns = l.at("busy_max_ns"),
                             .busy_hist = hist_from(l.at("busy_hist_counts"))});
  for (const json& t : j.at("threads")) {
    ThreadTimes times = times_from(t.at("ns"));
    times.tid = t.at("tid");
    times.thread = t.at("thread");
    times.runq_hist = hist_from(t.at("runqueue_hist_counts"));
    times.futex_hist = hist_from(t.at("futex_hist_counts"));
    summary.threads.push_back(std::move(times));
  }
  summary.loops_not_shown = j.value("loops_not_shown", size_t{0});
  summary.threads_not_shown = j.value("threads_not_shown", size_t{0});
  if (j.contains("threads_not_shown_ns"))
    summary.threads_not_shown_times = times_from(j.at("threads_not_shown_ns"));
  summary.threads_exited = j.value("threads_exited", size_t{0});
  if (j.contains("tasks"))
    for (const json& t : j.at("tasks"))
      summary.tasks.push_back({.name = t.at("name"),
                               .coroutine = t.at("coroutine"),
                               .steps = t.at("steps"),
                               .busy_ns = t.at("ns").at("busy"),
                               .worst_ns = t.at("ns").at("worst_step"),
                               .stalls = t.at("stalls")});
  summary.map_full = j.value("map_full", std::map<std::string, uint64_t>{});
  summary.missed_switch_ins = j.value("missed_switch_ins", uint64_t{0});
  for (const json& c : j.at("callbacks")) {
    const json& ns = c.at("ns");
    summary.callbacks.push_back({.callback = c.at("callback"),
                                 .count = c.at("count"),
                                 .total_ns = ns.at("total"),
                                 .p50_ns = ns.at("p50"),
                                 .p99_ns = ns.at("p99"),
                                 .max_ns = ns.at("max")});
  }
  return summary;
}

}  // namespace loopprof
