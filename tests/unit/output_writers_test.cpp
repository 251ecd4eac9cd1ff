// The folded and JSON Lines writers: format, aggregation, and that files appear
// only complete.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "output/sink.hpp"

namespace loopprof {
namespace {

namespace fs = std::filesystem;

class OutputWritersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("loopprof-out-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string read(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  size_t files_in_dir() const {
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir_), {}));
  }

  fs::path dir_;
};

Frame native(const char* name) {
  return Frame{.kind = FrameKind::native, .name = name};
}
Frame kernel(const char* name) {
  return Frame{.kind = FrameKind::kernel, .name = name};
}

Stall sleep_stall(uint64_t seq, uint64_t us, bool ongoing = false) {
  Stall s{.pid = 10,
          .tid = 11,
          .thread = "loop",
          .seq = seq,
          .duration_ns = us * 1000,
          .off_cpu_ns = us * 1000,
          .ongoing = ongoing};
  s.stacks.push_back({{native("main"), native("handler;with;semicolons"), kernel("schedule")},
                      us,
                      CpuState::off_cpu});
  return s;
}

std::map<std::string, uint64_t> parse_folded(const std::string& text) {
  std::map<std::string, uint64_t> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::stoull(line.substr(space + 1));
  }
  return out;
}

TEST_F(OutputWritersTest, FoldedAggregatesFinalStallsRootFirstWithUnambiguousLabels) {
  fs::path path = dir_ / "stalls.folded";
  auto writer = make_folded_writer(path.string());
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  (*writer)->stall(sleep_stall(1, 300000, /*ongoing=*/true));  // not counted: final comes later
  (*writer)->stall(sleep_stall(1, 300500));
  (*writer)->stall(sleep_stall(2, 120000));
  EXPECT_FALSE(fs::exists(path)) << "visible before it is complete";
  ASSERT_TRUE((*writer)->finish(Summary{}).ok());

  auto folded = parse_folded(read(path));
  ASSERT_EQ(folded.size(), 1u);
  EXPECT_EQ(folded.begin()->first, "main;handler:with:semicolons;schedule_[k]");
  EXPECT_EQ(folded.begin()->second, 420500u);
  EXPECT_EQ(files_in_dir(), 1u) << "temporary file left behind";
}

TEST_F(OutputWritersTest, FoldedIncludesStallsStillOngoingAtExit) {
  fs::path path = dir_ / "stalls.folded";
  auto writer = make_folded_writer(path.string());
  ASSERT_TRUE(writer.ok());
  Summary summary;
  summary.ongoing_at_exit.push_back(sleep_stall(7, 900000, true));
  ASSERT_TRUE((*writer)->finish(summary).ok());
  EXPECT_EQ(parse_folded(read(path)).begin()->second, 900000u);
}

TEST_F(OutputWritersTest, AbandonedWriterLeavesNothingBehind) {
  fs::path path = dir_ / "stalls.folded";
  {
    auto writer = make_folded_writer(path.string());
    ASSERT_TRUE(writer.ok());
    (*writer)->stall(sleep_stall(1, 300000));
  }  // destroyed without finish(): e.g. a failed run
  EXPECT_EQ(files_in_dir(), 0u);
}

TEST_F(OutputWritersTest, UnwritableDirectoryIsAClearError) {
  auto writer = make_folded_writer((dir_ / "missing" / "x.folded").string());
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.error().message.find("No such file or directory"), std::string::npos)
      << writer.error().message;
}

TEST_F(OutputWritersTest, JsonlHasOneStallObjectPerLineWithTheDocumentedFields) {
  fs::path path = dir_ / "events.jsonl";
  auto writer = make_jsonl_writer(path.string());
  ASSERT_TRUE(writer.ok());
  (*writer)->stall(sleep_stall(3, 250000, true));
  (*writer)->stall(sleep_stall(3, 400000));
  ASSERT_TRUE((*writer)->finish(Summary{.pid = 10, .stop_reason = "target exited"}).ok());

  std::istringstream lines(read(path));
  std::vector<nlohmann::json> objects;
  for (std::string line; std::getline(lines, line);) objects.push_back(nlohmann::json::parse(line));
  ASSERT_GE(objects.size(), 3u);
  for (const char* key : {"event", "pid", "tid", "thread", "start_ns", "duration_ms", "on_cpu_ms",
                          "off_cpu_ms", "ongoing", "stacks"})
    EXPECT_TRUE(objects[1].contains(key)) << key;
  EXPECT_EQ(objects[0]["ongoing"], true);
  EXPECT_EQ(objects[1]["ongoing"], false);
  EXPECT_EQ(objects[0]["seq"], objects[1]["seq"]);
  EXPECT_DOUBLE_EQ(objects[1]["duration_ms"].get<double>(), 400.0);
  const auto& stack = objects[1]["stacks"][0];
  EXPECT_EQ(stack["state"], "off_cpu");
  EXPECT_EQ(stack["weight_us"], 400000);
  EXPECT_EQ(stack["frames"].front(), "main");
  EXPECT_EQ(stack["frames"].back(), "schedule_[k]");
  EXPECT_EQ(objects.back()["event"], "summary");
}

}  // namespace
}  // namespace loopprof
