// Code objects of the target read from its memory: names, file, line table.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "python/layout.hpp"
#include "python/memory.hpp"

namespace loopprof::python {

struct CodeInfo {
  std::string name;      // co_qualname (3.11+) or co_name
  std::string filename;  // co_filename
  int first_line = 0;
  int64_t code_units = -1;  // Py_SIZE(code): 2-byte code units (3.11+), -1 unknown
  std::vector<uint8_t> line_table;
  // What the cache compares to tell a reused address from the same object.
  uint64_t name_ptr = 0;
  uint64_t filename_ptr = 0;
  uint64_t line_table_ptr = 0;
};

// Reads and caches code objects by address. A cached entry is re-checked on
// each use against the object's current header (type, name, file and table
// pointers, first line), so a freed and reused address is read anew. Garbage
// gives nullopt, never an exception.
class CodeObjects {
 public:
  // `code_type`: address of PyCode_Type in the target (0: not checked).
  CodeObjects(const MemoryReader& memory, const InterpreterLayout& layout, uint64_t code_type);

  const CodeInfo* get(uint64_t code);
  // Line of a frame from the raw instruction value the BPF walker read.
  int line_of(const CodeInfo& info, uint64_t code, uint64_t instr) const;
  // A str object of the target as UTF-8 (nullopt if it is not a compact str).
  std::optional<std::string> string(uint64_t unicode) const;

  size_t cache_size() const { return cache_.size(); }
  size_t reads() const { return reads_; }

 private:
  struct Header {
    uint64_t type = 0, name = 0, filename = 0, line_table = 0;
    int first_line = 0;
    int64_t code_units = -1;
  };
  std::optional<Header> header(uint64_t code) const;
  // 3.11+: the code-unit index of an instruction pointer, in co_code_adaptive
  // or (3.14t) in one of the thread-local copies; -1 just before the first
  // instruction (a frame not started yet); -2 if in neither.
  int64_t instr_index(const CodeInfo& info, uint64_t code, uint64_t instr) const;
  std::optional<CodeInfo> read(uint64_t code, const Header& h) const;

  const MemoryReader& memory_;
  InterpreterLayout layout_;
  uint64_t code_type_;
  std::unordered_map<uint64_t, CodeInfo> cache_;
  size_t reads_ = 0;
};

}  // namespace loopprof::python
