#include "model/frame.hpp"

#include <gtest/gtest.h>

namespace loopprof {
namespace {

TEST(FrameLabel, KernelFramesCarryTheKernelSuffix) {
  Frame f{.kind = FrameKind::kernel, .name = "schedule"};
  EXPECT_EQ(frame_label(f), "schedule_[k]");
}

TEST(FrameLabel, PythonFramesShowFileAndLine) {
  Frame f{.kind = FrameKind::python, .name = "Handler.get", .file = "app.py", .line = 42};
  EXPECT_EQ(frame_label(f), "Handler.get (app.py:42)");
}

TEST(FrameLabel, UnknownNativeFramesShowModuleAndOffset) {
  Frame f{.kind = FrameKind::unknown,
          .module = "/usr/lib/libfoo.so.1",
          .address = 0x7f0000001234,
          .offset = 0x1234};
  EXPECT_EQ(frame_label(f), "libfoo.so.1+0x1234");
}

}  // namespace
}  // namespace loopprof
