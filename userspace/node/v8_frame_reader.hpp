// Names a V8 stack frame from its frame pointer, the way a post-mortem
// debugger does: the frame's slots (read from the stack bytes captured with
// the sample) give the JSFunction, and the heap (read afterwards from the
// live process) gives its SharedFunctionInfo's name, its Script's name and the
// line. Interpreted frames get the line being executed (bytecode offset ->
// source position table); baseline and optimized frames the line where the
// function's code starts. Typed frames (stubs, entry and exit frames) are
// named by their V8 frame type.
//
// Reading the heap after the fact: the objects a frame leads to (JSFunction,
// SharedFunctionInfo, Script, strings) are long-lived and read within
// milliseconds of the capture, but a garbage collection may have moved them.
// Every object is checked by its map's instance type before use, so a moved
// object gives no name (the native symbol stays), never a wrong one.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "node/v8_layout.hpp"
#include "python/memory.hpp"

namespace loopprof::node {

using python::MemoryReader;

struct V8Frame {
  enum class Kind { javascript, typed };
  Kind kind = Kind::javascript;
  std::string function;     // "hashPassword", "(anonymous)"; typed: V8's frame type ("StubFrame")
  std::string script;       // script name as V8 knows it (a path, "node:internal/...")
  uint32_t line = 0;        // 1-based; 0 unknown
  bool exact_line = false;  // the line executing (interpreted frames), not the function's
};

struct V8ReaderStats {
  uint64_t frames = 0;        // JavaScript frames named
  uint64_t typed_frames = 0;  // typed frames named by type
  uint64_t unreadable = 0;    // looked like a JS frame, but an object failed its type check
};

class V8FrameReader {
 public:
  // `heap` reads the target's memory (live); it must outlive the reader.
  V8FrameReader(V8Layout layout, const MemoryReader& heap)
      : layout_(std::move(layout)), heap_(heap) {}

  // The frame whose frame pointer is `fp`. `stack` reads the stack as it was
  // at capture time (the snapshot). nullopt: not a V8 frame.
  std::optional<V8Frame> read(uint64_t fp, const MemoryReader& stack);

  const V8ReaderStats& stats() const { return stats_; }
  const V8Layout& layout() const { return layout_; }

 private:
  struct FunctionInfo {
    std::string name;
    std::string script;
    uint64_t script_address = 0;
    int function_position = -1;  // source position where its code starts; -1 unknown
  };
  struct ScriptLines {
    uint64_t source = 0;         // the source object they were computed from
    std::vector<int> line_ends;  // positions of the '\n's
  };

  bool is_smi(uint64_t v) const { return (v & 1) == 0; }
  int64_t smi(uint64_t v) const { return static_cast<int64_t>(v) >> layout_.smi_shift; }
  bool is_heap_object(uint64_t v) const {
    return (v & layout_.heap_object_tag_mask) == layout_.heap_object_tag;
  }
  std::optional<uint64_t> field(uint64_t object, uint32_t offset) const;
  std::optional<uint32_t> instance_type(uint64_t object) const;
  std::optional<std::string> read_string(uint64_t object, int depth = 0) const;
  std::optional<std::string> scope_info_name(uint64_t scope_info) const;
  std::optional<FunctionInfo> function_info(uint64_t shared);
  std::optional<uint64_t> bytecode_array_of(uint64_t shared) const;
  // Source position at bytecode `offset` (-1: the first entry).
  std::optional<int> source_position(uint64_t bytecode_array, int offset);
  uint32_t line_of(uint64_t script, int position);

  V8Layout layout_;
  const MemoryReader& heap_;
  V8ReaderStats stats_;
  // SharedFunctionInfo -> what it names, keyed also by the fields read, so a
  // reused address is noticed.
  std::map<std::tuple<uint64_t, uint64_t, uint64_t>, FunctionInfo> functions_;
  std::unordered_map<uint64_t, ScriptLines> scripts_;
  // BytecodeArray -> (table object, decoded (bytecode offset, source position))
  std::unordered_map<uint64_t, std::pair<uint64_t, std::vector<std::pair<int, int>>>> positions_;
};

// Decodes a V8 source position table (VLQ, zig-zag, delta encoded) into
// (code offset, script offset) pairs in table order.
std::vector<std::pair<int, int>> decode_source_positions(const std::vector<uint8_t>& table);

// Line ends ('\n' positions) of a script's source text.
std::vector<int> line_ends_of(const std::string& source);

}  // namespace loopprof::node
