#include <fmt/format.h>

#include "output/format_writers.hpp"
#include "core/output_file.hpp"
#include "output/pprof_profile.hpp"

namespace loopprof {

namespace {

class EncodedFileWriter final : public OutputSink {
 public:
  EncodedFileWriter(OutputFile file, StallEncoder encode)
      : file_(std::move(file)), encode_(std::move(encode)) {}

  void stall(const Stall& stall) override {
    if (!stall.ongoing) stalls_.push_back(stall);  // counted once, when final
  }

  Status finish(const Summary& summary) override {
    for (const Stall& stall : summary.ongoing_at_exit) stalls_.push_back(stall);
    file_.write(encode_(stalls_, summary));
    return file_.commit();
  }

 private:
  OutputFile file_;
  StallEncoder encode_;
  std::vector<Stall> stalls_;
};

}  // namespace

Result<std::unique_ptr<OutputSink>> make_encoded_file_writer(const std::string& path,
                                                             StallEncoder encode) {
  auto file = OutputFile::create(path);
  if (!file) return file.error();
  return std::unique_ptr<OutputSink>(
      new EncodedFileWriter(std::move(file).value(), std::move(encode)));
}

std::string why_text(const Stall& stall) {
  std::string why = breakdown_text(stall.breakdown);
  if (!stall.wakers.empty()) why += "; " + waker_text(stall.wakers.front());
  return why;
}

std::string encode_pprof_file(std::span<const Stall> stalls, const Summary& summary) {
  PprofMetadata metadata;
  metadata.duration_ns = static_cast<uint64_t>(summary.wall_seconds * 1e9);
  metadata.comments.push_back(fmt::format("loopprof: PID {} ({}), threshold {} ms, {}", summary.pid,
                                          summary.command, summary.threshold_ns / 1e6,
                                          summary.stop_reason));
  return encode_pprof(stalls, metadata);
}

}  // namespace loopprof

namespace loopprof {

const char* stack_cause(const Stall& stall, const WeightedStack& stack) {
  if (stack.state == CpuState::on_cpu) return "on_cpu";
  const Breakdown& b = stall.breakdown;
  std::pair<uint64_t, const char*> parts[] = {
      {b.runqueue_ns, "runqueue"}, {b.lock_ns, "lock"}, {b.gil_ns, "gil"},
      {b.sleep_ns, "sleep"},       {b.io_ns, "io"},     {b.other_ns, "other"}};
  const auto* best = &parts[0];
  for (const auto& part : parts)
    if (part.first > best->first) best = &part;
  return best->first > 0 ? best->second : "other";
}

}  // namespace loopprof
