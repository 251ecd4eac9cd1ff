#include "scenario.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "loopprof_runner.hpp"
#include "temp_dir.hpp"

namespace loopprof::test {

std::string Injection::step() const {
  return fmt::format("{}:{}", kind, ms);
}

std::vector<Injection> ScenarioResult::injections_of(const std::string& kind) const {
  std::vector<Injection> out;
  for (const auto& i : injections) {
    if (i.kind == kind) out.push_back(i);
  }
  return out;
}

namespace {

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

// Pairs "begin" and "end" lines of the fixture into injections.
std::vector<Injection> parse_injections(const std::vector<OutputLine>& lines) {
  std::vector<Injection> done;
  std::map<std::string, Injection> open;  // loop -> begun step
  for (const auto& line : lines) {
    auto w = words(line.text);
    if (w.size() < 4 || (w[0] != "begin" && w[0] != "end" && w[0] != "after")) continue;
    size_t colon = w[2].find(':');
    if (colon == std::string::npos) continue;
    uint64_t ns = std::stoull(w[3]);
    if (w[0] == "after") {
      for (auto it = done.rbegin(); it != done.rend(); ++it) {
        if (it->loop == w[1] && it->step() == w[2] && it->after_ns == 0) {
          it->after_ns = ns;
          break;
        }
      }
    } else if (w[0] == "begin") {
      Injection i;
      i.loop = w[1];
      i.kind = w[2].substr(0, colon);
      i.ms = std::stod(w[2].substr(colon + 1));
      i.begin_ns = ns;
      open[w[1]] = i;
    } else if (auto it = open.find(w[1]); it != open.end()) {
      it->second.end_ns = ns;
      it->second.cpu_ns = w.size() > 4 ? std::stoull(w[4]) : 0;
      it->second.end_received = line.received;
      done.push_back(it->second);
      open.erase(it);
    }
  }
  return done;
}

std::string read_comm(pid_t pid, pid_t tid) {
  std::ifstream in(fmt::format("/proc/{}/task/{}/comm", pid, tid));
  std::string comm;
  std::getline(in, comm);
  return comm;
}

}  // namespace

ScenarioResult run_scenario(const ScenarioSpec& spec) {
  TempDir dir("loopprof-scenario");
  std::string folded_path = dir.file("stalls.folded");
  std::string events_path = dir.file("stalls.jsonl");
  ScenarioResult result;

  Process fixture = Process::spawn({spec.fixture_argv, {}, true});
  auto ready = fixture.wait_for_line(Stream::kStdout, "ready ", milliseconds(15000));
  if (!ready) {
    fixture.wait_exit(milliseconds(100));
    throw std::runtime_error("fixture did not get ready\n" + fixture.describe());
  }
  result.pid = fixture.pid();
  for (const auto& line : fixture.lines(Stream::kStdout)) {
    auto w = words(line.text);
    // "loop NAME TID [THREAD-NAME]": stalls name the thread as the program
    // does where it says (Python's threading names), else by its comm.
    if ((w.size() == 3 || w.size() == 4) && w[0] == "loop") {
      pid_t tid = std::stoi(w[2]);
      result.loop_tids[w[1]] = tid;
      result.thread_names[tid] = w.size() == 4 ? w[3] : read_comm(result.pid, tid);
    }
  }

  std::vector<std::string> args = spec.loopprof_args;
  args.insert(args.end(), {"-o", folded_path, "--events", events_path});
  Process loopprof = run_loopprof(fixture.pid(), args);
  fixture.write_stdin("go\n");

  result.fixture_exit = fixture.wait_exit(spec.fixture_timeout);
  auto fixture_gone = Clock::now();
  result.loopprof_exit = loopprof.wait_exit(milliseconds(15000));
  if (result.loopprof_exit) {
    result.loopprof_exit_lag =
        std::chrono::duration_cast<milliseconds>(Clock::now() - fixture_gone);
  }
  result.injections = parse_injections(fixture.lines(Stream::kStdout));
  result.loopprof_stdout = loopprof.lines(Stream::kStdout);
  result.diagnostics = "fixture: " + fixture.describe() + "\nloopprof: " + loopprof.describe();

  if (!spec.keep_events_as.empty()) {
    std::error_code missing;  // a missing file shows as events_error below
    std::filesystem::copy_file(events_path, spec.keep_events_as,
                               std::filesystem::copy_options::overwrite_existing, missing);
  }
  if (!spec.keep_folded_as.empty()) {
    std::error_code missing;  // a missing file shows as folded_error below
    std::filesystem::copy_file(folded_path, spec.keep_folded_as,
                               std::filesystem::copy_options::overwrite_existing, missing);
  }
  try {
    result.events = read_jsonl(events_path);
  } catch (const std::exception& e) {
    result.events_error = e.what();
  }
  try {
    result.folded = read_folded(folded_path);
  } catch (const std::exception& e) {
    result.folded_error = e.what();
  }
  return result;
}

}  // namespace loopprof::test
