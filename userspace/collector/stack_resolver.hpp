// Turns the raw addresses of one capture record into frames, root first:
// user frames (outermost caller ... user leaf), then kernel frames.
#pragma once

#include "bpf/abi.hpp"
#include "model/frame.hpp"
#include "symbols/symbolizer.hpp"

namespace loopprof {

class StackResolver {
 public:
  StackResolver(KernelSymbolizer& kernel, ProcessSymbolizer& process)
      : kernel_(kernel), process_(process) {}

  Frames resolve(const lp_capture_record& record);

 private:
  Frames user_frames(const lp_capture_record& record);
  Frames kernel_frames(const lp_capture_record& record);

  KernelSymbolizer& kernel_;
  ProcessSymbolizer& process_;
};

}  // namespace loopprof
