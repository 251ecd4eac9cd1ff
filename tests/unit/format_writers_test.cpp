// The trace, speedscope and HTML encoders, the events file round trip, and
// `report`'s promise: a replayed events file encodes to the same bytes.
#include "output/format_writers.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "format_fixtures.hpp"
#include "headless_browser.hpp"
#include "output/events_reader.hpp"
#include "speedscope_schema.hpp"

namespace loopprof {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::sample_stalls;
using testing::sample_summary;

class FormatWritersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("loopprof-formats-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FormatWritersTest, TraceHasOneCompleteEventPerStallOnItsThreadsTrack) {
  auto stalls = sample_stalls();
  json trace = json::parse(encode_trace(stalls, sample_summary(stalls)));
  std::vector<json> complete;
  std::map<int, std::string> thread_names;
  for (const json& e : trace.at("traceEvents")) {
    if (e.at("ph") == "X") complete.push_back(e);
    if (e.at("ph") == "M" && e.at("name") == "thread_name")
      thread_names[e.at("tid")] = e.at("args").at("name");
  }
  ASSERT_EQ(complete.size(), stalls.size());
  EXPECT_EQ(thread_names.size(), 2u);
  EXPECT_EQ(thread_names[13], "loop-2 (tid 13)");
  const json& lock = complete[0];
  EXPECT_EQ(lock.at("tid"), 11);
  EXPECT_DOUBLE_EQ(lock.at("ts").get<double>(), 1'000'000.0);  // microseconds
  EXPECT_DOUBLE_EQ(lock.at("dur").get<double>(), 300'000.0);
  EXPECT_EQ(lock.at("args").at("cause"), "lock");
  EXPECT_EQ(lock.at("args").at("culprit"), "take_lock (app.py:88)");
  EXPECT_NE(lock.at("args").at("waker").get<std::string>().find("worker"), std::string::npos);
  EXPECT_EQ(complete[2].at("args").at("cause"), "sleep");
}

TEST_F(FormatWritersTest, SpeedscopeEventsNestAndMoveForwardAndSamplesWeighStallTime) {
  auto stalls = sample_stalls();
  json file = json::parse(encode_speedscope(stalls, sample_summary(stalls)));
  EXPECT_EQ(file.at("$schema"), "https://www.speedscope.app/file-format-schema.json");
  const json& frames = file.at("shared").at("frames");
  const json& profiles = file.at("profiles");
  ASSERT_EQ(profiles.size(), 3u);  // two loop threads, one sampled
  size_t stall_frames_opened = 0;
  for (size_t p = 0; p < 2; ++p) {
    const json& profile = profiles[p];
    EXPECT_EQ(profile.at("type"), "evented");
    std::vector<int> open;
    double at = 0;
    for (const json& e : profile.at("events")) {
      ASSERT_GE(e.at("at").get<double>(), at) << "time went back";
      at = e.at("at");
      ASSERT_LE(at, profile.at("endValue").get<double>());
      int frame = e.at("frame");
      ASSERT_LT(static_cast<size_t>(frame), frames.size());
      if (e.at("type") == "O") {
        if (open.empty()) ++stall_frames_opened;
        open.push_back(frame);
      } else {
        ASSERT_FALSE(open.empty());
        ASSERT_EQ(open.back(), frame) << "closes a frame that is not the innermost open one";
        open.pop_back();
      }
    }
    EXPECT_TRUE(open.empty());
  }
  EXPECT_EQ(stall_frames_opened, stalls.size());
  const json& sampled = profiles[2];
  EXPECT_EQ(sampled.at("type"), "sampled");
  uint64_t total = 0;
  for (const json& w : sampled.at("weights")) total += w.get<uint64_t>();
  EXPECT_EQ(total, 470'000'000u);
  EXPECT_EQ(sampled.at("samples").size(), sampled.at("weights").size());
  bool python_line = false;
  for (const json& f : frames)
    python_line |= f.value("name", "") == "take_lock" && f.value("file", "") == "app.py" &&
                   f.value("line", 0) == 88;
  EXPECT_TRUE(python_line) << frames.dump();
}

TEST_F(FormatWritersTest, SpeedscopeFileIsValidAgainstSpeedscopesSchema) {
  const std::string speedscope = std::string(LOOPPROF_NPM_DIR) + "/speedscope";
  auto stalls = sample_stalls();
  fs::path file = dir_ / "stalls.speedscope.json";
  std::ofstream(file) << encode_speedscope(stalls, sample_summary(stalls));
  EXPECT_EQ(testing::speedscope_schema_errors(speedscope, file), "");
  // The check can fail: an event type the format does not have.
  json broken = json::parse(testing::read_text(file));
  broken["profiles"][0]["events"][0]["type"] = "X";
  std::ofstream(file, std::ios::trunc) << broken.dump();
  EXPECT_NE(testing::speedscope_schema_errors(speedscope, file).find("ValidationError"),
            std::string::npos);
}

TEST_F(FormatWritersTest, HtmlInlinesItsDataSafelyAndNeedsNoNetwork) {
  auto stalls = sample_stalls();
  stalls[0].stacks[0].frames[2].name = "evil</script><script>alert(1)</script>";
  std::string page = encode_html(stalls, sample_summary(stalls));
  EXPECT_EQ(page.find("__LOOPPROF_DATA__"), std::string::npos);
  EXPECT_EQ(page.find("evil</script>"), std::string::npos) << "data can end its script element";
  EXPECT_NE(page.find("evil<\\/script>"), std::string::npos);
  for (const char* remote : {"http://", "https://", "src=\"//"})
    EXPECT_EQ(page.find(remote), std::string::npos) << remote;
}

// Writes a run through the events writer the way a live run does.
fs::path write_events(const fs::path& path, const std::vector<Stall>& reports,
                      const Summary& summary) {
  auto writer = make_jsonl_writer(path.string());
  EXPECT_TRUE(writer.ok());
  for (const Stall& s : reports) (*writer)->stall(s);
  EXPECT_TRUE((*writer)->finish(summary).ok());
  return path;
}

TEST_F(FormatWritersTest, EventsFileReadsBackToTheSameStallsAndSummary) {
  auto stalls = sample_stalls();
  Summary summary = sample_summary(stalls);
  Stall ongoing = stalls[0];
  ongoing.ongoing = true;
  ongoing.duration_ns = 150'000'000;
  Stall at_exit = stalls[2];
  at_exit.seq = 9;
  at_exit.ongoing = at_exit.at_exit = true;
  summary.ongoing_at_exit.push_back(at_exit);
  std::vector<Stall> reports = {ongoing, stalls[0], stalls[1], stalls[2]};
  fs::path path = write_events(dir_ / "events.jsonl", reports, summary);

  auto run = read_events_file(path.string());
  ASSERT_TRUE(run.ok()) << run.error().message;
  ASSERT_EQ(run->stalls.size(), reports.size());
  for (size_t i = 0; i < reports.size(); ++i) {
    EXPECT_EQ(run->stalls[i].stacks.size(), reports[i].stacks.size());
    for (size_t k = 0; k < reports[i].stacks.size(); ++k)
      EXPECT_EQ(run->stalls[i].stacks[k].frames, reports[i].stacks[k].frames);
    EXPECT_EQ(run->stalls[i].duration_ns, reports[i].duration_ns);
    EXPECT_EQ(run->stalls[i].wakers.size(), reports[i].wakers.size());
  }
  ASSERT_EQ(run->summary.ongoing_at_exit.size(), 1u);
  EXPECT_EQ(run->summary.ongoing_at_exit[0].seq, 9u);
  EXPECT_EQ(run->summary.command, summary.command);
  EXPECT_EQ(run->summary.wall_seconds, summary.wall_seconds);
  EXPECT_EQ(run->summary.loops[0].busy_hist.counts, summary.loops[0].busy_hist.counts);
  EXPECT_EQ(run->summary.worst.size(), 2u);
  EXPECT_EQ(run->summary.dropped, summary.dropped);
}

TEST_F(FormatWritersTest, EveryFormatOfAReplayedEventsFileIsByteIdentical) {
  auto stalls = sample_stalls();
  Summary summary = sample_summary(stalls);
  Stall at_exit = stalls[2];
  at_exit.seq = 9;
  at_exit.ongoing = at_exit.at_exit = true;
  summary.ongoing_at_exit.push_back(at_exit);
  fs::path path = write_events(dir_ / "events.jsonl", stalls, summary);
  auto run = read_events_file(path.string());
  ASSERT_TRUE(run.ok()) << run.error().message;

  std::vector<Stall> live = stalls, replayed = run->stalls;
  live.push_back(at_exit);
  for (const Stall& s : run->summary.ongoing_at_exit) replayed.push_back(s);
  EXPECT_EQ(encode_html(live, summary), encode_html(replayed, run->summary));
  EXPECT_EQ(encode_pprof_file(live, summary), encode_pprof_file(replayed, run->summary));
  EXPECT_EQ(encode_speedscope(live, summary), encode_speedscope(replayed, run->summary));
  EXPECT_EQ(encode_trace(live, summary), encode_trace(replayed, run->summary));
}

TEST_F(FormatWritersTest, BadEventsFilesAreClearErrors) {
  auto error_of = [&](const std::string& text) {
    fs::path path = dir_ / "bad.jsonl";
    std::ofstream(path) << text;
    auto run = read_events_file(path.string());
    return run.ok() ? std::string("(read)") : run.error().message + "\nhint: " + run.error().hint;
  };
  EXPECT_NE(error_of("").find("no summary line"), std::string::npos);
  EXPECT_NE(error_of("{not json\n").find("line 1"), std::string::npos);
  EXPECT_NE(error_of("{\"event\":\"summary\",\"pid\":1}\n").find("format version 1"),
            std::string::npos);
  EXPECT_NE(error_of("{\"event\":\"stall\",\"pid\":1}\n").find("line 1"), std::string::npos);
  EXPECT_NE(error_of("{\"event\":\"summary\",\"format_version\":9}\n").find("a newer loopprof"),
            std::string::npos);
  // A copy cut short in the middle of a line (no newline at the end).
  auto stalls = sample_stalls();
  fs::path whole = write_events(dir_ / "whole.jsonl", stalls, sample_summary(stalls));
  std::string text = testing::read_text(whole);
  EXPECT_NE(error_of(text.substr(0, text.size() / 2)).find("is cut short"), std::string::npos)
      << error_of(text.substr(0, text.size() / 2));
  EXPECT_NE(error_of(text.substr(0, text.size() - 1)).find("(read)"), std::string::npos)
      << "only the final newline missing: still whole";
  // The agent's stall log (its lines name their service): not an incomplete file.
  json line = json::parse(text.substr(0, text.find('\n')));
  line["comm"] = "python3";
  line["service"] = "app.py";
  line["runtime"] = "cpython-3.11";
  EXPECT_NE(error_of(line.dump() + "\n").find("stall log of loopprof agent"), std::string::npos)
      << error_of(line.dump() + "\n");
  auto missing = read_events_file((dir_ / "none.jsonl").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("failed to open events file"), std::string::npos);
}

TEST_F(FormatWritersTest, FileWriterKeepsFinalStallsAndAddsThoseBlockedAtExit) {
  fs::path path = dir_ / "t.json";
  auto writer = make_encoded_file_writer(path.string(), encode_trace);
  ASSERT_TRUE(writer.ok());
  auto stalls = sample_stalls();
  Stall ongoing = stalls[0];
  ongoing.ongoing = true;
  (*writer)->stall(ongoing);  // an interim report: not an event
  (*writer)->stall(stalls[0]);
  EXPECT_FALSE(fs::exists(path)) << "visible before it is complete";
  Summary summary = sample_summary(stalls);
  summary.ongoing_at_exit.push_back(stalls[2]);
  ASSERT_TRUE((*writer)->finish(summary).ok());
  size_t events = 0;
  json trace = json::parse(testing::read_text(path));
  for (const json& e : trace.at("traceEvents")) events += e.at("ph") == "X";
  EXPECT_EQ(events, 2u);
  auto bad = make_encoded_file_writer((dir_ / "no" / "x.html").string(), encode_html);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("No such file or directory"), std::string::npos)
      << bad.error().message;
}

}  // namespace
}  // namespace loopprof
