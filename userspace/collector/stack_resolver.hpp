// Turns the raw addresses of one capture record into frames, root first:
// user frames (outermost caller ... user leaf, with Python frames in place of
// the interpreter's eval frames), then kernel frames.
#pragma once

#include <span>

#include "bpf/abi.hpp"
#include "model/frame.hpp"
#include "node/node_support.hpp"
#include "python/python_support.hpp"
#include "symbols/symbolizer.hpp"
#include "unwind/dwarf_unwinder.hpp"

namespace loopprof {

class StackResolver {
 public:
  // `unwinder` may be null (frame pointers only); `python` may be null (not a
  // CPython target, or an unsupported one).
  StackResolver(KernelSymbolizer& kernel, ProcessSymbolizer& process, DwarfUnwinder* unwinder,
                python::PythonSupport* python)
      : kernel_(kernel), process_(process), unwinder_(unwinder), python_(python) {}

  // `deeper`: the stack bytes above the record's copy (LP_REC_STACK_MORE), if any.
  Frames resolve(const lp_capture_record& record, std::span<const uint8_t> deeper = {});
  // JavaScript frames for a V8 target (may be null).
  void set_node(node::NodeSupport* node) { node_ = node; }
  // The DWARF unwinder to use from now on (null: frame pointers only).
  void set_unwinder(DwarfUnwinder* unwinder) { unwinder_ = unwinder; }
  // The target executed a new program: its Python support (or none).
  void set_python(python::PythonSupport* python) { python_ = python; }
  // The asyncio Task the capture ran in (`frames`: what resolve() returned).
  std::optional<TaskInfo> task(const lp_capture_record& record, const Frames& frames) {
    return python_ ? python_->task(record.py, frames) : std::nullopt;
  }

 private:
  Frames user_frames(const lp_capture_record& record, std::span<const uint8_t> deeper);
  Frames kernel_frames(const lp_capture_record& record);

  KernelSymbolizer& kernel_;
  ProcessSymbolizer& process_;
  DwarfUnwinder* unwinder_;
  python::PythonSupport* python_;
  node::NodeSupport* node_ = nullptr;
};

}  // namespace loopprof
