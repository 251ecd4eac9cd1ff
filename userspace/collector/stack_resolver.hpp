// Turns the raw addresses of one capture record into frames, root first:
// user frames (outermost caller ... user leaf, with Python frames in place of
// the interpreter's eval frames), then kernel frames.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "bpf/abi.hpp"
#include "model/frame.hpp"
#include "node/node_support.hpp"
#include "python/python_support.hpp"
#include "symbols/symbolizer.hpp"
#include "unwind/dwarf_unwinder.hpp"

namespace loopprof {

// What the per-callback table needs from one capture: the callback under the
// loop's Handle._run ("" if none) and the asyncio Task it ran in.
struct LoopStep {
  enum class HandleRun {
    no_python,  // not a Python target: no callback, no Task, whatever the stack
    python,     // the Python frames hold asyncio's Handle._run: `callback` is exact
    not_seen,   // they do not: "" unless a native loop's Handle__run (uvloop) is there
  };
  std::string callback;
  std::optional<TaskInfo> task;
  HandleRun handle_run = HandleRun::no_python;
};

class StackResolver {
 public:
  // `unwinder` may be null (frame pointers only); `python` may be null (not a
  // CPython target, or an unsupported one).
  StackResolver(KernelSymbolizer& kernel, ProcessSymbolizer& process, DwarfUnwinder* unwinder,
                python::PythonSupport* python)
      : kernel_(kernel), process_(process), unwinder_(unwinder), python_(python) {}

  // `deeper`: the stack bytes above the record's copy (LP_REC_STACK_MORE), if any.
  Frames resolve(const lp_capture_record& record, std::span<const uint8_t> deeper = {});
  // The capture's LoopStep, read without unwinding or naming its whole stack
  // (two Python frames at most). nullopt when only resolve() can tell: the
  // Python support does not know Handle._run yet, and so on. With
  // HandleRun::not_seen the caller decides whether the thread may run a
  // native loop.
  std::optional<LoopStep> loop_step(const lp_capture_record& record);
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
