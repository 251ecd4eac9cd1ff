#include "core/output_file.hpp"
#include "output/events_json.hpp"
#include "output/sink.hpp"

namespace loopprof {

namespace {

std::string line_of(const nlohmann::json& object) {
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

class JsonlWriter final : public OutputSink {
 public:
  explicit JsonlWriter(OutputFile file) : file_(std::move(file)) {}

  void stall(const Stall& stall) override {
    file_.write(line_of(stall_to_json(stall)));
    file_.flush();
  }

  Status finish(const Summary& summary) override {
    for (const Stall& stall : summary.ongoing_at_exit) this->stall(stall);
    file_.write(line_of(summary_to_json(summary)));
    return file_.commit();
  }

 private:
  OutputFile file_;
};

}  // namespace

Result<std::unique_ptr<OutputSink>> make_jsonl_writer(const std::string& path) {
  auto file = OutputFile::create(path);
  if (!file) return file.error();
  return std::unique_ptr<OutputSink>(new JsonlWriter(std::move(file).value()));
}

}  // namespace loopprof
