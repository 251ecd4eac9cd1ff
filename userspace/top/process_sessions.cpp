// LoopSource over a list of PIDs: one BPF session per process.
#include <fmt/format.h>

#include <algorithm>

#include "bpf/features.hpp"
#include "symbols/kernel_symbols.hpp"
#include "top/loop_source.hpp"
#include "top/watched_process.hpp"

namespace loopprof::top {

namespace {

class ProcessSessions final : public LoopSource {
 public:
  ProcessSessions(std::unique_ptr<KernelSymbolizer> kernel_symbols,
                  std::vector<std::unique_ptr<WatchedProcess>> processes)
      : kernel_symbols_(std::move(kernel_symbols)), processes_(std::move(processes)) {}

  std::vector<int> fds() const override {
    std::vector<int> fds;
    for (const auto& p : processes_) {
      fds.push_back(p->ring_fd());
      fds.push_back(p->exit_fd());
    }
    return fds;
  }

  Status pump() override {
    for (auto& p : processes_) {
      if (auto consumed = p->consume(); !consumed) return consumed;
      if (std::string notice = p->refresh(); !notice.empty()) notices_.push_back(notice);
    }
    // A process that exited leaves with what it produced last.
    std::erase_if(processes_, [this](const std::unique_ptr<WatchedProcess>& p) {
      if (!p->exited()) return false;
      (void)p->consume();
      notices_.push_back(fmt::format("PID {} ({}) exited", p->pid(), p->command()));
      return true;
    });
    return ok_status();
  }

  IntervalInput collect(uint64_t now_ns) override {
    IntervalInput input;
    for (auto& p : processes_) p->collect(now_ns, input);
    return input;
  }

  std::vector<std::string> take_notices() override { return std::exchange(notices_, {}); }
  bool done() const override { return processes_.empty(); }

  std::string describe() const override {
    std::string out;
    for (const auto& p : processes_)
      out += fmt::format("{}PID {} ({})", out.empty() ? "" : ", ", p->pid(), p->command());
    return out.empty() ? "no process left" : out;
  }

 private:
  std::unique_ptr<KernelSymbolizer> kernel_symbols_;  // shared by the processes' resolvers
  std::vector<std::unique_ptr<WatchedProcess>> processes_;
  std::vector<std::string> notices_;
};

}  // namespace

Result<std::unique_ptr<LoopSource>> open_process_sessions(const std::vector<pid_t>& pids,
                                                          const SourceConfig& config) {
  if (auto privileges = check_privileges(); !privileges) return privileges.error();
  auto features = probe_features();
  if (!features) return features.error();
  if (config.verbose) fmt::print(stderr, "loopprof: {}\n", features->describe());
  auto kernel_symbols = open_kernel_symbols();
  std::vector<std::unique_ptr<WatchedProcess>> processes;
  for (pid_t pid : pids) {
    auto watched = WatchedProcess::attach(pid, config, features.value(), *kernel_symbols);
    if (!watched) return watched.error();
    processes.push_back(std::move(watched).value());
  }
  return std::unique_ptr<LoopSource>(
      std::make_unique<ProcessSessions>(std::move(kernel_symbols), std::move(processes)));
}

}  // namespace loopprof::top
