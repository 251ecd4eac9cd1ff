#include "app/dump_command.hpp"

#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/command_support.hpp"
#include "app/exit_code.hpp"
#include "bpf/features.hpp"
#include "target/live_threads.hpp"
#include "target/target_process.hpp"

namespace loopprof {

namespace {

double ms(uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

std::string duration_text(uint64_t ns) {
  if (ns >= 1'000'000'000ull) return fmt::format("{:.1f} s", ns / 1e9);
  return fmt::format("{:.1f} ms", ms(ns));
}

std::string loop_text(const LiveThread& t) {
  if (t.loop.empty() && t.wait_family == LP_WAIT_NONE) return "";
  std::string kind = t.loop.empty() ? "poll" : t.loop;
  return fmt::format("  [{} loop, {}]", kind, t.in_loop_wait ? "idle in its wait" : "busy");
}

std::string state_text(const LiveThread& t, const LiveProcess& p) {
  std::string text = t.state;
  if (t.state == "blocked") {
    std::string on = t.waiting_on(p.threads);
    if (!on.empty()) text += " in " + on;
  }
  if (t.in_state_ns) text += fmt::format(" for at least {}", duration_text(t.in_state_ns));
  if (t.state == "running") text += " (stack as of its last kernel entry, at most a tick old)";
  return text;
}

void print_text(const LiveProcess& p, const std::string& command, const std::string& python,
                double total_ms) {
  fmt::print(
      "Process {} ({}){}: {} threads (snapshot {:.1f} ms, total {:.1f} ms; the process was "
      "not stopped)\n",
      p.pid, command, python.empty() ? "" : ", " + python, p.threads.size(), p.snapshot_ms,
      total_ms);
  if (!python.empty())
    fmt::print("GIL: {}\n", p.gil_holder ? "held by " + p.describe(p.gil_holder) +
                                               " (the only Python thread on a CPU)"
                                         : std::string("no Python thread is on a CPU"));
  for (const auto& cycle : p.deadlocks) fmt::print("DEADLOCK: {}\n", p.deadlock_of(cycle.front()));
  for (const LiveThread& t : p.threads) {
    fmt::print("\nThread {} \"{}\"{}: {}\n", t.tid, t.name, loop_text(t), state_text(t, p));
    std::string deadlock = p.deadlock_of(t.tid);
    if (!deadlock.empty()) fmt::print("    DEADLOCK: {}\n", deadlock);
    if (t.task) fmt::print("    running {}\n", task_text(*t.task));
    for (auto it = t.frames.rbegin(); it != t.frames.rend(); ++it)
      fmt::print("    {}\n", frame_label(*it));
  }
}

nlohmann::json to_json(const LiveProcess& p, const std::string& command, const std::string& python,
                       double total_ms) {
  nlohmann::json threads = nlohmann::json::array();
  for (const LiveThread& t : p.threads) {
    nlohmann::json frames = nlohmann::json::array();
    for (const Frame& f : t.frames) frames.push_back(frame_label(f));
    nlohmann::json j{{"tid", t.tid},
                     {"thread", t.name},
                     {"comm", t.comm},
                     {"state", t.state},
                     {"in_state_ms", ms(t.in_state_ns)},
                     {"loop", t.loop},
                     {"in_loop_wait", t.in_loop_wait},
                     {"python", t.python},
                     {"frames", frames}};
    if (t.task)
      j["task"] = {{"name", t.task->name},
                   {"coroutine", t.task->coroutine},
                   {"awaited_by", t.task->awaited_by}};
    if (t.state == "blocked") {
      j["syscall"] = t.syscall_nr >= 0 ? nlohmann::json(t.syscall) : nlohmann::json(nullptr);
      j["waiting_on"] = t.waiting_on(p.threads);
      if (t.fd >= 0) {
        j["fd"] = t.fd;
        j["fd_name"] = t.fd_name;
      }
      if (t.futex) {
        j["futex"] = fmt::format("0x{:x}", t.futex);
        j["lock_kind"] = t.lock_kind;
        j["lock_holder"] = t.lock_holder ? nlohmann::json(t.lock_holder) : nlohmann::json(nullptr);
      }
    }
    std::string deadlock = p.deadlock_of(t.tid);
    if (!deadlock.empty()) j["deadlock"] = deadlock;
    threads.push_back(std::move(j));
  }
  nlohmann::json deadlocks = nlohmann::json::array();
  for (const auto& cycle : p.deadlocks)
    deadlocks.push_back({{"tids", cycle}, {"text", p.deadlock_of(cycle.front())}});
  return {{"pid", p.pid},
          {"command", command},
          {"python", python},
          {"gil_holder", p.gil_holder ? nlohmann::json(p.gil_holder) : nlohmann::json(nullptr)},
          {"deadlocks", deadlocks},
          {"snapshot_ms", p.snapshot_ms},
          {"total_ms", total_ms},
          {"threads", threads}};
}

}  // namespace

int run_dump(const DumpOptions& options) {
  auto started = std::chrono::steady_clock::now();
  route_libbpf_messages(options.verbose);
  auto target = TargetProcess::open(options.pid);
  if (!target) return fail(target.error());
  if (auto privileges = check_privileges(); !privileges) return fail(privileges.error());
  auto inspector = ThreadInspector::open(options.pid);
  if (!inspector) return fail(inspector.error());
  auto process = (*inspector)->inspect();
  if (!process) return fail(process.error());
  double total_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  std::string python = (*inspector)->python() ? (*inspector)->python()->description() : "";
  if (options.json)
    fmt::print("{}\n", to_json(process.value(), target->command(), python, total_ms).dump());
  else
    print_text(process.value(), target->command(), python, total_ms);
  return kExitOk;
}

}  // namespace loopprof
