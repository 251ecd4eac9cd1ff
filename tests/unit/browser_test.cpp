// The HTML report and the speedscope file in a real browser (Debian's
// headless Chromium): the report renders without a script error, names the
// culprit in its flame graph, shows a stall's own stack on a click and stays
// fast at 10,000 stalls; speedscope's own importer loads our file.
#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "format_fixtures.hpp"
#include "headless_browser.hpp"
#include "output/format_writers.hpp"

namespace loopprof {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::sample_stalls;
using testing::sample_summary;

class BrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v chromium > /dev/null") != 0)
      FAIL() << "chromium is not installed: run 'make deps'";
    dir_ = fs::temp_directory_path() / ("loopprof-browser-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& bytes) {
    fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  fs::path dir_;
};

TEST_F(BrowserTest, ReportRendersNamesTheCulpritAndShowsAClickedStallsStack) {
  auto stalls = sample_stalls();
  fs::path page = write("report.html", encode_html(stalls, sample_summary(stalls)));
  auto loaded = testing::load_page(testing::file_url(page) + "#selftest", dir_);
  json result = testing::selftest_result(loaded.dom);
  ASSERT_FALSE(result.is_null()) << "the page's script did not finish\n" << loaded.log;
  EXPECT_TRUE(result.at("errors").empty()) << result.at("errors").dump();
  EXPECT_TRUE(testing::console_errors(loaded.log).empty()) << loaded.log;
  // The culprit of the worst stall is drawn in the flame graph.
  auto labels = result.at("flameLabels").get<std::vector<std::string>>();
  EXPECT_NE(std::find(labels.begin(), labels.end(), "take_lock (app.py:88)"), labels.end())
      << result.at("flameLabels").dump();
  // The click on its bar opened that stall: its why line, its stack, its own
  // flame graph (without the other stalls' frames).
  EXPECT_EQ(result.at("clicked").at("index"), 0);
  EXPECT_TRUE(result.at("detailVisible").get<bool>());
  EXPECT_NE(result.at("detailWhy").get<std::string>().find("lock 280.0 ms"), std::string::npos)
      << result.at("detailWhy");
  EXPECT_NE(result.at("detailWhy").get<std::string>().find("worker"), std::string::npos);
  std::string stack = result.at("detailStack");
  EXPECT_NE(stack.find("take_lock (app.py:88)"), std::string::npos) << stack;
  EXPECT_NE(stack.find("futex_wait_[k]"), std::string::npos) << stack;
  auto own = result.at("stallFlameLabels").get<std::vector<std::string>>();
  EXPECT_NE(std::find(own.begin(), own.end(), "take_lock (app.py:88)"), own.end());
  EXPECT_EQ(std::find(own.begin(), own.end(), "crunch (math_utils.py:7)"), own.end())
      << "another stall's frame in this stall's flame graph";
  // Hovering its bar tells its duration, cause, breakdown, culprit and waker.
  std::string bar_tip = result.at("timelineTooltip");
  EXPECT_NE(bar_tip.find("300.0 ms stall of loop-main (tid 11)"), std::string::npos) << bar_tip;
  EXPECT_NE(bar_tip.find("cause: lock"), std::string::npos) << bar_tip;
  EXPECT_NE(bar_tip.find("lock 280.0 ms, on-CPU 20.0 ms"), std::string::npos) << bar_tip;
  EXPECT_NE(bar_tip.find("in take_lock (app.py:88)"), std::string::npos) << bar_tip;
  EXPECT_NE(bar_tip.find("woken by thread worker (tid 12)"), std::string::npos) << bar_tip;
  // The bar is the colour of its main cause (lock).
  EXPECT_EQ(result.at("timelineBarColor"), "#6c5b7b");
}

TEST_F(BrowserTest, ReportShowsTheRunsFactsAndTheSummaryTables) {
  auto stalls = sample_stalls();
  // A thread name too long for the timeline's label column.
  for (Stall& s : stalls)
    if (s.tid == 13) s.thread = "asyncio-loop-of-the-ingest-service";
  fs::path page = write("report.html", encode_html(stalls, sample_summary(stalls)));
  auto loaded = testing::load_page(testing::file_url(page) + "#selftest", dir_);
  json result = testing::selftest_result(loaded.dom);
  ASSERT_FALSE(result.is_null()) << loaded.log;
  EXPECT_TRUE(result.at("errors").empty()) << result.at("errors").dump();
  // The run's facts: target, interpreter, duration, threshold, drops.
  std::string facts = result.at("facts");
  for (const char* fact :
       {"PID 10 (python3 app.py)", "CPython 3.11.4 (/usr/bin/python3.11)",
        "5.3 s (duration reached)", "threshold 20 ms", "3 stalls", "dropped: 3 samples"})
    EXPECT_NE(facts.find(fact), std::string::npos) << fact << " not in: " << facts;
  // A long thread name gives way: its tid and stall count stay readable.
  EXPECT_TRUE(result.at("timelineLabelsFit").get<bool>()) << result.at("timeline");
  // ... after a space.
  for (const json& gap : result.at("timelineLabelGaps")) EXPECT_GE(gap.get<double>(), 2) << gap;
  // The summary the terminal prints: worst stalls (culprit, why), loops
  // (utilization, lag percentiles), callbacks, threads.
  const json& tables = result.at("tables");
  std::string worst = tables.at("worst"), loops = tables.at("loops");
  std::string callbacks = tables.at("callbacks"), threads = tables.at("threads");
  EXPECT_NE(worst.find("take_lock (app.py:88)"), std::string::npos) << worst;
  EXPECT_NE(worst.find("lock 280.0 ms"), std::string::npos) << worst;
  for (const char* cell : {"loop-main", "900", "13%", "p50 ms", "p99 ms", "300.0"})
    EXPECT_NE(loops.find(cell), std::string::npos) << cell << " not in: " << loops;
  EXPECT_NE(callbacks.find("handle (app.py)"), std::string::npos) << callbacks;
  EXPECT_NE(callbacks.find("500.0"), std::string::npos) << callbacks;
  EXPECT_NE(threads.find("loop-main"), std::string::npos) << threads;
  EXPECT_NE(threads.find("700.0"), std::string::npos) << threads;
}

TEST_F(BrowserTest, ReportOfARunWithoutStallsOpensAndSaysSo) {
  std::vector<Stall> none;
  Summary summary = sample_summary(sample_stalls());
  summary.stalls = 0;
  summary.blocked_ns = 0;
  summary.worst.clear();
  fs::path page = write("empty.html", encode_html(none, summary));
  auto loaded = testing::load_page(testing::file_url(page) + "#selftest", dir_);
  json result = testing::selftest_result(loaded.dom);
  ASSERT_FALSE(result.is_null()) << "the page's script did not finish\n" << loaded.log;
  EXPECT_TRUE(result.at("errors").empty()) << result.at("errors").dump();
  EXPECT_TRUE(testing::console_errors(loaded.log).empty()) << loaded.log;
  EXPECT_EQ(result.at("stalls"), 0);
  std::string timeline = result.at("timeline");
  EXPECT_NE(timeline.find("no stalls at or above the threshold"), std::string::npos) << timeline;
  EXPECT_EQ(timeline.find("after the first stall"), std::string::npos) << timeline;
  // The loop's table is still there: its utilization is worth seeing.
  EXPECT_NE(result.at("tables").at("loops").get<std::string>().find("loop-main"),
            std::string::npos);
}

TEST_F(BrowserTest, ReportFlameGraphZoomsColoursBySearchesAndExplains) {
  auto stalls = sample_stalls();
  fs::path page = write("report.html", encode_html(stalls, sample_summary(stalls)));
  auto loaded = testing::load_page(testing::file_url(page) + "#selftest", dir_);
  json result = testing::selftest_result(loaded.dom);
  ASSERT_FALSE(result.is_null()) << loaded.log;
  EXPECT_TRUE(result.at("errors").empty()) << result.at("errors").dump();
  // 470 ms of stacks: 420 under _start (280 lock, 140 on CPU), 50 in nap.
  std::string tip = result.at("flameTooltip");
  EXPECT_NE(tip.find("_start"), std::string::npos) << tip;
  EXPECT_NE(tip.find("420.0 ms of stall time, 89.4%"), std::string::npos) << tip;
  EXPECT_NE(tip.find("lock 67%, on-CPU 33%"), std::string::npos) << tip;
  // A click zooms to it: nap's frame is no longer drawn; reset goes back.
  EXPECT_EQ(result.at("zoomedTo"), "_start");
  auto zoomed = result.at("zoomedLabels").get<std::vector<std::string>>();
  EXPECT_NE(std::find(zoomed.begin(), zoomed.end(), "take_lock (app.py:88)"), zoomed.end());
  EXPECT_EQ(std::find(zoomed.begin(), zoomed.end(), "nap (sleepy.py:3)"), zoomed.end());
  EXPECT_EQ(result.at("zoomAfterReset"), 0);
  // Coloured by cause, _start is the lock colour; by kind, a native orange.
  EXPECT_EQ(result.at("firstFrameColor"), "#6c5b7b");
  std::string kind = result.at("firstFrameKindColor");
  ASSERT_EQ(kind.size(), 7u);
  int red = std::stoi(kind.substr(1, 2), nullptr, 16),
      blue = std::stoi(kind.substr(5, 2), nullptr, 16);
  EXPECT_GT(red, 200) << kind;
  EXPECT_LT(blue, 120) << kind;
  EXPECT_EQ(result.at("searchResult"), "matches: 59.6% of stall time");
  // A searched frame is highlighted.
  EXPECT_EQ(result.at("searchHighlightColor"), "#e040fb");
  // The summary's second worst stall opens on a click.
  EXPECT_EQ(result.at("worstRows"), 2);
  EXPECT_NE(result.at("secondWorstWhy").get<std::string>().find("on-cpu 120.0 ms"),
            std::string::npos)
      << result.at("secondWorstWhy");
}

// The share of a CPU this process gets now: CPU time over wall time of a busy loop.
double cpu_share() {
  auto now = [](clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
  };
  double wall0 = now(CLOCK_MONOTONIC), cpu0 = now(CLOCK_THREAD_CPUTIME_ID);
  volatile uint64_t sink = 0;
  while (now(CLOCK_MONOTONIC) - wall0 < 1.0)
    for (int i = 0; i < 100000; ++i) sink = sink + i;
  return std::min(1.0, (now(CLOCK_THREAD_CPUTIME_ID) - cpu0) / (now(CLOCK_MONOTONIC) - wall0));
}

// 10,000 stalls over 50,000 distinct stacks, 30 frames deep.
std::vector<Stall> many_stalls() {
  std::mt19937 random(42);
  std::vector<Frame> pool;
  for (int i = 0; i < 3000; ++i)
    pool.push_back(testing::py(("handler_" + std::to_string(i)).c_str(), "service/app.py", i + 1));
  Frames common;
  for (int i = 0; i < 18; ++i) common.push_back(testing::native_at("frame", 0x401000 + i));
  std::vector<Stall> stalls;
  uint64_t t = 0;
  for (int i = 0; i < 10000; ++i) {
    Stall s{.pid = 10,
            .tid = 11 + i % 3,
            .thread = "loop-" + std::to_string(i % 3),
            .seq = static_cast<uint64_t>(i),
            .start_ns = t,
            .duration_ns = 60'000'000};
    s.breakdown.on_cpu_ns = 30'000'000;
    s.breakdown.lock_ns = 30'000'000;
    t += 70'000'000;
    for (int k = 0; k < 5; ++k) {
      Frames frames = common;
      for (int d = 0; d < 10; ++d) frames.push_back(pool[random() % pool.size()]);
      frames.push_back(testing::kern("schedule"));
      s.stacks.push_back({frames, 12'000, k % 2 ? CpuState::on_cpu : CpuState::off_cpu});
    }
    stalls.push_back(std::move(s));
  }
  return stalls;
}

TEST_F(BrowserTest, ReportOfTenThousandStallsRendersInUnderASecond) {
  auto stalls = many_stalls();
  std::string html = encode_html(stalls, sample_summary(stalls));
  fs::path page = write("big.html", html);
  // LOOPPROF_KEEP_REPORT=FILE keeps a copy, to profile the page by hand.
  if (const char* keep = std::getenv("LOOPPROF_KEEP_REPORT"))
    fs::copy_file(page, keep, fs::copy_options::overwrite_existing);
  auto loaded = testing::load_page(testing::file_url(page) + "#selftest", dir_);
  json result = testing::selftest_result(loaded.dom);
  ASSERT_FALSE(result.is_null()) << loaded.log;
  EXPECT_TRUE(result.at("errors").empty()) << result.at("errors").dump();
  EXPECT_EQ(result.at("stalls"), 10000);
  EXPECT_GE(result.at("stacks").get<int>(), 49000);
  // renderMs: the page's script, from its first line to everything drawn;
  // sinceNavigation: from the navigation on (reading and parsing the file too).
  double render_ms = result.at("renderMs");
  double page_ms = result.at("phases").at("sinceNavigation");
  // On a shared machine the page gets a fraction of a CPU: the time it
  // would take with a CPU of its own is the wall time over that share.
  double share = cpu_share();
  std::printf(
      "report of 10000 stalls, %d stacks: %.1f MB, rendered in %.0f ms wall (%.0f ms since the "
      "navigation) with %.0f%% of a CPU (%.0f ms with a CPU of its own); phases %s\n",
      result.at("stacks").get<int>(), html.size() / 1e6, render_ms, page_ms, share * 100,
      render_ms * share, result.at("phases").dump().c_str());
  RecordProperty("render_ms", static_cast<int>(render_ms));
  RecordProperty("page_ms", static_cast<int>(page_ms));
  RecordProperty("html_bytes", static_cast<int>(html.size()));
  // The time is only comparable on a machine this test has (nearly) to
  // itself: the CPU share above is this process's, not the browser's, and
  // on a loaded machine the two differ widely (here 8% to 51%).
  // The goal is under a second. The flame tree comes merged from loopprof:
  // the script takes ~170 ms of CPU and the whole page ~350 ms (Chromium's
  // trace, 2026-12-03), against 695 ms and ~930 ms with the tree built in
  // the page (then 1.28 s wall on a quiet machine).
  if (share >= 0.9) {
    EXPECT_LT(render_ms, 1000);
    EXPECT_LT(page_ms, 1000);
  } else {
    std::printf("render time not asserted: this machine is shared (%.0f%% of a CPU)\n",
                share * 100);
  }
}

TEST_F(BrowserTest, SpeedscopeLoadsOurFileWithItsOwnImporter) {
  const std::string speedscope = std::string(LOOPPROF_NPM_DIR) + "/speedscope";
  ASSERT_TRUE(fs::exists(speedscope + "/dist/release/index.html"))
      << "speedscope is not installed: run 'make deps' (tools/npm-deps.sh)";
  auto stalls = sample_stalls();
  fs::path file =
      write("stalls.speedscope.json", encode_speedscope(stalls, sample_summary(stalls)));
  auto loaded = testing::load_in_speedscope(speedscope, file, dir_);
  // speedscope names the page after a profile it imported, and lists its
  // profiles: two loop threads and the sampled one.
  EXPECT_NE(loaded.dom.find("<title>loopprof: PID 10 (python3 app.py) - speedscope</title>"),
            std::string::npos)
      << loaded.dom.substr(0, 2000) << "\n"
      << loaded.log;
  EXPECT_NE(loaded.dom.find("loop-main (tid 11): stalls in time"), std::string::npos);
  EXPECT_NE(loaded.dom.find("(1/3)"), std::string::npos);
  EXPECT_TRUE(testing::console_errors(loaded.log).empty()) << loaded.log;
}

TEST_F(BrowserTest, SpeedscopeRejectsABrokenFile) {
  // The check above can fail: an event that closes the wrong frame.
  const std::string speedscope = std::string(LOOPPROF_NPM_DIR) + "/speedscope";
  ASSERT_TRUE(fs::exists(speedscope + "/dist/release/index.html"));
  auto stalls = sample_stalls();
  json file = json::parse(encode_speedscope(stalls, sample_summary(stalls)));
  file["profiles"][0]["events"][1]["type"] = "C";
  auto loaded =
      testing::load_in_speedscope(speedscope, write("broken.speedscope.json", file.dump()), dir_);
  EXPECT_EQ(loaded.dom.find("<title>loopprof:"), std::string::npos);
}

}  // namespace
}  // namespace loopprof
