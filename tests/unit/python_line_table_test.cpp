// Line numbers against the tables and lines of the real interpreters on this
// machine (tests/unit/data/python/lines-*.json, from
// tools/python/dump_line_tables.py: each interpreter's own co_positions(),
// co_lines() or dis.findlinestarts() answer for every instruction).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "python/line_table.hpp"

namespace loopprof::python {
namespace {

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

LineTableFormat format_named(const std::string& name) {
  if (name == "lnotab") return LineTableFormat::lnotab;
  if (name == "linetable310") return LineTableFormat::linetable310;
  return LineTableFormat::locations311;
}

TEST(PythonLineTable, MatchesEveryInterpreterOnEveryInstruction) {
  const std::filesystem::path dir =
      std::filesystem::path(LOOPPROF_TEST_SOURCE_DIR) / "unit/data/python";
  std::set<std::string> formats;
  size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path());
    auto doc = nlohmann::json::parse(in);
    const std::string version = doc["version"];
    const LineTableFormat format = format_named(doc["format"]);
    formats.insert(doc["format"].get<std::string>());
    for (const auto& code : doc["codes"]) {
      const auto table = from_hex(code["table"]);
      const int first = code["firstlineno"];
      for (const auto& pair : code["expected"]) {
        const int64_t index = pair[0];
        const int line = pair[1];
        EXPECT_EQ(line_for_instruction(format, table, first, index), line)
            << version << " " << code["name"] << " instruction " << index;
        checked++;
      }
    }
  }
  EXPECT_EQ(formats.size(), 3u) << "expected data for lnotab, 3.10 and 3.11+ tables";
  EXPECT_GT(checked, 5000u);
}

TEST(PythonLineTable, NegativeIndexIsTheFirstLine) {
  EXPECT_EQ(line_for_instruction(LineTableFormat::locations311, {}, 17, -1), 17);
  EXPECT_EQ(line_for_instruction(LineTableFormat::lnotab, {}, 17, -1), 17);
}

TEST(PythonLineTable, GarbageTablesGiveNoLineInsteadOfCrashing) {
  std::vector<uint8_t> junk{0x12, 0xff, 0x7f, 0x80};
  EXPECT_EQ(line_for_instruction(LineTableFormat::locations311, junk, 5, 3), 0);
  std::vector<uint8_t> endless_varint{0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  (void)line_for_instruction(LineTableFormat::locations311, endless_varint, 5, 100);
  EXPECT_EQ(line_for_instruction(LineTableFormat::linetable310, junk, 5, 1000), 0);
}

}  // namespace
}  // namespace loopprof::python
