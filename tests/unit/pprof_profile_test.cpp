// The pprof encoder, checked by pprof itself (`go tool pprof`, Debian's
// golang-go): the file parses, stall time adds up, frames keep file and line.
#include "output/pprof_profile.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "format_fixtures.hpp"
#include "headless_browser.hpp"

namespace loopprof {
namespace {

namespace fs = std::filesystem;
using testing::run_command;
using testing::sample_stalls;

class PprofProfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("loopprof-pprof-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    setenv("HOME", dir_.c_str(), 0);  // go wants a home for its caches
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& bytes) {
    fs::path path = dir_ / "stalls.pb.gz";
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  std::string pprof(const std::string& args, const fs::path& file) {
    int status = 0;
    std::string out = run_command("go tool pprof " + args + " " + file.string() + " 2>&1", &status);
    EXPECT_EQ(status, 0) << out;
    return out;
  }

  fs::path dir_;
};

TEST_F(PprofProfileTest, GoToolPprofReadsSamplesFramesAndLabels) {
  fs::path file = write(encode_pprof(sample_stalls(), {.duration_ns = 5'000'000'000}));
  std::string raw = pprof("-raw", file);
  EXPECT_NE(raw.find("stalls/count stall_time/nanoseconds[dflt]"), std::string::npos) << raw;
  // Python frames carry their file and line.
  EXPECT_NE(raw.find("take_lock app.py:88"), std::string::npos) << raw;
  EXPECT_NE(raw.find("crunch math_utils.py:7"), std::string::npos) << raw;
  // The inlined call is a line of its caller's location.
  EXPECT_TRUE(std::regex_search(
      raw, std::regex(R"(call_inline Python/ceval.c:100 s=0\n\s+_PyEval_EvalFrame)")))
      << raw;
  for (const char* label :
       {"cause:[lock]", "cause:[on_cpu]", "cause:[sleep]", "thread:[loop-2]", "state:[off_cpu]"})
    EXPECT_NE(raw.find(label), std::string::npos) << label << "\n" << raw;
  EXPECT_TRUE(std::regex_search(raw, std::regex(R"(tid:\[11\])"))) << raw;
  EXPECT_TRUE(std::regex_search(raw, std::regex(R"(pid:\[10\])"))) << raw;
  EXPECT_NE(raw.find("python3.11"), std::string::npos) << "no mapping for native frames\n" << raw;
}

TEST_F(PprofProfileTest, ProcessLabelsGoOnEverySampleOfTheirPid) {
  PprofMetadata metadata;
  metadata.process_labels[10] = {{"comm", "python3"}, {"service", "shop.service"}};
  metadata.process_labels[99] = {{"comm", "other"}};
  std::string raw = pprof("-raw", write(encode_pprof(sample_stalls(), metadata)));
  EXPECT_NE(raw.find("comm:[python3]"), std::string::npos) << raw;
  EXPECT_NE(raw.find("service:[shop.service]"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("other"), std::string::npos) << raw;
  // Without them, no such label.
  std::string plain = pprof("-raw", write(encode_pprof(sample_stalls(), {})));
  EXPECT_EQ(plain.find("comm:"), std::string::npos) << plain;
}

TEST_F(PprofProfileTest, TotalStallTimeEqualsTheStallsDurations) {
  fs::path file = write(encode_pprof(sample_stalls(), {}));
  std::string top = pprof("-top -sample_index=stall_time -unit=ms", file);
  // 300 + 120 + 50 ms.
  EXPECT_NE(top.find("of 470ms total"), std::string::npos) << top;
  std::string count = pprof("-top -sample_index=stalls", file);
  EXPECT_NE(count.find("of 3 total"), std::string::npos) << count;
}

TEST_F(PprofProfileTest, StallTimeNoStackAccountsForStillCounts) {
  std::vector<Stall> stalls = sample_stalls();
  stalls[2].stacks.clear();
  stalls[1].stacks[0].weight_us = 100'000;  // 20 ms unattributed
  fs::path file = write(encode_pprof(stalls, {}));
  std::string top = pprof("-top -sample_index=stall_time -unit=ms", file);
  EXPECT_NE(top.find("of 470ms total"), std::string::npos) << top;
  EXPECT_NE(top.find("[no stack captured]"), std::string::npos) << top;
}

TEST_F(PprofProfileTest, EncodingIsDeterministicAndGzipped) {
  std::string a = encode_pprof(sample_stalls(), {.comments = {"loopprof"}});
  std::string b = encode_pprof(sample_stalls(), {.comments = {"loopprof"}});
  EXPECT_EQ(a, b);
  ASSERT_GE(a.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(a[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(a[1]), 0x8b);
}

TEST_F(PprofProfileTest, BuildIdsGoToTheirMappings) {
  fs::path file = write(
      encode_pprof(sample_stalls(), {.build_ids = {{"/usr/bin/python3.11", "0123456789abcdef"}}}));
  std::string raw = pprof("-raw", file);
  EXPECT_NE(raw.find("0123456789abcdef"), std::string::npos) << raw;
}

TEST_F(PprofProfileTest, MappingsCarryTheBuildIdsOfTheirFrames) {
  std::vector<Stall> stalls = sample_stalls();
  for (Stall& stall : stalls)
    for (WeightedStack& stack : stall.stacks)
      for (Frame& frame : stack.frames)
        if (frame.module == "/usr/bin/python3.11") frame.build_id = "49daf84ed369fe58";
  std::string raw = pprof("-raw", write(encode_pprof(stalls, {})));
  EXPECT_TRUE(std::regex_search(raw, std::regex(R"(/usr/bin/python3.11 49daf84ed369fe58)"))) << raw;
}

TEST_F(PprofProfileTest, MainBinaryComesFirstAndPythonNamesStayWhole) {
  // The first stall seen has only kernel and Python frames; its Python
  // frame is a module's top level ("<module>").
  std::vector<Stall> stalls = sample_stalls();
  stalls[2].stacks[0].frames.insert(stalls[2].stacks[0].frames.begin(),
                                    testing::py("<module>", "sleepy.py", 1));
  std::rotate(stalls.begin(), stalls.begin() + 2, stalls.end());
  std::string top = pprof("-top -sample_index=stall_time", write(encode_pprof(stalls, {})));
  EXPECT_NE(top.find("File: python3.11"), std::string::npos) << top;
  EXPECT_NE(top.find(" <module>\n"), std::string::npos) << top;
  EXPECT_EQ(top.find("<unknown>"), std::string::npos) << top;
}

}  // namespace
}  // namespace loopprof
