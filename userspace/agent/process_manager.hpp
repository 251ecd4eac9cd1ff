// The watched processes of the agent: picks them up (announced by the BPF
// side's discovery, found waiting at start-up, or named by --pid), routes
// every ring-buffer record to its process by pid, drops a process when it
// exits or executes another program (a reused PID is a new target), and
// keeps an exited process's metrics for a grace period so its last values
// are scraped before its series go away.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/process_metrics.hpp"
#include "agent/selector.hpp"
#include "agent/watched_process.hpp"

namespace loopprof::agent {

struct ManagerLimits {
  size_t max_processes = 1024;
  std::chrono::seconds grace{60};
};

class ProcessManager {
 public:
  ProcessManager(ProcessContext& context, ProcessSelector selector, ManagerLimits limits)
      : context_(context), selector_(std::move(selector)), limits_(limits) {}

  // At start: the --pid list, or every selected process with a thread
  // waiting in a poll-family call now.
  void scan();
  void on_record(const void* data, size_t size);
  // Ongoing stalls (each tick, at most tick_ns apart).
  void update(uint64_t now_ns, uint64_t tick_ns);
  // Exits, execs, Python threads, grace periods (about once a second).
  void maintain(std::chrono::steady_clock::time_point now);
  // Reads the kernel's per-thread counters into the metrics (each scrape).
  void update_metrics();

  size_t watched() const { return processes_.size(); }
  // The watched process `pid`, or null.
  WatchedProcess* process(pid_t pid) const {
    auto it = processes_.find(pid);
    return it == processes_.end() ? nullptr : it->second.get();
  }
  // Metrics of the watched processes and of those in their grace period.
  std::vector<const ProcessMetrics*> metrics() const;
  const std::map<std::string, uint64_t>& attach_failures() const { return attach_failures_; }
  uint64_t refused_full() const { return refused_full_; }
  size_t max_processes() const { return limits_.max_processes; }

 private:
  void consider(pid_t pid);
  void add(pid_t pid);
  void drop(pid_t pid, const char* why);

  ProcessContext& context_;
  ProcessSelector selector_;
  ManagerLimits limits_;
  std::unordered_map<pid_t, std::unique_ptr<WatchedProcess>> processes_;
  struct Departed {
    std::chrono::steady_clock::time_point at;
    ProcessMetrics metrics;
  };
  std::vector<Departed> departed_;
  // Processes the selector turned down, by (pid, start time): not read again.
  std::set<std::pair<pid_t, uint64_t>> rejected_;
  std::map<std::string, uint64_t> attach_failures_;  // by reason
  uint64_t refused_full_ = 0;
  bool warned_full_ = false;
};

// The pid a ring-buffer record belongs to (0: none, or malformed).
pid_t record_pid(const void* data, size_t size);

}  // namespace loopprof::agent
