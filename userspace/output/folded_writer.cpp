#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/output_file.hpp"
#include "output/sink.hpp"

namespace loopprof {

namespace {

// ';' separates frames and the last ' ' the weight: keep labels unambiguous.
std::string folded_label(const Frame& frame) {
  std::string label = frame_label(frame);
  std::replace(label.begin(), label.end(), ';', ':');
  std::replace(label.begin(), label.end(), '\n', ' ');
  return label;
}

class FoldedWriter final : public OutputSink {
 public:
  explicit FoldedWriter(OutputFile file) : file_(std::move(file)) {}

  void stall(const Stall& stall) override {
    if (stall.ongoing) return;  // counted once, with its final duration
    add(stall);
  }

  Status finish(const Summary& summary) override {
    for (const Stall& stall : summary.ongoing_at_exit) add(stall);
    for (const auto& [line, weight] : weights_) file_.write(fmt::format("{} {}\n", line, weight));
    return file_.commit();
  }

 private:
  void add(const Stall& stall) {
    for (const WeightedStack& stack : stall.stacks) {
      std::string line;
      for (const Frame& frame : stack.frames) {
        if (!line.empty()) line += ';';
        line += folded_label(frame);
      }
      if (!line.empty() && stack.weight_us > 0) weights_[line] += stack.weight_us;
    }
  }

  OutputFile file_;
  std::map<std::string, uint64_t> weights_;
};

}  // namespace

Result<std::unique_ptr<OutputSink>> make_folded_writer(const std::string& path) {
  auto file = OutputFile::create(path);
  if (!file) return file.error();
  return std::unique_ptr<OutputSink>(new FoldedWriter(std::move(file).value()));
}

}  // namespace loopprof
