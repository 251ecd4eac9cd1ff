// End-to-end: Python-aware stacks. py_frames_app.py stalls its asyncio loop in
// Handler.get -> hidden_call -> time.sleep (off-CPU) and in Handler.compute
// -> burn_cpu (on-CPU), on every CPython of the machine (pyenv 3.8+ and
// /usr/bin/python3); the stall of each must name the culprit function and
// line, in the JSONL events and in the folded output. Needs root.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include "harness.hpp"
#include "scenario.hpp"
#include "stall_match.hpp"

namespace loopprof::test {
namespace {

struct PythonUnderTest {
  std::string label;
  std::string executable;
};

void PrintTo(const PythonUnderTest& p, std::ostream* os) {
  *os << p.label;
}

// Every pyenv CPython 3.8+ and the system one.
std::vector<PythonUnderTest> pythons_under_test() {
  std::vector<PythonUnderTest> out;
  const char* root = std::getenv("PYENV_ROOT");
  const char* home = std::getenv("HOME");
  std::filesystem::path versions =
      root ? std::filesystem::path(root) / "versions"
           : std::filesystem::path(home ? home : "/root") / ".pyenv/versions";
  std::error_code ec;
  static const std::regex cpython(R"(3\.(\d+)\.\d+)");
  for (const auto& entry : std::filesystem::directory_iterator(versions, ec)) {
    std::smatch m;
    std::string name = entry.path().filename().string();
    if (!std::regex_match(name, m, cpython) || std::stoi(m[1]) < 8) continue;
    auto exe = entry.path() / "bin/python3";
    if (std::filesystem::exists(exe)) out.push_back({"pyenv_" + name, exe.string()});
  }
  if (std::filesystem::exists("/usr/bin/python3")) out.push_back({"system", "/usr/bin/python3"});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.label < b.label; });
  for (auto& p : out)
    for (char& c : p.label)
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return out;
}

// Line of the "# culprit:KIND" marker in the fixture; 0 (and a failure
// saying why) if there is none.
int culprit_line(const std::string& kind) {
  const std::string path = fixture_source("py_frames_app.py");
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path << ": " << std::strerror(errno);
    return 0;
  }
  std::string line;
  for (int n = 1; std::getline(in, line); n++)
    if (line.find("# culprit:" + kind) != std::string::npos) return n;
  ADD_FAILURE() << "no \"# culprit:" << kind << "\" marker in " << path;
  return 0;
}

// "hidden_call (/path/py_frames_app.py:29)", whatever the path.
bool is_culprit_frame(const std::string& frame, const std::string& function, int line) {
  return frame.rfind(function + " (", 0) == 0 && frame.size() > 0 &&
         frame.ends_with(fmt::format("py_frames_app.py:{})", line));
}

// Index of the culprit frame in a stack, or -1.
int find_culprit(const std::vector<std::string>& frames, const std::string& function, int line) {
  for (size_t i = 0; i < frames.size(); i++)
    if (is_culprit_frame(frames[i], function, line)) return static_cast<int>(i);
  return -1;
}

std::vector<std::string> json_frames(const nlohmann::json& stack) {
  std::vector<std::string> out;
  for (const auto& f : stack.at("frames")) out.push_back(f.get<std::string>());
  return out;
}

class PythonFrames : public ::testing::TestWithParam<PythonUnderTest> {};

TEST_P(PythonFrames, StallStacksNameThePythonCulpritAndLine) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const int sleep_line = culprit_line("sleep");
  const int cpu_line = culprit_line("cpu");
  ASSERT_GT(sleep_line, 0);
  ASSERT_GT(cpu_line, 0);

  ScenarioSpec spec;
  spec.fixture_argv = {GetParam().executable, fixture_source("py_frames_app.py"), "2"};
  ScenarioResult run = run_scenario(spec);
  ASSERT_EQ(run.fixture_exit, 0) << run.diagnostics;
  ASSERT_EQ(run.loopprof_exit, 0) << run.diagnostics;
  ASSERT_EQ(run.events_error, "") << run.diagnostics;
  ASSERT_EQ(run.folded_error, "") << run.diagnostics;

  auto stalls = stall_events(run.events, /*ongoing=*/false);
  struct Culprit {
    std::string kind, function, caller;
    int line;
  };
  // <= 3.10 has no co_qualname: the caller is "get", not "Handler.get".
  const std::vector<Culprit> culprits = {{"sleep", "hidden_call", "get", sleep_line},
                                         {"cpu", "burn_cpu", "compute", cpu_line}};
  for (const Culprit& c : culprits) {
    auto injections = run.injections_of(c.kind);
    ASSERT_FALSE(injections.empty()) << c.kind << "\n" << run.diagnostics;
    for (const Injection& injection : injections) {
      const nlohmann::json* stall = stall_for(stalls, injection);
      ASSERT_NE(stall, nullptr) << "no stall for " << injection.step() << "\n" << run.diagnostics;
      bool found = false;
      std::string seen;
      for (const auto& stack : stall->at("stacks")) {
        auto frames = json_frames(stack);
        int at = find_culprit(frames, c.function, c.line);
        seen += fmt::format("  {}\n", fmt::join(frames, ";"));
        if (at <= 0) continue;
        // Root to leaf: the coroutine that called it sits right above.
        const std::string& caller = frames[at - 1];
        EXPECT_TRUE(caller.rfind(c.caller + " (", 0) == 0 ||
                    caller.rfind("Handler." + c.caller + " (", 0) == 0)
            << caller;
        if (c.kind == "sleep" && stack.value("state", "") == "off_cpu") {
          // Native and kernel frames of time.sleep stay below the Python leaf.
          // (A CPU sample may land in the culprit's own bytecode, on its way
          // to the call: its stack ends at the Python frame.)
          EXPECT_LT(static_cast<size_t>(at) + 1, frames.size())
              << fmt::format("{}", fmt::join(frames, ";"));
          // The stack the sleep was spent in ends in the kernel; a short
          // preemption on the way into or out of the syscall legitimately
          // ends in user space.
          if (stack.value("weight_us", 0.0) * 2 >= stall->at("duration_ms").get<double>() * 1000)
            EXPECT_TRUE(frames.back().ends_with("_[k]")) << frames.back();
        }
        found = true;
      }
      EXPECT_TRUE(found) << GetParam().label << ": no stack of the " << injection.step()
                         << " stall has " << c.function << " at line " << c.line << "; stacks:\n"
                         << seen;
    }
    bool in_folded = false;
    for (const FoldedStack& s : run.folded)
      in_folded = in_folded || find_culprit(s.frames, c.function, c.line) >= 0;
    EXPECT_TRUE(in_folded) << c.function << ":" << c.line << " not in the folded output";
  }
}

INSTANTIATE_TEST_SUITE_P(Interpreters, PythonFrames, ::testing::ValuesIn(pythons_under_test()),
                         [](const auto& info) { return info.param.label; });

}  // namespace
}  // namespace loopprof::test
