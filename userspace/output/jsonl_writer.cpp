#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "output/sink.hpp"

namespace loopprof {

namespace {

double ms(uint64_t ns) {
  return static_cast<double>(ns / 1000) / 1000.0;
}

nlohmann::json frames_json(const Frames& frames) {
  nlohmann::json out = nlohmann::json::array();
  for (const Frame& frame : frames) out.push_back(frame_label(frame));
  return out;
}

nlohmann::json breakdown_json(const Breakdown& b) {
  return {{"on_cpu_ms", ms(b.on_cpu_ns)}, {"runqueue_ms", ms(b.runqueue_ns)},
          {"lock_ms", ms(b.lock_ns)},     {"gil_ms", ms(b.gil_ns)},
          {"sleep_ms", ms(b.sleep_ns)},   {"io_ms", ms(b.io_ns)},
          {"other_ms", ms(b.other_ns)}};
}

nlohmann::json wakers_json(const std::vector<Waker>& wakers) {
  nlohmann::json out = nlohmann::json::array();
  for (const Waker& w : wakers)
    out.push_back({{"tid", w.tid},
                   {"thread", w.thread},
                   {"frames", frames_json(w.frames)},
                   {"ms", ms(w.blocked_ns)},
                   {"gil", w.gil}});
  return out;
}

nlohmann::json hist_json(const Log2Histogram& h) {
  // {"le_us": upper bound, "count"} for non-empty buckets
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < h.counts.size(); ++i)
    if (h.counts[i] > 0)
      out.push_back({{"le_us", Log2Histogram::bucket_upper_ns(i) / 1000}, {"count", h.counts[i]}});
  return out;
}

nlohmann::json stall_json(const Stall& stall) {
  nlohmann::json stacks = nlohmann::json::array();
  for (const WeightedStack& stack : stall.stacks) {
    nlohmann::json frames = nlohmann::json::array();
    for (const Frame& frame : stack.frames) frames.push_back(frame_label(frame));
    stacks.push_back({{"frames", std::move(frames)},
                      {"weight_us", stack.weight_us},
                      {"state", cpu_state_name(stack.state)}});
  }
  nlohmann::json out = {{"event", "stall"},
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
                        {"breakdown", breakdown_json(stall.breakdown)},
                        {"wakers", wakers_json(stall.wakers)},
                        {"stacks", std::move(stacks)}};
  if (stall.task)
    out["task"] = {{"name", stall.task->name},
                   {"coroutine", stall.task->coroutine},
                   {"awaited_by", stall.task->awaited_by}};
  return out;
}

nlohmann::json summary_json(const Summary& summary) {
  nlohmann::json loops = nlohmann::json::array();
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
                     {"busy_hist", hist_json(loop.busy_hist)}});
  nlohmann::json threads = nlohmann::json::array();
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
                       {"futex_hist", hist_json(t.futex_hist)}});
  nlohmann::json callbacks = nlohmann::json::array();
  for (const auto& c : summary.callbacks)
    callbacks.push_back({{"callback", c.callback},
                         {"count", c.count},
                         {"total_ms", ms(c.total_ns)},
                         {"p50_ms", ms(c.p50_ns)},
                         {"p99_ms", ms(c.p99_ns)},
                         {"max_ms", ms(c.max_ns)}});
  nlohmann::json tasks = nlohmann::json::array();
  for (const auto& t : summary.tasks)
    tasks.push_back({{"name", t.name},
                     {"coroutine", t.coroutine},
                     {"steps", t.steps},
                     {"busy_ms", ms(t.busy_ns)},
                     {"worst_step_ms", ms(t.worst_ns)},
                     {"stalls", t.stalls}});
  return {{"event", "summary"},
          {"pid", summary.pid},
          {"wall_seconds", summary.wall_seconds},
          {"threshold_ms", ms(summary.threshold_ns)},
          {"stalls", summary.stalls},
          {"blocked_ms", ms(summary.blocked_ns)},
          {"loops", std::move(loops)},
          {"threads", std::move(threads)},
          {"callbacks", std::move(callbacks)},
          {"callback_method", summary.callback_method},
          {"tasks", std::move(tasks)},
          {"dropped", summary.dropped},
          {"stop_reason", summary.stop_reason}};
}

class JsonlWriter final : public OutputSink {
 public:
  explicit JsonlWriter(AtomicFile file) : file_(std::move(file)) {}

  void stall(const Stall& stall) override {
    file_.write(stall_json(stall).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    file_.write("\n");
    file_.flush();
  }

  Status finish(const Summary& summary) override {
    for (const Stall& stall : summary.ongoing_at_exit) this->stall(stall);
    file_.write(
        summary_json(summary).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    file_.write("\n");
    return file_.commit();
  }

 private:
  AtomicFile file_;
};

}  // namespace

Result<std::unique_ptr<OutputSink>> make_jsonl_writer(const std::string& path) {
  auto file = AtomicFile::create(path);
  if (!file) return file.error();
  return std::unique_ptr<OutputSink>(new JsonlWriter(std::move(file).value()));
}

}  // namespace loopprof
