// The culprit line of a stall: the application frame (and the library call
// beneath it) that most of the stall's stack time names.
#include <gtest/gtest.h>

#include "output/sink.hpp"

namespace loopprof {
namespace {

Frame app(const char* name, uint32_t line) {
  return Frame{.kind = FrameKind::python, .name = name, .file = "/srv/app.py", .line = line};
}
Frame lib(const char* module, const char* name, uint32_t line) {
  return Frame{.kind = FrameKind::python,
               .name = name,
               .module = module,
               .file = "/usr/lib/python3.11/json/encoder.py",
               .line = line};
}
Frame marker(const char* name) {
  return Frame{.kind = FrameKind::truncated, .name = name};
}
WeightedStack stack(Frames frames, uint64_t ms, CpuState state = CpuState::on_cpu) {
  return WeightedStack{std::move(frames), ms * 1000, state};
}

TEST(Culprit, StacksThatDifferBelowTheCulpritAddUpAndUncoveredTimeNamesNothing) {
  // A CPU-bound json.dumps preempted early (no stack for those 80 ms): its
  // samples land in several functions, none heavier alone than the uncovered
  // time; the deepest frame named is the heaviest stack's.
  Stall stall;
  stall.stacks = {
      stack({marker("[off-cpu, no stack]")}, 80, CpuState::off_cpu),
      stack({app("render_report", 39), lib("json", "dumps", 231), lib("json", "iterencode", 258)},
            70),
      stack({app("render_report", 39), lib("json", "dumps", 231), lib("json", "encode", 200)}, 60),
      stack({app("handlers", 12), lib("json", "dumps", 231)}, 50),
  };
  EXPECT_EQ(stall_culprit(stall), "render_report (/srv/app.py:39) -> json.dumps -> iterencode");
}

TEST(Culprit, OnlyUncoveredTimeIsNamedAsSuch) {
  Stall stall;
  stall.stacks = {stack({marker("[off-cpu, no stack]")}, 80, CpuState::off_cpu),
                  stack({marker("[on-cpu, no sample]")}, 20)};
  EXPECT_EQ(stall_culprit(stall), "[off-cpu, no stack]");
  EXPECT_EQ(stall_culprit(Stall{}), "");
}

}  // namespace
}  // namespace loopprof
