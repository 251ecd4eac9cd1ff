// One profiled run of a stalling fixture (stall_app.py or epoll_loop): start
// the fixture, attach loopprof, say "go", let the fixture finish, collect
// everything both printed and wrote. Parsing problems are recorded, not
// thrown, so each test asserts on the part it is about.
#pragma once

#include <sys/types.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "output_files.hpp"
#include "process.hpp"

namespace loopprof::test {

// What the fixture says it did: "begin LOOP KIND:MS NS" ... "end LOOP KIND:MS NS CPU_NS".
struct Injection {
  std::string loop;
  std::string kind;
  double ms = 0;          // requested
  uint64_t begin_ns = 0;  // CLOCK_MONOTONIC, as bpf_ktime_get_ns
  uint64_t end_ns = 0;
  uint64_t after_ns = 0;           // from the next loop iteration: after the busy period ended
  uint64_t cpu_ns = 0;             // CPU time the loop thread got meanwhile (less than the
                                   // wall time of a CPU burn when the machine is loaded)
  Clock::time_point end_received;  // when the harness read the "end" line
  double measured_ms() const { return (end_ns - begin_ns) / 1e6; }
  double cpu_ms() const { return cpu_ns / 1e6; }
  // From "begin" to the next loop iteration: the busy period is at most this
  // (plus the moment between the loop's wake-up and "begin").
  double window_ms() const { return after_ns > begin_ns ? (after_ns - begin_ns) / 1e6 : 0; }
  std::string step() const;  // "kind:ms"
};

struct ScenarioSpec {
  std::vector<std::string> fixture_argv;  // full command, e.g. {python, stall_app.py, steps...}
  std::vector<std::string> loopprof_args = {"-t", "100"};  // besides -p, -o, --events
  milliseconds fixture_timeout = milliseconds(30000);
  std::string keep_events_as;  // if set, the events file is copied there
  std::string keep_folded_as;  // if set, the folded file (-o) is copied there
};

struct ScenarioResult {
  pid_t pid = -1;
  std::map<std::string, pid_t> loop_tids;     // loop name -> tid ("loop NAME TID")
  std::map<pid_t, std::string> thread_names;  // tid -> comm, read while running
  std::vector<Injection> injections;
  std::optional<int> fixture_exit;
  std::optional<int> loopprof_exit;
  std::optional<milliseconds> loopprof_exit_lag;  // loopprof exit - fixture exit
  std::vector<nlohmann::json> events;
  std::string events_error;  // non-empty if the JSONL file is missing or invalid
  std::vector<FoldedStack> folded;
  std::string folded_error;
  std::vector<OutputLine> loopprof_stdout;
  std::string diagnostics;  // both processes' output, for failure messages

  std::vector<Injection> injections_of(const std::string& kind) const;
};

// Throws std::runtime_error if the fixture does not start or loopprof does
// not attach; everything after that is recorded in the result.
ScenarioResult run_scenario(const ScenarioSpec& spec);

}  // namespace loopprof::test
