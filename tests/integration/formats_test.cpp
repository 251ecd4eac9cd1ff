// End-to-end: one profiled run of why_app.py written as --html, --pprof,
// --speedscope and --trace at once, each file checked by its real consumer
// (go tool pprof, headless Chromium, speedscope's importer, a JSON parser),
// and `loopprof report` of the run's events file giving the same bytes.
// Needs root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <regex>
#include <sstream>

#include "../unit/headless_browser.hpp"
#include "../unit/speedscope_schema.hpp"
#include "harness.hpp"
#include "scenario.hpp"
#include "temp_dir.hpp"

namespace loopprof::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct FormatsRun {
  std::unique_ptr<TempDir> dir;
  std::unique_ptr<ScenarioResult> result;
  std::string error;
  std::string file(const char* name) const { return dir->file(name); }
};

const FormatsRun& formats_run() {
  static FormatsRun run = [] {
    FormatsRun r;
    r.dir = std::make_unique<TempDir>("loopprof-formats");
    try {
      ScenarioSpec spec{
          {"python3", fixture_source("why_app.py"), "lock:300", "cpu:200", "sleep:150"},
          {"-t", "100", "--html", r.file("live.html"), "--pprof", r.file("live.pb.gz"),
           "--speedscope", r.file("live.speedscope.json"), "--trace", r.file("live.trace.json")},
          milliseconds(60000)};
      spec.keep_events_as = r.file("events.jsonl");
      spec.keep_folded_as = r.file("live.folded");
      r.result = std::make_unique<ScenarioResult>(run_scenario(spec));
    } catch (const std::exception& e) {
      r.error = e.what();
    }
    return r;
  }();
  return run;
}

class FormatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    const FormatsRun& run = formats_run();
    ASSERT_TRUE(run.result) << run.error;
    run_ = &run;
    r_ = run.result.get();
    ASSERT_EQ(r_->loopprof_exit, 0) << r_->diagnostics;
    ASSERT_TRUE(r_->events_error.empty()) << r_->events_error;
    for (const json& e : r_->events)
      if (e.value("event", "") == "stall" && (!e.at("ongoing").get<bool>() || e.at("at_exit")))
        finals_.push_back(e);
    ASSERT_GE(finals_.size(), 3u) << r_->diagnostics;
  }

  // The final stall that lasted longest.
  const json& worst() const {
    const json* w = &finals_.front();
    for (const json& e : finals_)
      if (e.at("duration_ns") > w->at("duration_ns")) w = &e;
    return *w;
  }

  const FormatsRun* run_ = nullptr;
  const ScenarioResult* r_ = nullptr;
  std::vector<json> finals_;
};

TEST_F(FormatsTest, PprofTotalIsTheStallsDurationsAndPythonFramesHaveFileAndLine) {
  int status = 0;
  std::string raw = testing::run_command(
      "HOME=/tmp go tool pprof -raw " + run_->file("live.pb.gz") + " 2>&1", &status);
  ASSERT_EQ(status, 0) << raw;
  // Sample lines: "  STALLS  NANOSECONDS: LOCATION..."
  uint64_t total_ns = 0;
  std::regex sample(R"(^\s+(\d+)\s+(\d+): \d)");
  std::istringstream lines(raw);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, sample)) total_ns += std::stoull(m[2]);
  }
  uint64_t expected_ns = 0;
  for (const json& e : finals_) expected_ns += e.at("duration_ns").get<uint64_t>() / 1000 * 1000;
  EXPECT_EQ(total_ns, expected_ns) << raw.substr(0, 3000);
  EXPECT_TRUE(std::regex_search(raw, std::regex(R"(wait_for_cache_lock \S*why_app\.py:\d+)")))
      << raw.substr(0, 5000);
  // Native mappings carry their GNU build IDs (libc's, as readelf shows it).
  std::string notes =
      testing::run_command("readelf -n /usr/lib/x86_64-linux-gnu/libc.so.6", &status);
  std::smatch libc_id;
  ASSERT_TRUE(std::regex_search(notes, libc_id, std::regex(R"(Build ID: ([0-9a-f]+))"))) << notes;
  EXPECT_NE(raw.find("libc.so.6 " + libc_id[1].str()), std::string::npos)
      << raw.substr(raw.size() > 3000 ? raw.size() - 3000 : 0);

  std::string top = testing::run_command(
      "HOME=/tmp go tool pprof -top -sample_index=stall_time " + run_->file("live.pb.gz") + " 2>&1",
      &status);
  ASSERT_EQ(status, 0) << top;
  EXPECT_NE(top.find("Type: stall_time"), std::string::npos) << top;
  EXPECT_NE(top.find("wait_for_cache_lock"), std::string::npos) << top;
}

TEST_F(FormatsTest, HtmlReportShowsTheCulpritAndAClickedStallsStackInChromium) {
  auto page = testing::load_page(testing::file_url(run_->file("live.html")) + "#selftest",
                                 run_->dir->path());
  json result = testing::selftest_result(page.dom);
  ASSERT_FALSE(result.is_null()) << page.log;
  EXPECT_TRUE(result.at("errors").empty()) << result.at("errors").dump();
  EXPECT_TRUE(testing::console_errors(page.log).empty()) << page.log;
  // The lock stall is the worst; its culprit frame is drawn in the flame graph.
  std::string culprit = result.at("clicked").at("culprit");
  EXPECT_NE(culprit.find("wait_for_cache_lock"), std::string::npos) << culprit;
  auto labels = result.at("flameLabels").get<std::vector<std::string>>();
  EXPECT_NE(std::find(labels.begin(), labels.end(), culprit), labels.end()) << culprit;
  EXPECT_TRUE(result.at("detailVisible").get<bool>());
  EXPECT_NE(result.at("detailStack").get<std::string>().find(culprit), std::string::npos)
      << result.at("detailStack");
  // Its why line names the waker the events file names (the lock holder).
  const json& wakers = worst().at("wakers");
  ASSERT_FALSE(wakers.empty()) << worst().dump();
  EXPECT_NE(result.at("detailWhy")
                .get<std::string>()
                .find(fmt::format("(tid {})", wakers[0].at("tid").get<int>())),
            std::string::npos)
      << result.at("detailWhy");
  EXPECT_NE(result.at("detailWhy").get<std::string>().find("lock"), std::string::npos);
  EXPECT_EQ(result.at("stalls").get<size_t>(), finals_.size());
  // The run's facts name the interpreter.
  std::string facts = result.at("facts");
  EXPECT_TRUE(std::regex_search(facts, std::regex(R"(CPython 3\.\d+\.\d+ \(/\S+python)"))) << facts;
  EXPECT_NE(facts.find(fmt::format("PID {} (", r_->pid)), std::string::npos) << facts;
}

TEST_F(FormatsTest, SpeedscopeFileLoadsInSpeedscope) {
  const std::string speedscope = std::string(LOOPPROF_NPM_DIR) + "/speedscope";
  ASSERT_TRUE(fs::exists(speedscope + "/dist/release/index.html"))
      << "speedscope is not installed: run 'make deps'";
  auto page = testing::load_in_speedscope(speedscope, run_->file("live.speedscope.json"),
                                          run_->dir->path());
  EXPECT_NE(page.dom.find(fmt::format("<title>loopprof: PID {} (", r_->pid)), std::string::npos)
      << page.dom.substr(0, 2000) << page.log;
  EXPECT_NE(page.dom.find("stalls in time"), std::string::npos);
  EXPECT_EQ(testing::speedscope_schema_errors(speedscope, run_->file("live.speedscope.json")), "");
}

TEST_F(FormatsTest, TraceHasEveryStallAsACompleteEvent) {
  json trace = json::parse(testing::read_text(run_->file("live.trace.json")));
  std::vector<json> complete;
  for (const json& e : trace.at("traceEvents"))
    if (e.at("ph") == "X") complete.push_back(e);
  ASSERT_EQ(complete.size(), finals_.size());
  for (size_t i = 0; i < complete.size(); ++i) {
    EXPECT_EQ(complete[i].at("tid"), finals_[i].at("tid"));
    EXPECT_DOUBLE_EQ(complete[i].at("dur").get<double>(),
                     finals_[i].at("duration_ns").get<double>() / 1000);
    EXPECT_EQ(complete[i].at("args").at("cause"), finals_[i].at("cause"));
    EXPECT_TRUE(complete[i].at("args").contains("culprit"));
  }
}

TEST_F(FormatsTest, ReportOfTheEventsFileWritesTheSameBytes) {
  int status = 0;
  std::string out = testing::run_command(
      fmt::format("{} report {} --html {} --pprof {} --speedscope {} --trace {} -o {} 2>&1",
                  loopprof_binary(), run_->file("events.jsonl"), run_->file("replay.html"),
                  run_->file("replay.pb.gz"), run_->file("replay.speedscope.json"),
                  run_->file("replay.trace.json"), run_->file("replay.folded")),
      &status);
  ASSERT_EQ(status, 0) << out;
  for (const char* kind : {"html", "pb.gz", "speedscope.json", "trace.json", "folded"}) {
    std::string live = testing::read_text(run_->file(fmt::format("live.{}", kind).c_str()));
    std::string replay = testing::read_text(run_->file(fmt::format("replay.{}", kind).c_str()));
    EXPECT_FALSE(live.empty()) << kind;
    EXPECT_TRUE(live == replay) << kind << " differs";
  }
}

}  // namespace
}  // namespace loopprof::test
