// JavaScript frames for a V8 target (Node.js): the per-process piece of the
// V8 support. Detect: a mapped ELF (the node executable, or libnode.so) that
// carries V8's v8dbg_* metadata; per binary: its V8Layout; per process: a
// V8FrameReader over the target's memory.
//   for each capture: user frames whose code is V8's (JIT code, or a
//   Builtins_* trampoline) are replaced by what the frame reader names.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "bpf/abi.hpp"
#include "core/error.hpp"
#include "model/frame.hpp"
#include "node/v8_frame_reader.hpp"
#include "python/memory.hpp"
#include "unwind/snapshot_bytes.hpp"

namespace loopprof::node {

class NodeSupport {
 public:
  // nullptr when `pid` maps no V8 binary; an Error when it does but its
  // metadata cannot be used (print it as a warning: frames stay native).
  static Result<std::unique_ptr<NodeSupport>> attach(pid_t pid);

  NodeSupport(const NodeSupport&) = delete;
  NodeSupport& operator=(const NodeSupport&) = delete;

  // "V8 frames (/usr/bin/node)"
  std::string description() const;

  // Could the native frame `native` (as the symbolizer named it) be V8's
  // own code, so that its frame pointer leads to a V8 frame?
  static bool is_v8_code(const Frame& native);

  // The frame to show for the user frame whose frame pointer is `fp`, or
  // nullopt to keep the native one. Typed frames replace only frames the
  // symbolizer could not name.
  std::optional<Frame> frame(uint64_t fp, const Frame& native, const SnapshotBytes& snapshot);

  const V8ReaderStats& stats() const { return reader_.stats(); }

 private:
  NodeSupport(pid_t pid, std::string binary, V8Layout layout)
      : binary_(std::move(binary)), memory_(pid), reader_(std::move(layout), memory_) {}
  std::string binary_;
  python::ProcessMemory memory_;
  V8FrameReader reader_;
};

}  // namespace loopprof::node
