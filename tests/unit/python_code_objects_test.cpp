#include <gtest/gtest.h>

#include "python/code_objects.hpp"
#include "python_fake_memory.hpp"

namespace loopprof::python {
namespace {

using testing::FakeMemory;

constexpr uint64_t kCodeType = 0x5000;

class CodeObjectsTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { layout_ = layout_for_version({3, GetParam(), 0}).value(); }

  // A compact str object; `ascii` strings store 1-byte chars after
  // PyASCIIObject, others `kind`-byte chars after PyCompactUnicodeObject.
  void put_string(uint64_t at, const std::u32string& text, unsigned kind) {
    const bool ascii =
        kind == 1 && std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x80; });
    mem_.map(at, 256);
    mem_.put<int64_t>(at + layout_.unicode_length, static_cast<int64_t>(text.size()));
    mem_.put<uint32_t>(at + layout_.unicode_state, (kind << 2) | (1u << 5) | (ascii << 6));
    uint64_t data = at + (ascii ? layout_.unicode_ascii_data : layout_.unicode_compact_data);
    for (size_t i = 0; i < text.size(); i++) {
      uint32_t c = text[i];
      mem_.write(data + i * kind, &c, kind);
    }
  }
  void put_bytes(uint64_t at, const std::vector<uint8_t>& bytes) {
    mem_.map(at, 64 + bytes.size());
    mem_.put<int64_t>(at + layout_.bytes_size, static_cast<int64_t>(bytes.size()));
    mem_.write(at + layout_.bytes_data, bytes.data(), bytes.size());
  }
  void put_code(uint64_t at, uint64_t name, uint64_t file, uint64_t table, int first_line) {
    mem_.map(at, 256);
    mem_.put<uint64_t>(at + layout_.object_type, kCodeType);
    mem_.put<uint64_t>(at + layout_.code_name, name);
    if (layout_.code_qualname != kNoOffset) mem_.put<uint64_t>(at + layout_.code_qualname, name);
    mem_.put<uint64_t>(at + layout_.code_filename, file);
    mem_.put<uint64_t>(at + layout_.code_linetable, table);
    mem_.put<int32_t>(at + layout_.code_firstlineno, first_line);
    if (layout_.code_code_adaptive != kNoOffset)  // 3.11+: Py_SIZE(code), in code units
      mem_.put<int64_t>(at + layout_.object_size, 32);
  }
  // A line table where every instruction is on first_line + 1.
  std::vector<uint8_t> one_line_table() const {
    switch (layout_.line_table) {
      case LineTableFormat::lnotab:
        return {0, 1};  // at byte 0, line += 1
      case LineTableFormat::linetable310:
        return {200, 1};  // 200 bytes at line + 1
      case LineTableFormat::locations311:
        return {0x80 | (13 << 3) | 7, 2};  // 8 units, no columns, line delta +1
    }
    return {};
  }

  InterpreterLayout layout_;
  FakeMemory mem_;
};

TEST_P(CodeObjectsTest, ReadsNamesFileAndLine) {
  put_string(0x1000, U"Handler.get", 1);
  put_string(0x2000, U"/srv/app/h\u00e9llo_\u4e16.py", 2);
  put_bytes(0x3000, one_line_table());
  put_code(0x4000, 0x1000, 0x2000, 0x3000, 41);
  CodeObjects code(mem_, layout_, kCodeType);
  const CodeInfo* info = code.get(0x4000);
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->name, GetParam() >= 11 ? "Handler.get" : "Handler.get");
  EXPECT_EQ(info->filename, "/srv/app/h\xc3\xa9llo_\xe4\xb8\x96.py");
  EXPECT_EQ(info->first_line, 41);
  // The third instruction: lasti 4 (bytes), lasti 2 (units), or a pointer.
  uint64_t instr = layout_.instr == InstrKind::lasti_bytes ? 4
                   : layout_.instr == InstrKind::lasti_units
                       ? 2
                       : 0x4000 + layout_.code_code_adaptive + 4;
  EXPECT_EQ(code.line_of(*info, 0x4000, instr), 42);
}

TEST_P(CodeObjectsTest, CachedUntilTheAddressHoldsAnotherCodeObject) {
  put_string(0x1000, U"first", 1);
  put_string(0x1800, U"second", 1);
  put_string(0x2000, U"app.py", 1);
  put_bytes(0x3000, one_line_table());
  put_code(0x4000, 0x1000, 0x2000, 0x3000, 10);
  CodeObjects code(mem_, layout_, kCodeType);
  ASSERT_NE(code.get(0x4000), nullptr);
  ASSERT_NE(code.get(0x4000), nullptr);
  EXPECT_EQ(code.reads(), 1u);
  put_code(0x4000, 0x1800, 0x2000, 0x3000, 10);  // freed, reused
  const CodeInfo* info = code.get(0x4000);
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->name, "second");
  EXPECT_EQ(code.reads(), 2u);
}

TEST_P(CodeObjectsTest, GarbageIsRejected) {
  put_string(0x1000, U"f", 1);
  put_string(0x2000, U"app.py", 1);
  put_bytes(0x3000, one_line_table());
  put_code(0x4000, 0x1000, 0x2000, 0x3000, 10);
  mem_.put<uint64_t>(0x4000 + layout_.object_type, 0x6000);  // not a code object
  CodeObjects code(mem_, layout_, kCodeType);
  EXPECT_EQ(code.get(0x4000), nullptr);
  EXPECT_EQ(code.get(0), nullptr);
  EXPECT_EQ(code.get(0xdead0000), nullptr);  // unmapped
  put_code(0x4000, 0x1000, 0x2000, 0x3000, 10);
  mem_.put<int64_t>(0x1000 + layout_.unicode_length, 1 << 30);  // absurd length
  EXPECT_EQ(code.get(0x4000), nullptr);
  put_string(0x1000, U"f", 1);
  mem_.put<int64_t>(0x3000 + layout_.bytes_size, -5);  // negative table size
  EXPECT_EQ(code.get(0x4000), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Versions, CodeObjectsTest, ::testing::Values(8, 9, 10, 11, 12),
                         [](const auto& info) { return "py3_" + std::to_string(info.param); });

}  // namespace
}  // namespace loopprof::python
