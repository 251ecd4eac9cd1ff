#include "python/merge.hpp"

#include <algorithm>

namespace loopprof::python {

namespace {

void append(Frames& out, const Frames& frames) {
  out.insert(out.end(), frames.begin(), frames.end());
}

Frame truncation_marker() {
  Frame f;
  f.kind = FrameKind::truncated;
  f.name = "[python frames truncated]";
  return f;
}

}  // namespace

bool is_eval_frame(const Frame& frame) {
  if (frame.kind != FrameKind::native || frame.inlined) return false;
  return frame.name == "_PyEval_EvalFrameDefault" || frame.name == "PyEval_EvalFrameEx";
}

Frames merge_python_frames(const Frames& native, const PythonStack& python,
                           const std::string& interpreter_module) {
  if (python.empty()) return native;

  std::vector<size_t> evals;  // indexes of the native eval frames, root first
  for (size_t i = 0; i < native.size(); i++)
    if (is_eval_frame(native[i])) evals.push_back(i);

  Frames out;
  if (evals.empty()) {
    if (python.truncated) out.push_back(truncation_marker());
    for (const Frames& run : python.runs) append(out, run);
    append(out, native);
    return out;
  }

  // Pair runs and eval frames from the leaf.
  const size_t matched = std::min(evals.size(), python.runs.size());
  const size_t first_eval = evals.size() - matched;  // index into evals
  const size_t first_run = python.runs.size() - matched;
  const size_t first_matched_native = evals[first_eval];
  const size_t last_eval_native = evals.back();

  // Runs left without an eval frame mean the native unwind stopped early
  // (no frame pointers): what it reported rootward of its outermost eval
  // frame is not the real caller chain, so it is dropped.
  const bool native_cut_short = first_run > 0;
  for (size_t i = 0; i < native.size(); i++) {
    const Frame& f = native[i];
    if (i < first_matched_native) {
      if (native_cut_short) continue;
      if (is_eval_frame(f)) continue;  // more eval frames than runs: their Python is cut off
      out.push_back(f);
      continue;
    }
    if (i == first_matched_native) {
      if (python.truncated) out.push_back(truncation_marker());
      for (size_t r = 0; r < first_run; r++) append(out, python.runs[r]);  // runs with no eval
    }
    if (is_eval_frame(f)) {
      auto pos = std::find(evals.begin() + first_eval, evals.end(), i) - evals.begin();
      append(out, python.runs[first_run + (pos - first_eval)]);
      continue;
    }
    if (i < last_eval_native && !interpreter_module.empty() && f.module == interpreter_module)
      continue;  // interpreter plumbing between two eval calls
    out.push_back(f);
  }
  return out;
}

}  // namespace loopprof::python
