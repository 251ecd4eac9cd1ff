#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "output/sink.hpp"

namespace loopprof {

namespace {

double ms(uint64_t ns) {
  return static_cast<double>(ns / 1000) / 1000.0;
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
  return {{"event", "stall"},
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
          {"stacks", std::move(stacks)}};
}

nlohmann::json summary_json(const Summary& summary) {
  nlohmann::json loops = nlohmann::json::array();
  for (const auto& loop : summary.loops)
    loops.push_back({{"tid", loop.tid},
                     {"thread", loop.thread},
                     {"iterations", loop.iterations},
                     {"stalls", loop.stalls},
                     {"blocked_ms", ms(loop.blocked_ns)},
                     {"worst_ms", ms(loop.worst_ns)}});
  return {{"event", "summary"},
          {"pid", summary.pid},
          {"wall_seconds", summary.wall_seconds},
          {"threshold_ms", ms(summary.threshold_ns)},
          {"stalls", summary.stalls},
          {"blocked_ms", ms(summary.blocked_ns)},
          {"loops", std::move(loops)},
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
