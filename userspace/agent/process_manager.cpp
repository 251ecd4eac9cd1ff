#include "agent/process_manager.hpp"

#include <dirent.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace loopprof::agent {

namespace {

template <typename Record>
pid_t pid_field(const void* data, size_t size, __u32 Record::*field) {
  if (size < sizeof(Record)) return 0;
  Record record;
  std::memcpy(&record, data, sizeof(Record));
  return static_cast<pid_t>(record.*field);
}

// A short, bounded reason label for an attach failure.
std::string failure_reason(const Error& error) {
  const std::string& m = error.message;
  if (m.find("no such process") != std::string::npos) return "exited";
  if (m.find("thread of process") != std::string::npos) return "not_a_process";
  if (m.find("full") != std::string::npos || m.find("E2BIG") != std::string::npos ||
      m.find("Argument list too long") != std::string::npos)
    return "watched_set_full";
  if (m.find("ermission") != std::string::npos || m.find("not permitted") != std::string::npos)
    return "permission";
  return "other";
}

std::vector<pid_t> all_pids() {
  std::vector<pid_t> pids;
  DIR* dir = opendir("/proc");
  if (!dir) return pids;
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (*end == '\0' && pid > 0) pids.push_back(static_cast<pid_t>(pid));
  }
  closedir(dir);
  return pids;
}

}  // namespace

pid_t record_pid(const void* data, size_t size) {
  __u32 type = 0;
  if (size < sizeof(type)) return 0;
  std::memcpy(&type, data, sizeof(type));
  switch (type) {
    case LP_REC_STALL:
      return pid_field(data, size, &lp_stall_record::pid);
    case LP_REC_CAPTURE:
      return size >= sizeof(lp_capture_record)
                 ? static_cast<pid_t>(static_cast<const lp_capture_record*>(data)->pid)
                 : 0;
    case LP_REC_RESUME:
      return pid_field(data, size, &lp_resume_record::pid);
    case LP_REC_WAKE:
      return pid_field(data, size, &lp_wake_record::woken_pid);
    case LP_REC_STEP:
      return pid_field(data, size, &lp_step_record::pid);
    case LP_REC_LOOP_EXIT:
      return pid_field(data, size, &lp_loop_exit_record::pid);
    case LP_REC_THREAD_EXIT:
      return pid_field(data, size, &lp_thread_exit_record::pid);
    case LP_REC_EXEC:
      return pid_field(data, size, &lp_exec_record::pid);
    case LP_REC_BUSY_END:
      return pid_field(data, size, &lp_busy_end_record::pid);
    case LP_REC_ANNOUNCE:
      return pid_field(data, size, &lp_announce_record::pid);
    case LP_REC_STACK_MORE:  // sized by its stack: only the header is sure
      return size >= offsetof(lp_stack_more_record, stack)
                 ? static_cast<pid_t>(static_cast<const lp_stack_more_record*>(data)->pid)
                 : 0;
  }
  return 0;
}

void ProcessManager::scan() {
  if (selector_.pids_only()) {
    for (pid_t pid : selector_.pids()) add(pid);
    return;
  }
  pid_t self = getpid();
  for (pid_t pid : all_pids()) {
    if (pid == self || processes_.count(pid)) continue;
    auto target = TargetProcess::open(pid);
    if (!target || target->poll_waiters().empty()) continue;
    consider(pid);
  }
}

void ProcessManager::consider(pid_t pid) {
  if (processes_.count(pid) || pid == getpid()) return;
  uint64_t start = process_start_time(pid);
  if (start == 0 || rejected_.count({pid, start})) return;
  if (!selector_.matches(read_process_facts(pid))) {
    rejected_.insert({pid, start});
    return;
  }
  add(pid);
}

void ProcessManager::add(pid_t pid) {
  if (processes_.size() >= limits_.max_processes) {
    ++refused_full_;
    if (!warned_full_)
      context_.note(
          fmt::format("warning: watching {} processes already (--max-processes); PID {} and "
                      "further loops are not watched (loopprof_agent_refused_processes_total)",
                      processes_.size(), pid));
    warned_full_ = true;
    return;
  }
  // A departed process with this PID is gone for good: its series end now.
  std::erase_if(departed_, [pid](const Departed& d) { return d.metrics.labels().pid == pid; });
  auto process = WatchedProcess::open(pid, context_);
  if (!process) {
    ++attach_failures_[failure_reason(process.error())];
    context_.note(fmt::format("could not watch PID {}: {}", pid, process.error().message));
    return;
  }
  const ProcessLabels& labels = process.value()->metrics().labels();
  context_.note(fmt::format("watching PID {} ({}, service {}, {})", pid, labels.comm,
                            labels.service, labels.runtime));
  processes_[pid] = std::move(process).value();
}

void ProcessManager::drop(pid_t pid, const char* why) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) return;
  context_.note(fmt::format("PID {} {}: no longer watched", pid, why));
  departed_.push_back(Departed{std::chrono::steady_clock::now(), it->second->metrics()});
  processes_.erase(it);  // unwatches it in the kernel
  warned_full_ = false;
}

void ProcessManager::on_record(const void* data, size_t size) {
  pid_t pid = record_pid(data, size);
  __u32 type = 0;
  std::memcpy(&type, data, size >= sizeof(type) ? sizeof(type) : 0);
  if (type == LP_REC_ANNOUNCE) return consider(pid);
  auto it = processes_.find(pid);
  if (it != processes_.end()) it->second->on_record(data, size);
}

void ProcessManager::update(uint64_t now_ns, uint64_t tick_ns) {
  std::unordered_map<pid_t, std::vector<std::pair<pid_t, lp_thread>>> by_pid;
  for (auto& entry : context_.session.threads_polled(now_ns, tick_ns))
    by_pid[static_cast<pid_t>(entry.second.pid)].push_back(entry);
  for (auto& [pid, process] : processes_) process->update(by_pid[pid], now_ns);
}

void ProcessManager::update_metrics() {
  std::unordered_map<pid_t, std::vector<std::pair<pid_t, lp_thread>>> loops;
  for (auto& entry : context_.session.threads())
    loops[static_cast<pid_t>(entry.second.pid)].push_back(entry);
  std::unordered_map<pid_t, std::vector<std::pair<pid_t, lp_task_stats>>> tasks;
  for (auto& entry : context_.session.task_stats())
    tasks[static_cast<pid_t>(entry.second.pid)].push_back(entry);
  for (auto& [pid, process] : processes_) process->update_metrics(loops[pid], tasks[pid]);
}

void ProcessManager::maintain(std::chrono::steady_clock::time_point now) {
  std::vector<std::pair<pid_t, const char*>> gone;
  for (auto& [pid, process] : processes_) {
    WatchedProcess::Liveness liveness = process->check();
    if (liveness != WatchedProcess::Liveness::same)
      gone.emplace_back(
          pid, liveness == WatchedProcess::Liveness::exited ? "exited" : "executed a new program");
  }
  for (auto [pid, why] : gone) {
    drop(pid, why);
    // A --pid target that executed another program is the same process: watch it anew.
    if (selector_.pids_only() && std::string_view(why) != "exited") add(pid);
  }
  std::erase_if(departed_, [&](const Departed& d) { return now - d.at >= limits_.grace; });
  // Rejections of processes that are gone are forgotten (bounded memory).
  if (rejected_.size() > 4096) rejected_.clear();
}

std::vector<const ProcessMetrics*> ProcessManager::metrics() const {
  std::vector<const ProcessMetrics*> out;
  for (const auto& [pid, process] : processes_) out.push_back(&process->metrics());
  for (const Departed& d : departed_) out.push_back(&d.metrics);
  return out;
}

}  // namespace loopprof::agent
