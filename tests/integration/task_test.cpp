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

// Which of the fixture's blocking functions the stall ran: the first one
// found in its stacks, heaviest first (under load the heaviest stack may be
// a run-queue wait with no frames).
std::string blocking_function(const nlohmann::json& stall) {
  static const std::vector<std::string> fixture = {"sync_accounts", "plain_callback", "handlers",
                                                   "render_report"};
  for (const auto& stack : stall.at("stacks"))
    for (const auto& f : stack.at("frames"))
      for (const auto& name : fixture)
        if (f.get<std::string>().rfind(name + " (", 0) == 0) return name;
  return {};
}

class TaskTest : public ::testing::TestWithParam<PythonInterpreter> {};

TEST_P(TaskTest, StallsNameTheirTaskCoroutineAndAwaitChainAndACulpritUsersRecognise) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  TaskRun run = run_task_app(GetParam().executable);
  // Every stall of the fixture names the task it ran in, whichever step of
  // the task it was (the first, run by the Task's step wrapper, or a later
  // one, run by its wake-up callable), and a plain callback names none.
  int billing = 0, plain = 0, handlers = 0;
  for (const auto& stall : run.stalls) {
    std::string function = blocking_function(stall);
    nlohmann::json brief = stall;
    brief.erase("stacks");
    SCOPED_TRACE("stall in " + function + ": " + brief.dump());
    if (function == "plain_callback") {
      plain++;
      EXPECT_FALSE(stall.contains("task")) << "a plain callback runs in no task";
      continue;
    }
    std::string task, coroutine;
    if (function == "sync_accounts") {
      billing++;
      task = "billing-sync";
      coroutine = "sync_accounts";
    } else if (function == "handlers" || function == "render_report") {
      handlers++;
      task = "handlers";
      coroutine = "handlers";
    } else {
      ADD_FAILURE() << "a stall the fixture does not cause\n" << run.diagnostics;
      continue;
    }
    EXPECT_TRUE(stall.contains("task")) << run.diagnostics;
    if (!stall.contains("task")) continue;
    EXPECT_EQ(stall["task"]["name"], task);
    EXPECT_EQ(stall["task"]["coroutine"], coroutine);
    EXPECT_EQ(stall["task"]["awaited_by"], nlohmann::json::array({"Task-1", "main"}))
        << "outermost first";
  }
  EXPECT_EQ(billing, 4) << "2 cycles x 2 blocking steps\n" << run.diagnostics;
  EXPECT_EQ(plain, 2) << run.diagnostics;
  EXPECT_EQ(handlers, 4) << "2 cycles x (subprocess.run, json.dumps)\n" << run.diagnostics;
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
