#include "collector/stack_resolver.hpp"

#include <algorithm>

#include "latency/callback_stats.hpp"
#include "unwind/snapshot_bytes.hpp"
#include "unwind/user_stack.hpp"

namespace loopprof {

namespace {

size_t depth_of(__s32 bytes) {
  if (bytes <= 0) return 0;
  return std::min<size_t>(static_cast<size_t>(bytes) / sizeof(__u64), LP_MAX_STACK_DEPTH);
}

// Leaf-side kernel frames of the tracing machinery that ran loopprof itself.
bool is_tracing_frame(const Frame& frame) {
  const std::string& name = frame.name;
  return name.rfind("bpf_", 0) == 0 || name.rfind("__bpf_", 0) == 0 ||
         name.rfind("__traceiter_", 0) == 0 || name.rfind("perf_trace_", 0) == 0 ||
         name.rfind("trace_call_bpf", 0) == 0;
}

// The outermost frame of a whole user stack: the program's or a thread's entry.
bool reaches_thread_entry(const Frames& root_first) {
  if (root_first.empty()) return false;
  const std::string& root = root_first.front().name;
  return root == "_start" || root == "__libc_start_main" || root == "__libc_start_call_main" ||
         root == "clone" || root == "clone3" || root == "start_thread";
}

}  // namespace

Frames StackResolver::user_frames(const lp_capture_record& record,
                                  std::span<const uint8_t> deeper) {
  Frames frames;
  // Frame pointers, or a DWARF unwind of the stack snapshot (unwind/user_stack.hpp).
  const UserStack stack = best_user_stack(record, unwinder_, deeper);
  const SnapshotBytes bytes(record.snap, deeper);
  const auto& pcs = stack.pcs;
  for (size_t i = pcs.size(); i-- > 0;) {  // root first
    if (pcs[i] == 0) continue;
    Frames resolved = process_.symbolize(pcs[i], /*return_address=*/i != 0);
    if (node_ && resolved.size() == 1 && stack.fps[i] != 0) {
      // One V8 frame per frame pointer (the code that runs in a frame sets rbp once).
      const bool same_as_caller = i + 1 < pcs.size() && stack.fps[i + 1] == stack.fps[i];
      if (!same_as_caller)
        if (auto js = node_->frame(stack.fps[i], resolved.front(), bytes)) resolved = {*js};
    }
    frames.insert(frames.end(), resolved.begin(), resolved.end());
  }
  if (!pcs.empty() && !stack.reached_root && !reaches_thread_entry(frames))
    frames.insert(frames.begin(), Frame{.kind = FrameKind::truncated, .name = "[truncated]"});
  return frames;
}

Frames StackResolver::kernel_frames(const lp_capture_record& record) {
  Frames frames;
  size_t depth = depth_of(record.kstack_bytes);
  for (size_t i = depth; i-- > 0;)
    if (record.kstack[i] != 0) frames.push_back(kernel_.symbolize(record.kstack[i]));
  while (!frames.empty() && is_tracing_frame(frames.back())) frames.pop_back();
  return frames;
}

Frames StackResolver::resolve(const lp_capture_record& record, std::span<const uint8_t> deeper) {
  Frames frames = user_frames(record, deeper);
  // merge() also notices threads the BPF side did not know yet (and re-reads
  // the thread list), so it runs even for captures without Python frames.
  if (python_) frames = python_->merge(frames, record.py);
  Frames kernel = kernel_frames(record);
  frames.insert(frames.end(), kernel.begin(), kernel.end());
  if (frames.empty()) frames.push_back(Frame{.kind = FrameKind::unknown, .name = "[no stack]"});
  return frames;
}

std::optional<LoopStep> StackResolver::loop_step(const lp_capture_record& record) {
  if (!python_) return LoopStep{};  // no Python frames: no callback, no Task
  auto frames = python_->step_frames(record.py);
  if (!frames) return std::nullopt;
  LoopStep step;
  step.callback = callback_of(*frames);
  step.handle_run = frames->empty() ? LoopStep::HandleRun::not_seen : LoopStep::HandleRun::python;
  if (record.kind != LP_CAPTURE_WAKER) step.task = python_->task(record.py, *frames);
  return step;
}

}  // namespace loopprof
