#include "python/objects.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/utf8.hpp"

namespace loopprof::python {

namespace {
constexpr uint64_t kMaxStringChars = 4096;
constexpr uint64_t kMaxDictEntries = 1 << 20;
constexpr uint32_t kDictKeys = 32;    // PyDictObject.ma_keys
constexpr uint32_t kDictValues = 40;  // PyDictObject.ma_values
constexpr int64_t kManagedDict = -3 * 8;
constexpr int64_t kManagedValues311 = -4 * 8;

struct VersionRow {
  int minor;
  ObjectLayout layout;
};

using K = ObjectLayout::Keys;
using D = ObjectLayout::InstanceDict;

// Offsets read with gdb (`ptype /o`) from each pyenv libpython 3.8 .. 3.13.
const VersionRow kRows[] = {
    {8, {K::v38, false, D::dict_offset, 0, 32, 288, 872, 56, 264, 16}},
    {9, {K::v38, false, D::dict_offset, 0, 32, 288, 864, 856, 264, 16}},
    {10, {K::v38, false, D::dict_offset, 0, 32, 288, 872, 856, 264, 48}},
    {11, {K::v311, false, D::managed311, 0, 32, 288, 872, 888, 264, 48}},
    {12, {K::v311, true, D::dict_or_values, 0, 32, 288, 880, 944, 264, 48}},
    {13, {K::v311, true, D::inline_values, 8, 32, 288, 880, 7656, 264, 48}},
};
}  // namespace

std::optional<ObjectLayout> object_layout_for(PyVersion version) {
  if (version.major != 3) return std::nullopt;
  for (const VersionRow& row : kRows)
    if (row.minor == version.minor) return row.layout;
  return std::nullopt;
}

std::optional<std::string> read_str(const MemoryReader& memory, const InterpreterLayout& layout,
                                    uint64_t object) {
  auto length = memory.value<int64_t>(object + layout.unicode_length);
  auto state = memory.value<uint32_t>(object + layout.unicode_state);
  if (!length || !state || *length < 0 || static_cast<uint64_t>(*length) > kMaxStringChars)
    return std::nullopt;
  unsigned kind = (*state >> 2) & 7;
  bool compact = (*state >> 5) & 1;
  bool ascii = (*state >> 6) & 1;
  if (!compact || (kind != 1 && kind != 2 && kind != 4)) return std::nullopt;
  uint64_t data = object + (ascii ? layout.unicode_ascii_data : layout.unicode_compact_data);
  auto raw = memory.bytes(data, static_cast<size_t>(*length) * kind);
  if (!raw) return std::nullopt;
  // Names and file names hold no control characters; an ASCII string no
  // byte >= 0x80: anything else is memory that is not (or no longer) a str.
  if (ascii) {
    for (uint8_t b : *raw)
      if (b < 0x20 || b >= 0x7f) return std::nullopt;
    return std::string(raw->begin(), raw->end());
  }
  std::string out;
  for (size_t i = 0; i < raw->size(); i += kind) {
    uint32_t c = 0;
    for (unsigned b = 0; b < kind; b++) c |= static_cast<uint32_t>((*raw)[i + b]) << (8 * b);
    if (c < 0x20 || (c >= 0xd800 && c < 0xe000)) return std::nullopt;
    append_utf8(out, c);
  }
  return out;
}

std::optional<std::string> PyObjects::str(uint64_t object) const {
  if (object == 0) return std::nullopt;
  return read_str(memory_, layout_, object);
}

std::optional<int64_t> PyObjects::integer(uint64_t object) const {
  auto size = memory_.value<int64_t>(object + 16);
  if (!size || object == 0) return std::nullopt;
  int64_t ndigits = *size, sign = 1;
  if (objects_.int_tag) {
    uint64_t tag = static_cast<uint64_t>(*size);
    ndigits = static_cast<int64_t>(tag >> 3);
    sign = 1 - static_cast<int64_t>(tag & 3);
  } else if (ndigits < 0) {
    ndigits = -ndigits;
    sign = -1;
  }
  if (ndigits < 0 || ndigits > 2 || sign < -1) return std::nullopt;  // 30-bit digits: < 2^60
  auto digits = memory_.value<uint64_t>(object + 24);
  if (!digits) return std::nullopt;
  int64_t v = 0;
  if (ndigits >= 1) v = static_cast<int64_t>(*digits & 0x3fffffff);
  if (ndigits == 2) v |= static_cast<int64_t>((*digits >> 32) & 0x3fffffff) << 30;
  return sign * v;
}

bool PyObjects::for_each_entry(uint64_t keys, uint64_t values, size_t limit,
                               const std::function<void(uint64_t, uint64_t)>& each) const {
  uint64_t nentries = 0, entries = 0, entry_size = 24, key_at = 8, value_at = 16;
  if (objects_.keys == K::v38) {
    auto size = memory_.value<int64_t>(keys + 8);
    auto n = memory_.value<int64_t>(keys + 32);
    if (!size || !n || *size <= 0 || *size > static_cast<int64_t>(kMaxDictEntries) * 2 ||
        (*size & (*size - 1)) != 0 || *n < 0 || *n > *size)
      return false;
    uint64_t width = *size <= 0xff ? 1 : *size <= 0xffff ? 2 : 4;
    nentries = static_cast<uint64_t>(*n);
    entries = keys + 40 + static_cast<uint64_t>(*size) * width;
  } else {
    auto log2_size = memory_.value<uint8_t>(keys + 8);
    auto log2_index_bytes = memory_.value<uint8_t>(keys + 9);
    auto kind = memory_.value<uint8_t>(keys + 10);
    auto n = memory_.value<int64_t>(keys + 24);
    if (!log2_size || !log2_index_bytes || !kind || !n || *log2_size > 21 ||
        *log2_index_bytes > 24 || *kind > 2 || *n < 0 || *n > (int64_t{1} << *log2_size))
      return false;
    nentries = static_cast<uint64_t>(*n);
    entries = keys + 32 + (uint64_t{1} << *log2_index_bytes);
    if (*kind != 0) entry_size = 16, key_at = 0, value_at = 8;
  }
  nentries = std::min<uint64_t>(nentries, limit);
  if (nentries == 0) return true;
  auto raw = memory_.bytes(entries, nentries * entry_size);
  if (!raw) return false;
  std::vector<uint64_t> split;
  if (values) {
    auto v = memory_.bytes(values + objects_.values_array, nentries * 8);
    if (!v) return false;
    split.resize(nentries);
    std::memcpy(split.data(), v->data(), nentries * 8);
  }
  for (uint64_t i = 0; i < nentries; i++) {
    uint64_t key = 0, value = 0;
    std::memcpy(&key, raw->data() + i * entry_size + key_at, 8);
    std::memcpy(&value, raw->data() + i * entry_size + value_at, 8);
    if (values) value = split[i];
    if (key != 0 && value != 0) each(key, value);
  }
  return true;
}

bool PyObjects::for_each_item(uint64_t dict, size_t limit,
                              const std::function<void(uint64_t, uint64_t)>& each) const {
  auto keys = memory_.value<uint64_t>(dict + kDictKeys);
  auto values = memory_.value<uint64_t>(dict + kDictValues);
  if (dict == 0 || !keys || !values || *keys == 0) return false;
  return for_each_entry(*keys, *values, limit, each);
}

std::optional<uint64_t> PyObjects::item(uint64_t dict, const std::string& key) const {
  uint64_t found = 0;
  bool ok = for_each_item(dict, kMaxDictEntries, [&](uint64_t k, uint64_t v) {
    if (found == 0 && str(k) == key) found = v;
  });
  if (!ok) return std::nullopt;
  return found;
}

std::optional<uint64_t> PyObjects::attribute(uint64_t object, const std::string& name) const {
  auto type = memory_.value<uint64_t>(object + layout_.object_type);
  if (object == 0 || !type || *type == 0) return std::nullopt;
  auto from_values = [&](uint64_t values) -> std::optional<uint64_t> {
    auto keys = memory_.value<uint64_t>(*type + objects_.type_cached_keys);
    if (!keys || *keys == 0) return std::nullopt;
    uint64_t found = 0;
    bool ok = for_each_entry(*keys, values, kMaxDictEntries, [&](uint64_t k, uint64_t v) {
      if (found == 0 && str(k) == name) found = v;
    });
    if (!ok) return std::nullopt;
    return found;
  };
  switch (objects_.instance_dict) {
    case D::dict_offset: {
      auto offset = memory_.value<int64_t>(*type + objects_.type_dictoffset);
      if (!offset || *offset <= 0 || *offset > 4096) return std::nullopt;
      auto dict = memory_.value<uint64_t>(object + static_cast<uint64_t>(*offset));
      if (!dict || *dict == 0) return std::nullopt;
      return item(*dict, name);
    }
    case D::managed311: {
      auto dict = memory_.value<uint64_t>(object + kManagedDict);
      if (dict && *dict != 0) return item(*dict, name);
      auto values = memory_.value<uint64_t>(object + kManagedValues311);
      if (!values || *values == 0) return std::nullopt;
      return from_values(*values);
    }
    case D::dict_or_values: {
      auto v = memory_.value<uint64_t>(object + kManagedDict);
      if (!v || *v == 0) return std::nullopt;
      if (*v & 1) return from_values(*v + 1);  // stored as values - 1
      return item(*v, name);
    }
    case D::inline_values: {
      auto dict = memory_.value<uint64_t>(object + kManagedDict);
      if (dict && *dict != 0) return item(*dict, name);
      auto basicsize = memory_.value<int64_t>(*type + objects_.type_basicsize);
      if (!basicsize || *basicsize <= 0 || *basicsize > 4096) return std::nullopt;
      uint64_t values = object + static_cast<uint64_t>(*basicsize);
      auto valid = memory_.value<uint8_t>(values + 3);
      if (!valid || *valid == 0) return std::nullopt;
      return from_values(values);
    }
  }
  return std::nullopt;
}

}  // namespace loopprof::python
