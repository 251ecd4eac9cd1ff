// Puts a capture's Python frames in place of the interpreter's eval frames.
#pragma once

#include <string>
#include <vector>

#include "model/frame.hpp"

namespace loopprof::python {

// The Python frames of one capture, cut into runs: one run per native call of
// the eval loop (_PyEval_EvalFrameDefault), which runs one Python frame up to
// 3.10 and a chain of them from 3.11. Runs and the frames in them: root first.
struct PythonStack {
  std::vector<Frames> runs;
  bool truncated = false;  // the walk hit its depth limit: root-side frames are missing
  bool empty() const { return runs.empty(); }
};

// Is this native frame the interpreter's eval loop?
bool is_eval_frame(const Frame& frame);

// Replaces each native eval frame with its run of Python frames, matching
// from the leaf. Runs without a native eval frame (a native stack cut short)
// go where the outermost matched eval frame was, and the native frames
// rootward of it, left by a failed unwind, are dropped; when the native
// stack has no eval frame at all, the runs go above all of its frames. Native frames of
// `interpreter_module` between two eval frames (call plumbing) are dropped;
// every other native frame, and everything below the leaf eval frame
// (time_sleep, libc, kernel), stays.
Frames merge_python_frames(const Frames& native_root_first, const PythonStack& python,
                           const std::string& interpreter_module);

}  // namespace loopprof::python
