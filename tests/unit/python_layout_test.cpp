#include <gtest/gtest.h>

#include <cstring>

#include "python/interpreter.hpp"
#include "python/layout.hpp"

namespace loopprof::python {
namespace {

// Every field the BPF walker reads must lie inside the bytes it reads per
// frame and be aligned (lp_py_field() masks offsets to their alignment).
void expect_walkable(const lp_py_config& w, const std::string& what) {
  EXPECT_LE(w.frame_size, static_cast<uint32_t>(LP_PY_FRAME_WINDOW)) << what;
  EXPECT_LE(w.frame_previous + 8, w.frame_size) << what;
  EXPECT_EQ(w.frame_previous % 8, 0u) << what;
  EXPECT_LE(w.frame_code + 8, w.frame_size) << what;
  EXPECT_EQ(w.frame_code % 8, 0u) << what;
  EXPECT_LE(w.frame_instr + w.instr_size, w.frame_size) << what;
  EXPECT_EQ(w.frame_instr % w.instr_size, 0u) << what;
  if (w.frame_owner != kNoOffset) EXPECT_LT(w.frame_owner, w.frame_size) << what;
  if (w.frame_is_entry != kNoOffset) EXPECT_LT(w.frame_is_entry, w.frame_size) << what;
}

TEST(PythonLayout, EveryTableRowIsWalkable) {
  for (int minor = 8; minor <= 12; minor++) {
    auto layout = layout_for_version({3, minor, 0});
    ASSERT_TRUE(layout) << minor;
    expect_walkable(layout->walker, "3." + std::to_string(minor));
    EXPECT_EQ(layout->walker.layout,
              minor <= 10 ? LP_PY_LAYOUT_FRAME_OBJECT : LP_PY_LAYOUT_INTERP_FRAME);
    // f_localsplus / localsplus (gdb ptype/o on each pyenv build): the RLock scan
    EXPECT_EQ(layout->frame_localsplus, minor <= 9 ? 360u : minor == 10 ? 352u : 72u) << minor;
  }
}

TEST(PythonLayout, UnknownVersionsAreAClearError) {
  auto layout = layout_for_version({3, 7, 0});
  ASSERT_FALSE(layout);
  EXPECT_NE(layout.error().message.find("failed to walk Python 3.7.0 frames"), std::string::npos);
}

// The _Py_DebugOffsets of CPython 3.13.0 on this machine (gdb: p _PyRuntime.debug_offsets).
std::vector<uint8_t> debug_offsets_313() {
  const uint64_t fields[] = {
      0,    0x030d00f0, 0,    283320, 608,  632,  194968, 7272, 7264, 7344, 7400, 7656, 7640,
      7648, 16,         7752, 0,      7768, 7760, 304,    0,    8,    16,   72,   152,  160,
      232,  32,         80,   8,      0,    56,   72,     70,   208,  112,  120,  128,  136,
      68,   52,         96,   104,    200,  16,   8,      416,  24,   88,   168,  32,   24,
      16,   40,         24,   16,     48,   32,   40,     24,   16,   32,   16,   24,   40,
      16,   32,         64,   32,     16,   40,   240,    200};
  std::vector<uint8_t> raw(sizeof(fields));
  std::memcpy(raw.data(), fields, sizeof(fields));
  std::memcpy(raw.data(), "xdebugpy", 8);
  return raw;
}

TEST(PythonLayout, DebugOffsetsOf313GiveTheWalkerLayout) {
  auto raw = debug_offsets_313();
  ASSERT_EQ(raw.size(), kDebugOffsetsSize);
  auto layout = parse_debug_offsets(raw);
  ASSERT_TRUE(layout) << layout.error().message;
  EXPECT_EQ(layout->version, (PyVersion{3, 13, 0}));
  EXPECT_EQ(layout->runtime_interpreters_head, 632u);
  EXPECT_EQ(layout->interp_threads_head, 7344u);
  EXPECT_EQ(layout->tstate_thread_id, 152u);
  EXPECT_EQ(layout->walker.tstate_cframe, kNoOffset);
  EXPECT_EQ(layout->walker.tstate_frame, 72u);
  EXPECT_EQ(layout->walker.frame_instr, 56u);
  EXPECT_EQ(layout->walker.frame_owner, 70u);
  EXPECT_EQ(layout->code_qualname, 128u);
  EXPECT_EQ(layout->code_code_adaptive, 200u);
  EXPECT_EQ(layout->unicode_ascii_data, 40u);
  EXPECT_EQ(layout->unicode_compact_data, 56u);
  EXPECT_EQ(layout->frame_localsplus, 72u);
  expect_walkable(layout->walker, "3.13 debug offsets");
}

TEST(PythonLayout, DebugOffsetsWithoutCookieOrOfAnUnknownLayoutAreRejected) {
  auto raw = debug_offsets_313();
  raw[0] = 'X';
  EXPECT_FALSE(parse_debug_offsets(raw));
  raw = debug_offsets_313();
  const uint64_t v316 = 0x031000f0;
  std::memcpy(raw.data() + 8, &v316, 8);
  auto layout = parse_debug_offsets(raw);
  ASSERT_FALSE(layout);
  EXPECT_NE(layout.error().message.find("3.16"), std::string::npos);
  // A 3.14 version on a table the size of 3.13's: the 3.14 field list does not fit.
  raw = debug_offsets_313();
  const uint64_t v314 = 0x030e00f0;
  std::memcpy(raw.data() + 8, &v314, 8);
  layout = parse_debug_offsets(raw);
  ASSERT_FALSE(layout);
  EXPECT_NE(layout.error().message.find("3.14"), std::string::npos) << layout.error().message;
  EXPECT_FALSE(parse_debug_offsets(std::vector<uint8_t>(16, 0)));
}

TEST(PythonLayout, VersionsFromFileNames) {
  EXPECT_EQ(version_from_file_name("/x/lib/libpython3.10.so.1.0"), (PyVersion{3, 10, -1}));
  EXPECT_EQ(version_from_file_name("/usr/bin/python3.11"), (PyVersion{3, 11, -1}));
  EXPECT_EQ(version_from_file_name("/usr/bin/python3"), std::nullopt);
  EXPECT_EQ(PyVersion::from_hex(0x030b07f0), (PyVersion{3, 11, 7}));
}

}  // namespace
}  // namespace loopprof::python
