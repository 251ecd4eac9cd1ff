#include <gtest/gtest.h>

#include "agent/agent_metrics.hpp"
#include "agent/process_metrics.hpp"

namespace loopprof::agent {
namespace {

lp_thread loop(uint64_t iterations, uint64_t busy_ns, uint32_t pid = 5) {
  lp_thread t{};
  t.pid = pid;
  t.iterations = iterations;
  t.busy_total_ns = busy_ns;
  t.idle_total_ns = 2 * busy_ns;
  t.busy_hist[3] = static_cast<__u32>(iterations);
  return t;
}

auto name_main = [](pid_t) { return std::string("main"); };

TEST(ProcessMetrics, LoopCountersNeverGoBackwardsWhenThreadsGo) {
  ProcessMetrics m(ProcessLabels{5, "python3", "app.py", "cpython-3.11"});
  m.update_loops({{5, loop(10, 100)}, {6, loop(4, 40)}}, name_main);
  EXPECT_EQ(m.loops().at("main").iterations, 14u);
  // Thread 6 leaves the map (exited); its final record comes a tick later.
  m.update_loops({{5, loop(12, 120)}}, name_main);
  EXPECT_EQ(m.loops().at("main").iterations, 16u);
  m.on_loop_exit(6, "main", loop(5, 50));  // the final values replace the last snapshot
  EXPECT_EQ(m.loops().at("main").iterations, 17u);
  m.update_loops({{5, loop(12, 120)}}, name_main);
  EXPECT_EQ(m.loops().at("main").iterations, 17u);
  EXPECT_EQ(m.loops().at("main").busy_hist[3], 17u);
}

TEST(ProcessMetrics, FinalRecordBeforeTheMapUpdate) {
  ProcessMetrics m(ProcessLabels{5, "python3", "app.py", ""});
  m.update_loops({{5, loop(10, 100)}, {6, loop(4, 40)}}, name_main);
  m.on_loop_exit(6, "main", loop(5, 50));
  m.update_loops({{5, loop(10, 100)}}, name_main);
  EXPECT_EQ(m.loops().at("main").iterations, 15u);
}

lp_task_stats task(uint64_t runq_ns, uint32_t pid = 5) {
  lp_task_stats s{};
  s.pid = pid;
  s.off_ns[LP_OFF_RUNQ] = runq_ns;
  s.hist[LP_HIST_RUNQ][2] = static_cast<__u32>(runq_ns / 10);
  return s;
}

TEST(ProcessMetrics, ThreadExitRecordRetiresTheFinalTimes) {
  ProcessMetrics m(ProcessLabels{5, "python3", "app.py", ""});
  m.update_tasks({{5, task(100)}, {6, task(40)}});
  EXPECT_EQ(m.tasks().runq_ns, 140u);
  // Thread 6 exits: its record comes before the next scrape.
  m.on_thread_exit(6, task(50));
  EXPECT_EQ(m.tasks().runq_ns, 150u);
  m.update_tasks({{5, task(100)}});
  EXPECT_EQ(m.tasks().runq_ns, 150u);
  // Thread 7 exits between two scrapes' map reads and its record: the last
  // snapshot stands in until the final values replace it, never counted twice.
  m.update_tasks({{5, task(100)}, {7, task(20)}});
  m.update_tasks({{5, task(110)}});
  EXPECT_EQ(m.tasks().runq_ns, 180u);
  m.on_thread_exit(7, task(30));
  EXPECT_EQ(m.tasks().runq_ns, 190u);
  EXPECT_EQ(m.tasks().runq_hist[2], 19u);
}

TEST(ProcessMetrics, StallsByThreadAndCause) {
  ProcessMetrics m(ProcessLabels{5, "python3", "app.py", ""});
  Stall s;
  s.thread = "worker";
  s.duration_ns = 300'000'000;
  s.breakdown.lock_ns = 290'000'000;
  s.breakdown.on_cpu_ns = 10'000'000;
  m.on_stall(s);
  const StallTotals& t = m.stalls().at("worker");
  EXPECT_EQ(t.count[2], 1u);  // "lock"
  EXPECT_EQ(t.ns[2], 300'000'000u);
  EXPECT_EQ(m.base_labels().back().second, "native");
}

TEST(AgentMetrics, RendersEveryFamilyWithLabels) {
  ProcessMetrics m(ProcessLabels{5, "py\"thon", "app.py", "cpython-3.12"});
  m.update_loops({{5, loop(10, 100)}}, name_main);
  std::string text =
      render_metrics({&m}, AgentHealth{.watched_processes = 1, .missed_switch_ins = 3});
  EXPECT_NE(text.find("# TYPE loopprof_loop_lag_seconds histogram"), std::string::npos);
  EXPECT_NE(
      text.find("loopprof_loop_iterations_total{pid=\"5\",comm=\"py\\\"thon\",service=\"app.py\","
                "runtime=\"cpython-3.12\",thread=\"main\"} 10"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find("loopprof_loop_lag_seconds_bucket{pid=\"5\",comm=\"py\\\"thon\",service=\"app."
                "py\",runtime=\"cpython-3.12\",thread=\"main\",le=\"3.2e-05\"} 10"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("loopprof_agent_watched_processes 1"), std::string::npos);
  EXPECT_NE(text.find("loopprof_agent_missed_switch_ins_total 3"), std::string::npos) << text;
}

}  // namespace
}  // namespace loopprof::agent
