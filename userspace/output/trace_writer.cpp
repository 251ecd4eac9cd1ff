// Chrome Trace Event JSON (Perfetto, chrome://tracing): one track per loop
// thread, each stall a complete ("X") event with its cause and culprit.
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "output/format_writers.hpp"

namespace loopprof {

namespace {

double us(uint64_t ns) {
  return static_cast<double>(ns) / 1000.0;
}

double ms(uint64_t ns) {
  return static_cast<double>(ns / 1000) / 1000.0;
}

nlohmann::json breakdown_ms(const Breakdown& b) {
  return {{"on_cpu", ms(b.on_cpu_ns)}, {"runqueue", ms(b.runqueue_ns)}, {"lock", ms(b.lock_ns)},
          {"gil", ms(b.gil_ns)},       {"sleep", ms(b.sleep_ns)},       {"io", ms(b.io_ns)},
          {"other", ms(b.other_ns)}};
}

}  // namespace

std::string encode_trace(std::span<const Stall> stalls, const Summary& summary) {
  nlohmann::json events = nlohmann::json::array();
  events.push_back({{"name", "process_name"},
                    {"ph", "M"},
                    {"pid", summary.pid},
                    {"tid", 0},
                    {"args", {{"name", fmt::format("{} (loopprof)", summary.command)}}}});
  std::map<pid_t, std::pair<pid_t, std::string>> threads;  // tid -> (pid, name)
  for (const Stall& stall : stalls) threads.try_emplace(stall.tid, stall.pid, stall.thread);
  for (const auto& [tid, thread] : threads)
    events.push_back({{"name", "thread_name"},
                      {"ph", "M"},
                      {"pid", thread.first},
                      {"tid", tid},
                      {"args", {{"name", fmt::format("{} (tid {})", thread.second, tid)}}}});
  for (const Stall& stall : stalls) {
    std::string culprit = stall_culprit(stall);
    nlohmann::json args = {{"cause", main_cause(stall.breakdown)},
                           {"culprit", culprit},
                           {"why", why_text(stall)},
                           {"duration_ms", ms(stall.duration_ns)},
                           {"breakdown_ms", breakdown_ms(stall.breakdown)},
                           {"seq", stall.seq}};
    if (!stall.wakers.empty()) args["waker"] = waker_text(stall.wakers.front());
    if (stall.at_exit) args["still_blocked_at_exit"] = true;
    events.push_back({{"name", culprit.empty() ? std::string("stall") : "stall in " + culprit},
                      {"cat", fmt::format("stall,{}", main_cause(stall.breakdown))},
                      {"ph", "X"},
                      {"ts", us(stall.start_ns)},
                      {"dur", us(stall.duration_ns)},
                      {"pid", stall.pid},
                      {"tid", stall.tid},
                      {"args", std::move(args)}});
  }
  nlohmann::json trace = {{"traceEvents", std::move(events)},
                          {"displayTimeUnit", "ms"},
                          {"otherData",
                           {{"tool", "loopprof"},
                            {"pid", std::to_string(summary.pid)},
                            {"command", summary.command},
                            {"threshold_ms", fmt::format("{}", summary.threshold_ns / 1e6)},
                            {"stalls", std::to_string(stalls.size())},
                            {"clock", "CLOCK_MONOTONIC, microseconds"}}}};
  return trace.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace loopprof
