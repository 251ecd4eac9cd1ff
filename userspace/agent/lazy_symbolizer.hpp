// A ProcessSymbolizer that opens the real one at its first use and can let
// it go again: most processes the agent watches are healthy loops that never
// need a stack named, and each open symbolizer maps the process's ELF files.
#pragma once

#include <sys/types.h>

#include <memory>
#include <utility>

#include "symbols/symbolizer.hpp"

namespace loopprof::agent {

class LazySymbolizer final : public ProcessSymbolizer {
 public:
  LazySymbolizer(pid_t pid, ProcessSymbolizerOptions options)
      : pid_(pid), options_(std::move(options)) {}

  Frames symbolize(uint64_t address, bool return_address) override {
    return real().symbolize(address, return_address);
  }
  void refresh() override {
    if (real_) real_->refresh();  // not opened yet: it reads the maps when it is
  }
  bool opened() const { return real_ != nullptr; }
  // Closes the real symbolizer (the shared module cache keeps parsed files).
  void release() { real_.reset(); }

 private:
  ProcessSymbolizer& real() {
    if (!real_) {
      auto opened = ProcessSymbolizer::open(pid_, options_);
      real_ =
          opened ? std::move(opened).value() : ProcessSymbolizer::create(pid_);  // names nothing
    }
    return *real_;
  }

  pid_t pid_;
  ProcessSymbolizerOptions options_;
  std::unique_ptr<ProcessSymbolizer> real_;
};

}  // namespace loopprof::agent
