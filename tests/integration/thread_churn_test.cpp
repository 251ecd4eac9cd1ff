// A target that starts and ends tens of thousands of short threads (more than
// pid_max on small systems, so TIDs are reused): loopprof's memory follows the
// live threads, the summary tables stay bounded and say what they leave out,
// and no thread inherits the counters of a dead one. Needs root.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "harness.hpp"

namespace loopprof::test {
namespace {

// VmRSS of a process in kB (0 if unreadable).
uint64_t rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

double all_times_ms(const nlohmann::json& t) {
  double sum = 0;
  for (const char* key :
       {"running_ms", "runqueue_ms", "futex_ms", "sleep_ms", "io_ms", "other_ms", "loop_idle_ms"})
    sum += t.at(key).get<double>();
  return sum;
}

TEST(ThreadChurn, MemoryTablesAndTimesFollowTheLiveThreads) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  constexpr int kThreads = 40000;  // > pid_max 32768: TIDs are reused
  TempDir dir;
  const std::string events = dir.file("events.jsonl");
  Process fixture = Process::spawn(
      {{"/usr/bin/python3", fixture_source("churn_app.py"), std::to_string(kThreads), "90"},
       {},
       true});
  ASSERT_TRUE(fixture.wait_for_line(Stream::kStdout, "ready", milliseconds(10000)))
      << fixture.describe();
  Process loopprof = run_loopprof(fixture.pid(), {"-t", "100", "--events", events});
  fixture.write_stdin("go\n");

  // RSS while the churn runs, every 250 ms.
  std::vector<uint64_t> rss;
  std::optional<OutputLine> done;
  while (!(done = fixture.wait_for_line(Stream::kStdout, "churned", milliseconds(250))))
    if (fixture.running() && loopprof.running() && rss.size() < 800)
      rss.push_back(rss_kb(loopprof.pid()));
    else
      break;
  ASSERT_TRUE(done) << fixture.describe() << loopprof.describe();
  // join() returns before the OS thread is gone: let the last ones exit.
  std::this_thread::sleep_for(milliseconds(500));
  loopprof.signal(SIGINT);
  ASSERT_EQ(loopprof.wait_exit(milliseconds(20000)), 0) << loopprof.describe();
  fixture.close_stdin();

  std::istringstream words(done->text);
  std::string word;
  int churned = 0;
  double lifetime_sum_ms = 0;
  words >> word >> churned >> word >> lifetime_sum_ms;
  ASSERT_GT(churned, 32768) << done->text;

  // Memory: after the first quarter of the run (caches, the loop's first
  // stacks), RSS stays flat while threads keep coming and going.
  ASSERT_GE(rss.size(), 8u);
  uint64_t settled = rss[rss.size() / 4], peak = *std::max_element(rss.begin(), rss.end());
  std::cout << fmt::format(
      "figure: churn threads={} samples={} rss_kb first={} settled={} "
      "peak={} last={}\n",
      churned, rss.size(), rss.front(), settled, peak, rss.back());
  EXPECT_LT(peak, settled + 16 * 1024) << "RSS grew from " << settled << " to " << peak << " kB";

  auto lines = read_jsonl(events);
  ASSERT_FALSE(lines.empty());
  const nlohmann::json& summary = lines.back();
  ASSERT_EQ(summary.at("event"), "summary");
  // Bounded tables, with honest counts of what is left out.
  EXPECT_LE(summary.at("loops").size(), 20u);
  EXPECT_LE(summary.at("threads").size(), 50u);
  const size_t threads_total =
      summary.at("threads").size() + summary.at("threads_not_shown").get<size_t>();
  // Every thread is counted, shown or not (a handful in 40,000 are seen to
  // end without a final switch-out record: under investigation, hence 0.1%).
  EXPECT_GE(threads_total, static_cast<size_t>(churned) * 999 / 1000)
      << summary.at("dropped").dump();
  EXPECT_GE(summary.at("loops_not_shown").get<size_t>(), static_cast<size_t>(churned) / 2);
  EXPECT_GE(summary.at("threads_exited").get<size_t>(), static_cast<size_t>(churned) * 999 / 1000);
  for (const auto& [map, lost] : summary.at("map_full").items()) EXPECT_EQ(lost, 0) << map;
  // The text report says so too, in a few dozen lines rather than one per thread.
  const std::string report = loopprof.text(Stream::kStdout);
  EXPECT_NE(report.find(fmt::format("... {} more loop threads not shown",
                                    summary.at("loops_not_shown").get<size_t>())),
            std::string::npos)
      << report.substr(0, 4000);
  EXPECT_NE(report.find("threads not shown; " +
                        std::to_string(summary.at("threads_exited").get<size_t>()) +
                        " threads exited while traced"),
            std::string::npos)
      << report.substr(0, 4000);
  EXPECT_LT(std::count(report.begin(), report.end(), '\n'), 200) << report.substr(0, 4000);

  // Times add up: no thread gets more than the session's wall time, the churn
  // threads together no more than their lifetimes (a reused TID inheriting a
  // dead thread's counters would add the gap between them, seconds each).
  const double wall_ms = summary.at("wall_seconds").get<double>() * 1000;
  double total_ms = all_times_ms(summary.at("threads_not_shown_ms"));
  for (const auto& t : summary.at("threads")) {
    double ms = all_times_ms(t);
    EXPECT_LE(ms, wall_ms * 1.02 + 50) << t.dump();
    total_ms += ms;
    if (t.at("thread") == "churn") EXPECT_LE(ms, 2000) << "a short thread: " << t.dump();
  }
  // Beside the churn: the loop, its executor threads, the churn driver.
  const double long_lived_ms = 8 * wall_ms;
  std::cout << fmt::format(
      "figure: churn wall_ms={:.0f} thread_times_ms={:.0f} churn_lifetimes_ms={:.0f}\n", wall_ms,
      total_ms, lifetime_sum_ms);
  // Each short thread also waits for a CPU to start and runs its exit: 20 ms
  // each allows for a loaded machine.
  EXPECT_LE(total_ms, long_lived_ms + 2 * lifetime_sum_ms + 20.0 * churned);
}

}  // namespace
}  // namespace loopprof::test
