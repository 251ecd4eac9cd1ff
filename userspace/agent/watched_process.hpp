// Everything the agent keeps for one watched process, created on first sight
// and destroyed when it exits or executes another program: its /proc view,
// symbolizer, unwinder, Python support, stall collector and metrics. The
// destructor removes its entries from the BPF maps.
#pragma once

#include <fmt/format.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/lazy_symbolizer.hpp"
#include "agent/process_metrics.hpp"
#include "agent/stall_log.hpp"
#include "agent/stall_store.hpp"
#include "bpf/bpf_session.hpp"
#include "collector/stack_resolver.hpp"
#include "collector/stall_collector.hpp"
#include "output/sink.hpp"
#include "python/python_support.hpp"
#include "symbols/module_cache.hpp"
#include "symbols/symbolizer.hpp"
#include "target/target_process.hpp"
#include "unwind/dwarf_unwinder.hpp"

namespace loopprof::agent {

// What every watched process shares.
struct ProcessContext {
  BpfSession& session;
  KernelSymbolizer& kernel_symbols;
  std::shared_ptr<ModuleCache> modules;
  StallLog& log;
  StallStore& store;
  uint64_t threshold_ns = 0;
  uint32_t sample_hz = 0;
  // Where lines about the watched set go ("watching PID 42 ..."); empty:
  // stderr (`loopprof top` shows them on its screen instead).
  std::function<void(const std::string&)> notify;
  void note(const std::string& line) const {
    if (notify)
      notify(line);
    else
      fmt::print(stderr, "loopprof: {}\n", line);
  }
};

class WatchedProcess {
 public:
  // Opens the process and adds it to the BPF session's watched set; threads
  // waiting in a poll-family call right now are seeded as in their loop wait.
  static Result<std::unique_ptr<WatchedProcess>> open(pid_t pid, ProcessContext& context);
  ~WatchedProcess();
  WatchedProcess(const WatchedProcess&) = delete;
  WatchedProcess& operator=(const WatchedProcess&) = delete;

  pid_t pid() const { return target_.pid(); }
  uint64_t start_time() const { return start_time_; }
  const ProcessMetrics& metrics() const { return metrics_; }
  ProcessMetrics& metrics() { return metrics_; }
  std::string python_warning() const { return python_warning_; }

  // When it was first watched (CLOCK_MONOTONIC).
  uint64_t watched_since_ns() const { return watched_since_ns_; }
  std::string thread_name(pid_t tid) { return target_.thread_name(tid); }
  const std::string& command() const { return target_.command(); }

  void on_record(const void* data, size_t size);
  // Stalls of this process past the threshold at `now_ns`, not ended yet.
  std::vector<Stall> ongoing_now(const std::vector<std::pair<pid_t, lp_thread>>& threads,
                                 uint64_t now_ns) {
    return collector_->ongoing_now(threads, now_ns);
  }
  // Ongoing stalls from this process's entries of the threads map (each tick).
  void update(const std::vector<std::pair<pid_t, lp_thread>>& threads, uint64_t now_ns);
  // Counters from its entries of the threads and task_stats maps (each scrape).
  void update_metrics(const std::vector<std::pair<pid_t, lp_thread>>& threads,
                      const std::vector<std::pair<pid_t, lp_task_stats>>& tasks);
  enum class Liveness { same, exited, executed };
  // Once a second: `exited` or `executed` (another program) once it must
  // be dropped.
  Liveness check();

 private:
  class Feed;  // the collector's output: metrics, log, stall store
  WatchedProcess(pid_t pid, ProcessContext& context, TargetProcess target, uint64_t start_time);
  // The symbolizer and DWARF unwinder are opened at the first stack capture
  // and let go when none is needed (an idle loop never ships one): with many
  // watched processes, they are most of the agent's memory.
  void open_native();
  void release_native();

  ProcessContext& context_;
  TargetProcess target_;
  uint64_t start_time_;
  uint64_t watched_since_ns_ = 0;
  ProcessMetrics metrics_;
  std::unique_ptr<python::PythonSupport> python_;
  std::string python_warning_;
  std::unique_ptr<LazySymbolizer> symbols_;
  std::unique_ptr<DwarfUnwinder> unwinder_;
  bool native_open_ = false;
  std::chrono::steady_clock::time_point last_capture_{};
  std::unique_ptr<StackResolver> resolver_;
  std::unique_ptr<OutputSink> feed_;
  std::unique_ptr<StallCollector> collector_;
};

}  // namespace loopprof::agent
