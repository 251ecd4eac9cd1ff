// Reading dicts, ints and instance attributes out of fake target memory laid
// out as CPython 3.10, 3.12 and 3.13 lay them out.
#include <gtest/gtest.h>

#include "python/objects.hpp"
#include "python_fake_memory.hpp"

namespace loopprof::python {
namespace {

using testing::FakeMemory;

// A compact ASCII str object at `at`.
void put_str(FakeMemory& m, uint64_t at, const std::string& s) {
  m.map(at, 48 + s.size() + 1);
  m.put<int64_t>(at + 16, static_cast<int64_t>(s.size()));
  m.put<uint32_t>(at + 32, (1u << 2) | (1u << 5) | (1u << 6));  // kind 1, compact, ascii
  m.write(at + 48, s.data(), s.size());
}

ObjectLayout layout_of(int minor) {
  return *object_layout_for(PyVersion{3, minor, 0});
}

TEST(PythonObjects, DictItemsOf310SkipDeletedEntries) {
  FakeMemory m;
  put_str(m, 0x1000, "_name");
  put_str(m, 0x1100, "_native_id");
  const uint64_t dict = 0x2000, keys = 0x3000;
  m.map(dict, 48);
  m.put<uint64_t>(dict + 32, keys);
  m.map(keys, 40 + 8 + 3 * 24);
  m.put<int64_t>(keys + 8, 8);   // dk_size: 1-byte indices
  m.put<int64_t>(keys + 32, 3);  // dk_nentries
  uint64_t entries = keys + 40 + 8;
  m.put<uint64_t>(entries + 8, 0x1000);  // "_name" -> 0xaaa
  m.put<uint64_t>(entries + 16, 0xaaa);
  // entry 1 deleted (key NULL)
  m.put<uint64_t>(entries + 48 + 8, 0x1100);  // "_native_id" -> 0xbbb
  m.put<uint64_t>(entries + 48 + 16, 0xbbb);

  PyObjects objects(m, InterpreterLayout{}, layout_of(10));
  EXPECT_EQ(objects.item(dict, "_name"), 0xaaau);
  EXPECT_EQ(objects.item(dict, "_native_id"), 0xbbbu);
  EXPECT_EQ(objects.item(dict, "absent"), 0u);
  size_t n = 0;
  EXPECT_TRUE(objects.for_each_item(dict, 100, [&](uint64_t, uint64_t) { n++; }));
  EXPECT_EQ(n, 2u);

  m.put<int64_t>(keys + 8, 6);  // not a power of two: garbage, no answer
  EXPECT_FALSE(objects.item(dict, "_name").has_value());
}

TEST(PythonObjects, AttributeFrom313InlineValues) {
  FakeMemory m;
  put_str(m, 0x1000, "_name");
  put_str(m, 0x1100, "_native_id");
  const uint64_t type = 0x5000, keys = 0x6000, object = 0x7018;
  m.map(type, 1024);
  m.put<int64_t>(type + 32, 16);      // tp_basicsize
  m.put<uint64_t>(type + 880, keys);  // ht_cached_keys
  m.map(keys, 32 + 8 + 2 * 16);
  m.put<uint8_t>(keys + 8, 3);   // dk_log2_size
  m.put<uint8_t>(keys + 9, 3);   // dk_log2_index_bytes: 8 index bytes
  m.put<uint8_t>(keys + 10, 2);  // DICT_KEYS_SPLIT
  m.put<int64_t>(keys + 24, 2);  // dk_nentries
  m.put<uint64_t>(keys + 40, 0x1000);
  m.put<uint64_t>(keys + 56, 0x1100);
  m.map(object - 24, 24 + 16 + 8 + 2 * 8);
  m.put<uint64_t>(object + 8, type);   // ob_type; no materialized dict at -24
  m.put<uint8_t>(object + 16 + 3, 1);  // values valid
  m.put<uint64_t>(object + 16 + 8, 0xccc);
  m.put<uint64_t>(object + 16 + 16, 0xddd);

  PyObjects objects(m, InterpreterLayout{}, layout_of(13));
  EXPECT_EQ(objects.attribute(object, "_name"), 0xcccu);
  EXPECT_EQ(objects.attribute(object, "_native_id"), 0xdddu);
  m.put<uint8_t>(object + 16 + 3, 0);  // values moved to a dict that is not there
  EXPECT_FALSE(objects.attribute(object, "_name").has_value());
}

TEST(PythonObjects, IntegersOfEachEncoding) {
  FakeMemory m;
  m.map(0x1000, 32);
  m.put<int64_t>(0x1000 + 16, 1);  // <= 3.11: ob_size = ndigits
  m.put<uint32_t>(0x1000 + 24, 4242);
  EXPECT_EQ(PyObjects(m, InterpreterLayout{}, layout_of(11)).integer(0x1000), 4242);
  m.put<uint64_t>(0x1000 + 16, (1u << 3) | 0);  // 3.12: lv_tag, one digit, positive
  EXPECT_EQ(PyObjects(m, InterpreterLayout{}, layout_of(12)).integer(0x1000), 4242);
  m.put<uint64_t>(0x1000 + 16, (9u << 3) | 0);  // too many digits for a TID
  EXPECT_FALSE(PyObjects(m, InterpreterLayout{}, layout_of(12)).integer(0x1000).has_value());
}

}  // namespace
}  // namespace loopprof::python
