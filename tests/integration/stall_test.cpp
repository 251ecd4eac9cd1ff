// End-to-end: loopprof attached to real event loops (asyncio on each Python,
// uvloop, a plain C epoll loop, a loop in a non-main thread) that stall in
// known ways. Each target runs its scenario once; the tests below each assert
// one property of that run. Needs root.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <future>
#include <iostream>
#include <map>
#include <memory>

#include "harness.hpp"
#include "scenario.hpp"
#include "stall_match.hpp"

namespace loopprof::test {
namespace {

// Kinds whose injections must be reported; the others must not be.
const std::vector<std::string> kStallKinds = {"sleep", "cpu", "select", "lock"};
const std::vector<std::string> kHealthyKinds = {"healthy", "block"};
const std::vector<std::string> kOnCpuKinds = {"cpu"};
const std::vector<std::string> kOffCpuKinds = {"sleep", "select", "lock"};

bool is_one_of(const std::string& kind, const std::vector<std::string>& kinds) {
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

struct LoopTarget {
  std::string label;  // test name suffix
  std::vector<std::string> argv;
  std::string loop;  // name of the loop that stalls ("main" or a thread's)
  std::map<std::string, std::string> culprits;  // kind -> function that blocks
};

const std::map<std::string, std::string> kPythonCulprits = {{"sleep", "run_step"},
                                                            {"cpu", "burn_cpu"},
                                                            {"select", "select_on_silent_pipe"},
                                                            {"lock", "wait_on_held_lock"}};
const std::map<std::string, std::string> kNativeCulprits = {{"sleep", "stall_in_nanosleep"},
                                                            {"cpu", "stall_burning_cpu"}};

void PrintTo(const LoopTarget& t, std::ostream* os) {
  *os << t.label;
}

std::string sanitize(std::string s) {
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

std::vector<LoopTarget> loop_targets() {
  const std::vector<std::string> py_steps = {"sleep:300", "cpu:250",      "select:200",
                                             "lock:300",  "healthy:1000", "block:40"};
  const std::vector<std::string> c_steps = {"sleep:300", "cpu:250", "healthy:1000", "block:40"};
  auto with = [](std::vector<std::string> head, const std::vector<std::string>& tail) {
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
  };
  std::vector<LoopTarget> targets;
  auto pythons = test_pythons();
  for (size_t i = 0; i < pythons.size(); ++i) {
    const auto& py = pythons[i];
    std::string name = sanitize("python" + py.version);
    for (size_t j = 0; j < i; ++j) {
      if (pythons[j].version == py.version) name += fmt::format("_{}", i);
    }
    std::string app = fixture_source("stall_app.py");
    targets.push_back({name + "_asyncio", with({py.executable, app}, py_steps), "main"});
    if (py.has_uvloop) {
      targets.push_back(
          {name + "_uvloop", with({py.executable, app, "--uvloop"}, py_steps), "main"});
    }
    if (i == 0) {
      targets.push_back({name + "_worker_thread",
                         with({py.executable, app, "thread:worker"}, py_steps), "worker"});
    }
  }
  std::string c_loop = fixture_binary("epoll_loop");
  targets.push_back({"c_epoll", with({c_loop}, c_steps), "main", kNativeCulprits});
  targets.push_back({"c_epoll_thread", with({c_loop, "--thread", "native-loop"}, c_steps),
                     "native-loop", kNativeCulprits});
  return targets;
}

// One run per target, shared by the tests of that target. All targets run on
// first use, a few at a time (results are compared with what each fixture
// measured itself, so sharing the CPU does not change the verdicts).
struct CachedRun {
  std::unique_ptr<ScenarioResult> result;
  std::string error;
};

constexpr size_t kParallelRuns = 3;

CachedRun run_target(const LoopTarget& target) {
  CachedRun run;
  try {
    run.result = std::make_unique<ScenarioResult>(run_scenario({target.argv}));
  } catch (const std::exception& e) {
    run.error = e.what();
  }
  return run;
}

const CachedRun& run_of(const LoopTarget& target) {
  static const std::map<std::string, CachedRun> runs = [] {
    std::map<std::string, CachedRun> all;
    auto targets = loop_targets();
    for (size_t first = 0; first < targets.size(); first += kParallelRuns) {
      std::vector<std::pair<std::string, std::future<CachedRun>>> batch;
      for (size_t i = first; i < std::min(first + kParallelRuns, targets.size()); ++i) {
        batch.emplace_back(targets[i].label,
                           std::async(std::launch::async, run_target, targets[i]));
      }
      for (auto& [label, run] : batch) all.emplace(label, run.get());
    }
    return all;
  }();
  return runs.at(target.label);
}

class LoopStallTest : public ::testing::TestWithParam<LoopTarget> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    const CachedRun& run = run_of(GetParam());
    ASSERT_TRUE(run.result) << run.error;
    r_ = run.result.get();
    ASSERT_TRUE(r_->loop_tids.count(GetParam().loop)) << r_->diagnostics;
    tid_ = r_->loop_tids.at(GetParam().loop);
    ASSERT_TRUE(r_->events_error.empty()) << r_->events_error << "\n" << r_->diagnostics;
    finals_ = stall_events(r_->events, false, tid_);
  }

  const ScenarioResult* r_ = nullptr;
  pid_t tid_ = 0;
  std::vector<nlohmann::json> finals_;
};

TEST_P(LoopStallTest, FixtureRanItsScenario) {
  EXPECT_EQ(r_->fixture_exit, 0) << r_->diagnostics;
  size_t expected_steps = GetParam().argv.size();
  for (const auto& a : GetParam().argv) {
    if (a.find(':') == std::string::npos || a.rfind("thread:", 0) == 0) --expected_steps;
  }
  EXPECT_EQ(r_->injections.size(), expected_steps) << r_->diagnostics;
}

TEST_P(LoopStallTest, LoopprofExitsZeroWhenTheTargetExits) {
  ASSERT_TRUE(r_->loopprof_exit) << "loopprof still running 15 s after the target exited\n"
                                 << r_->diagnostics;
  EXPECT_EQ(*r_->loopprof_exit, 0) << r_->diagnostics;
  ASSERT_TRUE(r_->loopprof_exit_lag);
  EXPECT_LT(r_->loopprof_exit_lag->count(), 3000) << r_->diagnostics;
}

TEST_P(LoopStallTest, EventsFileIsValidAndEveryStallIsWellFormed) {
  size_t stalls = 0;
  for (const auto& e : r_->events) {
    ASSERT_TRUE(e.contains("event")) << e.dump();
    if (e["event"] != "stall") continue;
    ++stalls;
    EXPECT_EQ(stall_schema_error(e), "") << e.dump();
    EXPECT_EQ(e.value("pid", -1), r_->pid) << e.dump();
  }
  EXPECT_GT(stalls, 0u) << r_->diagnostics;
}

TEST_P(LoopStallTest, EveryInjectedStallIsReportedWithItsDuration) {
  for (const auto& inj : r_->injections) {
    if (!is_one_of(inj.kind, kStallKinds)) continue;
    const nlohmann::json* stall = stall_for(finals_, inj);
    ASSERT_TRUE(stall) << "no stall reported on tid " << tid_ << " for " << inj.step() << "\n"
                       << r_->diagnostics;
    double ms = (*stall)["duration_ms"].get<double>();
    std::cout << fmt::format(
        "figure: target={} kind={} injected_ms={} fixture_measured_ms={:.1f} "
        "fixture_window_ms={:.1f} fixture_cpu_ms={:.1f} loopprof_ms={:.1f} on_cpu_ms={:.1f} "
        "off_cpu_ms={:.1f}\n",
        GetParam().label, inj.kind, inj.ms, inj.measured_ms(), inj.window_ms(), inj.cpu_ms(), ms,
        (*stall)["on_cpu_ms"].get<double>(), (*stall)["off_cpu_ms"].get<double>());
    EXPECT_EQ(stall_duration_error(ms, inj), "") << stall->dump();
    EXPECT_TRUE(duration_matches(ms, inj.ms) || !duration_matches(inj.window_ms(), inj.ms))
        << inj.step() << ": " << ms << " ms, though the fixture's window was " << inj.window_ms()
        << " ms";
    if (!duration_matches(inj.window_ms(), inj.ms)) {
      std::cout << fmt::format(
          "note: {} took {:.1f} ms up to the next iteration instead of {} "
          "(machine loaded?)\n",
          inj.step(), inj.window_ms(), inj.ms);
    }
    EXPECT_EQ(stall->value("thread", ""), r_->thread_names.at(tid_)) << stall->dump();
  }
}

TEST_P(LoopStallTest, NoStallForHealthyIterationsOrShortBlocks) {
  size_t injected = 0;
  for (const auto& inj : r_->injections) {
    if (is_one_of(inj.kind, kStallKinds)) ++injected;
    if (!is_one_of(inj.kind, kHealthyKinds)) continue;
    for (const auto& s : finals_) {
      EXPECT_EQ(overlap_ns(s, inj), 0u) << "stall during " << inj.step() << ": " << s.dump();
    }
  }
  // Nothing else either, on any thread, from the first step to the last.
  ASSERT_FALSE(r_->injections.empty());
  Injection scenario = r_->injections.front();
  scenario.end_ns = r_->injections.back().end_ns;
  size_t reported = 0;
  for (const auto& s : stall_events(r_->events, false)) {
    if (overlap_ns(s, scenario) > 0) ++reported;
  }
  EXPECT_EQ(reported, injected) << r_->diagnostics;
}

// on_cpu_ms is compared with the CPU time the fixture's loop thread measured
// itself: on a loaded machine a CPU burn spends part of its time preempted,
// and that part is (rightly) off-CPU.
TEST_P(LoopStallTest, OnAndOffCpuTimeMatchTheKindOfStall) {
  for (const auto& inj : r_->injections) {
    const nlohmann::json* stall = stall_for(finals_, inj);
    if (!stall) continue;  // reported by EveryInjectedStallIsReportedWithItsDuration
    double total = (*stall)["duration_ms"].get<double>();
    double on = (*stall)["on_cpu_ms"].get<double>();
    double off = (*stall)["off_cpu_ms"].get<double>();
    EXPECT_NEAR(on + off, total, std::max(2.0, 0.01 * total)) << stall->dump();
    // loopprof's on-CPU time is what the (guest) scheduler ran the thread for;
    // the thread's own CPU clock leaves out time a hypervisor stole from the
    // vCPU meanwhile (PARAVIRT_TIME_ACCOUNTING), which is large on a loaded
    // host. So: at least the CPU the thread used, at most the step's length.
    EXPECT_GE(on, inj.cpu_ms() - duration_tolerance_ms(inj.ms))
        << inj.step() << ": the loop thread used " << inj.cpu_ms() << " ms of CPU\n"
        << stall->dump();
    EXPECT_LE(on, inj.measured_ms() + duration_tolerance_ms(inj.ms))
        << inj.step() << " took " << inj.measured_ms() << " ms\n"
        << stall->dump();
    if (is_one_of(inj.kind, kOnCpuKinds) && inj.cpu_ms() >= 0.9 * inj.measured_ms()) {
      EXPECT_GE(on, 0.8 * total) << inj.step() << " should be mostly on-CPU: " << stall->dump();
    }
    if (is_one_of(inj.kind, kOffCpuKinds)) {
      EXPECT_GE(off, 0.8 * total) << inj.step() << " should be mostly off-CPU: " << stall->dump();
    }
  }
}

TEST_P(LoopStallTest, FoldedWeightsAddUpToTheTotalStallTime) {
  ASSERT_TRUE(r_->folded_error.empty()) << r_->folded_error;
  double total_us = 0;
  for (const auto& s : stall_events(r_->events, false))
    total_us += s["duration_ms"].get<double>() * 1000;
  ASSERT_GT(total_us, 0);
  double folded_us = static_cast<double>(total_weight(r_->folded));
  EXPECT_NEAR(folded_us, total_us, 0.01 * total_us)
      << "folded weights " << folded_us << " us vs stalls " << total_us << " us";
  for (const auto& stack : r_->folded) EXPECT_FALSE(stack.frames.empty());
}

TEST_P(LoopStallTest, EachStallGetsAHumanLine) {
  for (const auto& s : finals_) {
    std::string tid = std::to_string(s["tid"].get<int>());
    std::string thread = s["thread"].get<std::string>();
    bool found = false;
    for (const auto& line : r_->loopprof_stdout) {
      const auto& t = line.text;
      if (t.find("stall") != std::string::npos && t.find(tid) != std::string::npos &&
          t.find(thread) != std::string::npos) {
        found = true;
      }
    }
    EXPECT_TRUE(found) << "no stdout line with \"stall\", tid " << tid << " and thread " << thread
                       << "\n"
                       << r_->diagnostics;
  }
}

// "What blocked": most of each stall's weight is in stacks through the
// function that blocks (Python frames "name (file:line)", native "name").
TEST_P(LoopStallTest, StallStacksNameTheBlockingFunction) {
  for (const auto& inj : r_->injections) {
    auto culprit = GetParam().culprits.find(inj.kind);
    if (culprit == GetParam().culprits.end()) continue;
    const nlohmann::json* stall = stall_for(finals_, inj);
    if (!stall) continue;  // reported by EveryInjectedStallIsReportedWithItsDuration
    uint64_t total = 0, through = 0;
    for (const auto& stack : (*stall)["stacks"]) {
      uint64_t w = stack["weight_us"].get<uint64_t>();
      total += w;
      for (const auto& f : stack["frames"]) {
        std::string frame = f.get<std::string>();
        if (frame == culprit->second || frame.rfind(culprit->second + " (", 0) == 0) {
          through += w;
          break;
        }
      }
    }
    EXPECT_GE(through * 2, total) << inj.step() << ": only " << through << " of " << total
                                  << " us in stacks through " << culprit->second << "\n"
                                  << stall->dump(1);
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, LoopStallTest, ::testing::ValuesIn(loop_targets()),
                         [](const auto& info) { return info.param.label; });

}  // namespace
}  // namespace loopprof::test
