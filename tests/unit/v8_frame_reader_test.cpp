// The V8 frame reader on memory recorded from a live Node 20 process
// (tests/unit/data/v8/, written by tests/tools/v8_frames_recorder): no
// process, no kernel. The recorded bytes are those the reader read when it
// named the frames, so a change in what it reads needs a new recording.
#include "node/v8_frame_reader.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "node/v8_layout.hpp"

namespace loopprof::node {
namespace {

class ReplayMemory final : public python::MemoryReader {
 public:
  explicit ReplayMemory(const nlohmann::json& runs) {
    for (const auto& run : runs) {
      uint64_t address = std::stoull(run[0].get<std::string>(), nullptr, 16);
      const std::string hex = run[1].get<std::string>();
      for (size_t i = 0; i + 1 < hex.size(); i += 2)
        bytes_[address + i / 2] = static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16));
    }
  }
  bool read(uint64_t address, void* out, size_t size) const override {
    auto* o = static_cast<uint8_t*>(out);
    for (size_t i = 0; i < size; i++) {
      auto it = bytes_.find(address + i);
      if (it == bytes_.end()) return false;
      o[i] = it->second;
    }
    return true;
  }
  std::map<uint64_t, uint8_t>& bytes() { return bytes_; }

 private:
  std::map<uint64_t, uint8_t> bytes_;
};

nlohmann::json recording(const std::string& name) {
  std::ifstream in(std::string(LOOPPROF_TEST_SOURCE_DIR) + "/unit/data/v8/" + name);
  return nlohmann::json::parse(in);
}

V8Layout layout_of(const nlohmann::json& rec) {
  auto layout = v8_layout_from_symbols(rec["v8dbg"].get<V8DebugSymbols>());
  EXPECT_TRUE(layout.ok()) << layout.error().message;
  return layout.value();
}

uint64_t fp_of(const nlohmann::json& frame) {
  return std::stoull(frame["fp"].get<std::string>(), nullptr, 16);
}

TEST(V8FrameReader, NamesRecordedNode20FramesWithFunctionScriptAndLine) {
  const auto rec = recording("node20-pbkdf2.json");
  const auto& sample = rec["samples"][0];
  ReplayMemory heap(sample["heap"]), stack(sample["stack"]);
  V8FrameReader reader(layout_of(rec), heap);
  std::vector<std::string> labels;
  for (const auto& expected : sample["frames"]) {
    auto frame = reader.read(fp_of(expected), stack);
    ASSERT_TRUE(frame.has_value()) << expected.dump();
    EXPECT_EQ(frame->function, expected["function"].get<std::string>());
    EXPECT_EQ(frame->script, expected["script"].get<std::string>());
    EXPECT_EQ(frame->line, expected["line"].get<uint32_t>());
    labels.push_back(frame->function + ":" + std::to_string(frame->line));
  }
  // Ground truth, from the fixture's source (tests/fixtures/node_crypto.js)
  // and the call chain: interpreted frames, exact lines.
  const std::vector<std::string> want = {
      "BuiltinExitFrame:0", "pbkdf2Sync:74",     "hashPassword:11", "run:30",      "(anonymous):42",
      "listOnTimeout:574",  "processTimers:512", "InternalFrame:0", "EntryFrame:0"};
  EXPECT_EQ(labels, want);
  EXPECT_EQ(reader.stats().frames, 6u);
  EXPECT_EQ(reader.stats().typed_frames, 3u);
}

// Official Node 22 (V8 12.4: Tagged<T> field spellings, BytecodeArray in
// trusted space) and Node 24 (V8 13.6: ScopeInfo with its position info
// before the locals) binaries, recorded by tests/tools/v8_frames_recorder on
// the same fixture: the same chain, exact lines.
struct Recorded {
  const char* file;
  std::vector<std::string> want;
};

class V8RecordedMajors : public ::testing::TestWithParam<Recorded> {};

TEST_P(V8RecordedMajors, NamesFramesWithFunctionScriptAndLine) {
  const auto rec = recording(GetParam().file);
  const auto& sample = rec["samples"][0];
  ReplayMemory heap(sample["heap"]), stack(sample["stack"]);
  V8FrameReader reader(layout_of(rec), heap);
  std::vector<std::string> labels;
  for (const auto& expected : sample["frames"]) {
    auto frame = reader.read(fp_of(expected), stack);
    ASSERT_TRUE(frame.has_value()) << expected.dump();
    labels.push_back(frame->function + ":" + std::to_string(frame->line));
  }
  EXPECT_EQ(labels, GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Majors, V8RecordedMajors,
    ::testing::Values(Recorded{"node22-pbkdf2.json",
                               {"ApiCallbackExitFrame:0", "pbkdf2Sync:74", "hashPassword:11",
                                "run:30", "(anonymous):42", "listOnTimeout:578",
                                "processTimers:514", "InternalFrame:0", "EntryFrame:0"}},
                      Recorded{"node24-pbkdf2.json",
                               {"ApiCallbackExitFrame:0", "pbkdf2Sync:79", "hashPassword:11",
                                "run:30", "(anonymous):42", "listOnTimeout:677",
                                "processTimers:611", "InternalFrame:0", "EntryFrame:0"}}),
    [](const auto& info) {
      return std::string(info.param.file).substr(0, std::string(info.param.file).find('-'));
    });

// A collected or moved SharedFunctionInfo (its map no longer says so) gives no
// frame rather than a wrong name.
TEST(V8FrameReader, ObjectFailingItsTypeCheckGivesNoFrame) {
  const auto rec = recording("node20-pbkdf2.json");
  const auto& sample = rec["samples"][0];
  ReplayMemory heap(sample["heap"]), stack(sample["stack"]);
  const V8Layout layout = layout_of(rec);
  uint64_t fp = 0;
  for (const auto& f : sample["frames"])
    if (f["function"] == "hashPassword") fp = fp_of(f);
  ASSERT_NE(fp, 0u);
  uint64_t function = 0, shared = 0;
  ASSERT_TRUE(stack.read(fp + layout.fp_function, &function, 8));
  ASSERT_TRUE(heap.read(function - 1 + layout.function_shared, &shared, 8));
  heap.bytes()[shared - 1] ^= 0x10;  // its map pointer now points elsewhere
  V8FrameReader reader(layout, heap);
  EXPECT_FALSE(reader.read(fp, stack).has_value());
  EXPECT_EQ(reader.stats().unreadable, 1u);
}

TEST(V8FrameReader, MissingMetadataIsAClearError) {
  auto layout = v8_layout_from_symbols({{"off_fp_function", -16}});
  ASSERT_FALSE(layout.ok());
  EXPECT_NE(layout.error().message.find("v8dbg_"), std::string::npos) << layout.error().message;
}

TEST(V8SourcePositions, DecodesDeltaZigZagEntries) {
  // (code 0, position 10 statement), (code 3, position 25 expression):
  // positions are stored as SourcePosition raw values ((offset + 1) << 1).
  auto zig = [](int64_t v) { return static_cast<uint8_t>((v << 1) ^ (v >> 63)); };
  const int64_t raw1 = (10 + 1) << 1, raw2 = (25 + 1) << 1;
  std::vector<uint8_t> table = {zig(0), zig(raw1), zig(-3 - 1), zig(raw2 - raw1)};
  auto entries = decode_source_positions(table);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0], std::make_pair(0, 10));
  EXPECT_EQ(entries[1], std::make_pair(3, 25));
  EXPECT_EQ(line_ends_of("a\nbc\n"), (std::vector<int>{1, 4}));
}

}  // namespace
}  // namespace loopprof::node
