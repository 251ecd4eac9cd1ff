#include "model/stall.hpp"

#include <fmt/format.h>

#include <utility>

namespace loopprof {

const char* cpu_state_name(CpuState state) {
  return state == CpuState::on_cpu ? "on_cpu" : "off_cpu";
}

const char* main_cause(const Breakdown& b) {
  const std::pair<uint64_t, const char*> parts[] = {
      {b.on_cpu_ns, "on_cpu"}, {b.runqueue_ns, "runqueue"}, {b.lock_ns, "lock"},
      {b.gil_ns, "gil"},       {b.sleep_ns, "sleep"},       {b.io_ns, "io"},
      {b.other_ns, "other"}};
  const std::pair<uint64_t, const char*>* best = &parts[0];
  for (const auto& part : parts)
    if (part.first > best->first) best = &part;
  return best->second;
}

std::string task_text(const TaskInfo& task) {
  std::string out = task.name.empty() ? "Task" : fmt::format("Task \"{}\"", task.name);
  std::string details = task.coroutine;
  if (!task.awaited_by.empty()) {
    // Innermost first here ("awaited by main <- Task-1": main is awaited by
    // Task-1); the list itself is outermost first.
    std::string chain;
    for (auto it = task.awaited_by.rbegin(); it != task.awaited_by.rend(); ++it)
      chain += (chain.empty() ? "" : " <- ") + *it;
    details += (details.empty() ? "" : ", ") + ("awaited by " + chain);
  }
  return details.empty() ? out : fmt::format("{} ({})", out, details);
}

}  // namespace loopprof
