// KernelSymbolizer over /proc/kallsyms.
#include "symbols/kallsyms.hpp"
#include "symbols/symbolizer.hpp"

namespace loopprof {

namespace {

constexpr const char* kKallsyms = "/proc/kallsyms";

class KallsymsSymbolizer final : public KernelSymbolizer {
 public:
  KallsymsSymbolizer(std::string path, KallsymsTable table)
      : path_(std::move(path)), table_(std::move(table)) {}

  Frame symbolize(uint64_t address) override {
    Frame frame;
    frame.kind = FrameKind::kernel;
    frame.module = "[kernel]";
    frame.address = address;
    if (auto name = table_.lookup(address)) frame.name = std::string(*name);
    return frame;
  }

  void refresh() override {
    if (auto table = KallsymsTable::load(path_)) table_ = std::move(table.value());
  }

 private:
  std::string path_;
  KallsymsTable table_;
};

}  // namespace

Result<std::unique_ptr<KernelSymbolizer>> KernelSymbolizer::open(const std::string& kallsyms_path) {
  auto table = KallsymsTable::load(kallsyms_path);
  if (!table) return table.error();
  return std::unique_ptr<KernelSymbolizer>(
      std::make_unique<KallsymsSymbolizer>(kallsyms_path, std::move(table.value())));
}

std::unique_ptr<KernelSymbolizer> KernelSymbolizer::create() {
  auto symbolizer = open(kKallsyms);
  if (symbolizer) return std::move(symbolizer.value());
  return std::make_unique<KallsymsSymbolizer>(kKallsyms, KallsymsTable{});
}

}  // namespace loopprof
