// End-to-end: the asyncio Task behind each stall, and the culprit line.
// task_app.py runs a task "billing-sync" (coroutine sync_accounts) awaited by
// the task "main" (itself awaited by asyncio.run's Task-1), whose steps block
// the loop; a plain call_soon callback that blocks (no task); and handlers
// blocking in subprocess.run and json.dumps. On every CPython of the machine
// (test_pythons(), plus each pyenv 3.8+), the C _asyncio Task. Needs root.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "harness.hpp"
#include "loopprof_runner.hpp"
#include "temp_dir.hpp"

namespace loopprof::test {
namespace {

std::vector<PythonInterpreter> every_python() {
  std::vector<PythonInterpreter> out = test_pythons();
  const char* home = std::getenv("HOME");
  std::filesystem::path versions = std::filesystem::path(home ? home : "/root") / ".pyenv/versions";
  std::error_code ec;
  static const std::regex cpython(R"(3\.(\d+)\.\d+)");
  std::vector<std::filesystem::path> seen;
  for (const auto& p : out) seen.push_back(std::filesystem::canonical(p.executable, ec));
  for (const auto& entry : std::filesystem::directory_iterator(versions, ec)) {
    std::smatch m;
    std::string name = entry.path().filename().string();
    if (!std::regex_match(name, m, cpython) || std::stoi(m[1]) < 8) continue;
    auto exe = std::filesystem::canonical(entry.path() / "bin/python3", ec);
    if (ec || std::find(seen.begin(), seen.end(), exe) != seen.end()) continue;
    seen.push_back(exe);
    out.push_back({exe.string(), name, false});
  }
  return out;
}

struct TaskRun {
  std::vector<nlohmann::json> stalls;
  std::string report;  // loopprof's stdout
  std::string diagnostics;
};

TaskRun run_task_app(const std::string& python) {
  TaskRun run;
  TempDir dir;
  std::string events = dir.file("events.jsonl");
  Process app = Process::spawn({{python, fixture_source("task_app.py"), "0.25", "2"}, {}, true});
  if (!app.wait_for_line(Stream::kStdout, "ready", milliseconds(10000)))
    throw std::runtime_error("task_app.py did not start\n" + app.describe());
  Process loopprof = run_loopprof(app.pid(), {"--events", events, "-t", "100"});
  app.write_stdin("go\n");
  bool done = app.wait_for_line(Stream::kStdout, "done", milliseconds(30000)).has_value();
  auto app_exit = app.wait_exit(milliseconds(10000));
  auto exit = loopprof.wait_exit(milliseconds(20000));
  run.report = loopprof.text(Stream::kStdout);
  run.diagnostics = app.describe() + "\n" + loopprof.describe();
  if (!done || app_exit != 0 || exit != 0)
    throw std::runtime_error("the run did not complete\n" + run.diagnostics);
  std::ifstream in(events);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.at("event") == "stall" && !j.at("ongoing").get<bool>()) run.stalls.push_back(j);
  }
  return run;
}

// Does the heaviest stack of the stall run `function` (a Python frame)?
bool heaviest_runs(const nlohmann::json& stall, const std::string& function) {
  const auto& stacks = stall.at("stacks");
  if (stacks.empty()) return false;
  for (const auto& f : stacks[0].at("frames"))
    if (f.get<std::string>().rfind(function + " (", 0) == 0) return true;
  return false;
}

class TaskTest : public ::testing::TestWithParam<PythonInterpreter> {};

TEST_P(TaskTest, StallsNameTheirTaskCoroutineAndAwaitChainAndACulpritUsersRecognise) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  TaskRun run = run_task_app(GetParam().executable);
  int billing = 0, plain = 0;
  for (const auto& stall : run.stalls) {
    if (heaviest_runs(stall, "sync_accounts")) {
      billing++;
      EXPECT_TRUE(stall.contains("task")) << stall.dump() << "\n" << run.diagnostics;
      if (!stall.contains("task")) continue;
      EXPECT_EQ(stall["task"]["name"], "billing-sync");
      EXPECT_EQ(stall["task"]["coroutine"], "sync_accounts");
      EXPECT_EQ(stall["task"]["awaited_by"], nlohmann::json::array({"Task-1", "main"}))
          << "outermost first";
    } else if (heaviest_runs(stall, "plain_callback")) {
      plain++;
      EXPECT_FALSE(stall.contains("task")) << "a plain callback runs in no task: " << stall.dump();
    } else if (heaviest_runs(stall, "handlers") || heaviest_runs(stall, "render_report")) {
      EXPECT_TRUE(stall.contains("task")) << stall.dump();
      if (stall.contains("task")) EXPECT_EQ(stall["task"]["name"], "handlers");
    }
  }
  EXPECT_EQ(billing, 4) << "2 cycles x 2 blocking steps\n" << run.diagnostics;
  EXPECT_EQ(plain, 2) << run.diagnostics;
  // The culprit names the application frame and the library call beneath it.
  EXPECT_TRUE(std::regex_search(
      run.report, std::regex(R"(in handlers \([^)]*task_app\.py:\d+\) -> subprocess\.run -> )")))
      << run.report;
  EXPECT_TRUE(std::regex_search(
      run.report, std::regex(R"(in render_report \([^)]*task_app\.py:\d+\) -> json\.dumps -> )")))
      << run.report;
  EXPECT_NE(run.report.find(R"(in Task "billing-sync" (sync_accounts, awaited by main <- Task-1))"),
            std::string::npos)
      << run.report;
  EXPECT_NE(run.report.find("tasks ("), std::string::npos) << run.report;
}

INSTANTIATE_TEST_SUITE_P(Pythons, TaskTest, ::testing::ValuesIn(every_python()),
                         [](const auto& info) {
                           std::string name =
                               "python" + info.param.version + "_" + std::to_string(info.index);
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace
}  // namespace loopprof::test
