// Reading Python objects (str, int, dict, instance attributes) out of the
// target's memory. Every read is bounded and checked: garbage gives nullopt.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "python/layout.hpp"
#include "python/memory.hpp"

namespace loopprof::python {

// Where one CPython minor version keeps dictionaries and instance attributes.
struct ObjectLayout {
  enum class Keys : uint8_t {
    v38,  // <= 3.10: dk_size, dk_lookup, 24-byte {hash, key, value} entries
    v311  // >= 3.11: dk_log2_size, dk_kind; unicode keys have 16-byte entries
  };
  enum class InstanceDict : uint8_t {
    dict_offset,     // <= 3.10: the type's tp_dictoffset
    managed311,      // 3.11: dict at -3 words, values at -4 words
    dict_or_values,  // 3.12: -3 words hold a dict, or values | 1
    inline_values    // 3.13: dict at -3 words, else values at tp_basicsize
  };
  Keys keys = Keys::v38;
  bool int_tag = false;  // >= 3.12: lv_tag (ndigits << 3 | sign) for ob_size
  InstanceDict instance_dict = InstanceDict::dict_offset;
  uint32_t values_array = 0;        // PyDictValues -> its values[] (3.13: 8)
  uint32_t type_basicsize = 32;     // PyTypeObject.tp_basicsize
  uint32_t type_dictoffset = 288;   // PyTypeObject.tp_dictoffset
  uint32_t type_cached_keys = 872;  // PyHeapTypeObject.ht_cached_keys
  uint32_t interp_modules = 0;      // PyInterpreterState.modules (imports.modules)
  uint32_t type_dict = 264;         // PyTypeObject.tp_dict (a class's own dict)
  uint32_t function_code = 48;      // PyFunctionObject.func_code (3.8, 3.9: 16)
};

// The table for 3.8 .. 3.13; nullopt for other versions.
std::optional<ObjectLayout> object_layout_for(PyVersion version);

class PyObjects {
 public:
  PyObjects(const MemoryReader& memory, const InterpreterLayout& layout, ObjectLayout objects)
      : memory_(memory), layout_(layout), objects_(objects) {}

  // A compact str object (identifiers, file names, most user strings).
  std::optional<std::string> str(uint64_t object) const;
  // An int that fits in 63 bits.
  std::optional<int64_t> integer(uint64_t object) const;
  // Calls `each(key, value)` for the live items of a dict, at most `limit`.
  bool for_each_item(uint64_t dict, size_t limit,
                     const std::function<void(uint64_t key, uint64_t value)>& each) const;
  // The value of a str key of a dict (0: absent).
  std::optional<uint64_t> item(uint64_t dict, const std::string& key) const;
  // An instance attribute kept in the object's __dict__ (0: absent).
  std::optional<uint64_t> attribute(uint64_t object, const std::string& name) const;

  const ObjectLayout& layout() const { return objects_; }

 private:
  bool for_each_entry(uint64_t keys, uint64_t values, size_t limit,
                      const std::function<void(uint64_t, uint64_t)>& each) const;

  const MemoryReader& memory_;
  InterpreterLayout layout_;
  ObjectLayout objects_;
};

// Shared with CodeObjects: a compact str object read with `layout`.
std::optional<std::string> read_str(const MemoryReader& memory, const InterpreterLayout& layout,
                                    uint64_t object);

}  // namespace loopprof::python
