// LoopSource over every loop process of the host: one BPF session with
// discovery, the agent's ProcessManager picking processes up as they first
// wait in a poll-family call and dropping them when they exit (`loopprof top`
// without -p).
#include <fmt/format.h>

#include <chrono>
#include <unordered_map>

#include "agent/process_manager.hpp"
#include "agent/selector.hpp"
#include "agent/stall_log.hpp"
#include "agent/stall_store.hpp"
#include "bpf/bpf_session.hpp"
#include "bpf/features.hpp"
#include "core/monotonic_clock.hpp"
#include "symbols/kernel_symbols.hpp"
#include "symbols/module_cache.hpp"
#include "top/loop_source.hpp"

namespace loopprof::top {

namespace {

using Clock = std::chrono::steady_clock;

// How often exits, execs and grace periods are looked at.
constexpr auto kMaintainEvery = std::chrono::seconds(1);
// The most processes at once (as the agent's default).
constexpr size_t kMaxProcesses = 1024;

class HostSession final : public LoopSource {
 public:
  HostSession(std::unique_ptr<BpfSession> session, std::unique_ptr<KernelSymbolizer> kernel,
              agent::StallLog log, const SourceConfig& config)
      : session_(std::move(session)),
        kernel_symbols_(std::move(kernel)),
        log_(std::move(log)),
        store_(std::chrono::seconds(60), 20000),
        context_{.session = *session_,
                 .kernel_symbols = *kernel_symbols_,
                 .modules = std::make_shared<ModuleCache>(),
                 .log = log_,
                 .store = store_,
                 .threshold_ns = config.threshold_ns,
                 .sample_hz = config.sample_hz,
                 .notify = [this](const std::string& line) { notices_.push_back(line); }},
        manager_(
            context_, everything(),
            agent::ManagerLimits{.max_processes = kMaxProcesses, .grace = std::chrono::seconds(0)}),
        tick_ns_(config.threshold_ns / 4),
        last_collect_(Clock::now()),
        last_maintain_(Clock::now()) {}

  Status start() {
    if (auto attached = session_->attach(
            [this](const void* data, size_t size) { manager_.on_record(data, size); });
        !attached)
      return attached.error();
    manager_.scan();
    return ok_status();
  }

  std::vector<int> fds() const override { return {session_->ring_epoll_fd()}; }

  Status pump() override {
    if (auto consumed = session_->consume(); !consumed) return consumed;
    manager_.update(monotonic_ns(), tick_ns_);
    if (auto now = Clock::now(); now - last_maintain_ >= kMaintainEvery) {
      last_maintain_ = now;
      manager_.maintain(now);
    }
    return ok_status();
  }

  IntervalInput collect(uint64_t now_ns) override {
    IntervalInput input;
    Clock::time_point now = Clock::now();
    for (agent::StoredStall& s : store_.since(now, store_.keep()))
      if (s.at > last_collect_) input.stalls.push_back(std::move(s.stall));
    last_collect_ = now;
    std::unordered_map<pid_t, std::vector<std::pair<pid_t, lp_thread>>> by_pid;
    for (auto& entry : session_->threads())
      by_pid[static_cast<pid_t>(entry.second.pid)].push_back(entry);
    for (auto& [pid, threads] : by_pid) {
      agent::WatchedProcess* process = manager_.process(pid);
      if (!process) continue;
      for (Stall& stall : process->ongoing_now(threads, now_ns))
        input.stalls.push_back(std::move(stall));
      for (const auto& [tid, state] : threads)
        if (shows_as_loop(state, now_ns, context_.threshold_ns))
          input.loops.push_back(loop_snapshot(pid, tid, process->thread_name(tid), state, now_ns,
                                              process->watched_since_ns()));
    }
    return input;
  }

  std::vector<std::string> take_notices() override { return std::exchange(notices_, {}); }
  bool done() const override { return false; }  // new loops may start any time

  std::string describe() const override {
    return fmt::format("every loop process ({} watched)", manager_.watched());
  }

 private:
  static agent::ProcessSelector everything() {
    return agent::ProcessSelector::make({}, "", "").value();
  }

  std::unique_ptr<BpfSession> session_;
  std::unique_ptr<KernelSymbolizer> kernel_symbols_;
  agent::StallLog log_;  // writes nothing: top shows stalls on its screen
  agent::StallStore store_;
  std::vector<std::string> notices_;
  agent::ProcessContext context_;
  agent::ProcessManager manager_;
  uint64_t tick_ns_;
  Clock::time_point last_collect_;
  Clock::time_point last_maintain_;
};

}  // namespace

Result<std::unique_ptr<LoopSource>> open_host_session(const SourceConfig& config) {
  if (auto privileges = check_privileges(); !privileges) return privileges.error();
  auto features = probe_features();
  if (!features) return features.error();
  if (config.verbose) fmt::print(stderr, "loopprof: {}\n", features->describe());
  SessionConfig session_config{.threshold_ns = config.threshold_ns,
                               .sample_hz = config.sample_hz,
                               // Stacks matter in stalls only: no samples of healthy iterations.
                               .sample_min_busy_ns = config.threshold_ns / 4,
                               .ringbuf_bytes = config.ringbuf_bytes,
                               .max_threads = 65536,
                               .max_processes = kMaxProcesses,
                               .discover = true};
  auto opened = BpfSession::open(session_config, features.value());
  if (!opened) return opened.error();
  std::unique_ptr<BpfSession> session = std::move(opened).value();
  if (auto loaded = session->load(); !loaded) return loaded.error();
  auto log = agent::StallLog::open(false, "");
  if (!log) return log.error();
  auto host = std::make_unique<HostSession>(std::move(session), open_kernel_symbols(),
                                            std::move(log).value(), config);
  if (auto started = host->start(); !started) return started.error();
  return std::unique_ptr<LoopSource>(std::move(host));
}

}  // namespace loopprof::top
