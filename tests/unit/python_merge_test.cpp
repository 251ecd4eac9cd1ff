#include <gtest/gtest.h>

#include <string>

#include "python/merge.hpp"

namespace loopprof::python {
namespace {

const std::string kLib = "/py/lib/libpython3.12.so.1.0";

Frame native(const std::string& name, const std::string& module = kLib) {
  Frame f;
  f.kind = FrameKind::native;
  f.name = name;
  f.module = module;
  return f;
}
Frame kernel(const std::string& name) {
  Frame f;
  f.kind = FrameKind::kernel;
  f.name = name;
  return f;
}
Frame py(const std::string& name, uint32_t line) {
  Frame f;
  f.kind = FrameKind::python;
  f.name = name;
  f.file = "app.py";
  f.line = line;
  return f;
}
std::string folded(const Frames& frames) {
  std::string out;
  for (const Frame& f : frames) out += (out.empty() ? "" : ";") + frame_label(f);
  return out;
}

TEST(PythonMerge, EachEvalFrameBecomesItsRun) {
  const Frames stack{native("main", "/py/bin/python3"),
                     native("Py_RunMain"),
                     native("_PyEval_EvalFrameDefault"),
                     native("_PyFunction_Vectorcall"),
                     native("method_vectorcall_O"),
                     native("_asyncio_run", "/py/_asyncio.so"),
                     native("_PyEval_EvalFrameDefault"),
                     native("time_sleep"),
                     native("clock_nanosleep", "/lib/libc.so.6"),
                     kernel("do_nanosleep")};
  PythonStack python{
      {{py("<module>", 1), py("main", 9)}, {py("Handler.get", 20), py("hidden_call", 42)}}};
  EXPECT_EQ(folded(merge_python_frames(stack, python, kLib)),
            "main;Py_RunMain;<module> (app.py:1);main (app.py:9);_asyncio_run;"
            "Handler.get (app.py:20);hidden_call (app.py:42);time_sleep;clock_nanosleep;"
            "do_nanosleep_[k]");
}

TEST(PythonMerge, WithoutEvalFramesPythonGoesAboveTheNativeLeaf) {
  const Frames stack{native("time_sleep"), native("clock_nanosleep", "/lib/libc.so.6"),
                     kernel("do_nanosleep")};
  PythonStack python{{{py("<module>", 1)}, {py("hidden_call", 42)}}};
  EXPECT_EQ(folded(merge_python_frames(stack, python, kLib)),
            "<module> (app.py:1);hidden_call (app.py:42);time_sleep;clock_nanosleep;"
            "do_nanosleep_[k]");
}

TEST(PythonMerge, RunsWithoutEvalFrameGoAboveTheOutermostMatchedOne) {
  // A native stack cut short: one eval frame for three runs.
  const Frames stack{native("_PyEval_EvalFrameDefault"), native("time_sleep")};
  PythonStack python{{{py("a", 1)}, {py("b", 2)}, {py("c", 3)}}};
  EXPECT_EQ(folded(merge_python_frames(stack, python, kLib)),
            "a (app.py:1);b (app.py:2);c (app.py:3);time_sleep");
}

TEST(PythonMerge, RootwardJunkOfAShortNativeUnwindIsDropped) {
  // No frame pointers: the unwind went leaf -> eval frame -> two bogus "callers".
  const Frames stack{native("0x7f0012345678", ""), native("", kLib),
                     native("_PyEval_EvalFrameDefault"), native("_Py_IsImmortal")};
  PythonStack python{{{py("<module>", 1)}, {py("main", 5), py("burn", 9)}}};
  EXPECT_EQ(folded(merge_python_frames(stack, python, kLib)),
            "<module> (app.py:1);main (app.py:5);burn (app.py:9);_Py_IsImmortal");
}

TEST(PythonMerge, TruncatedPythonStacksAreMarkedAndExtraEvalFramesDropped) {
  const Frames stack{native("main"), native("_PyEval_EvalFrameDefault"),
                     native("_PyEval_EvalFrameDefault"), native("_PyEval_EvalFrameDefault"),
                     native("time_sleep")};
  PythonStack python{{{py("deep", 7)}, {py("leaf", 8)}}, true};
  EXPECT_EQ(folded(merge_python_frames(stack, python, kLib)),
            "main;[python frames truncated];deep (app.py:7);leaf (app.py:8);time_sleep");
}

TEST(PythonMerge, NoPythonFramesLeavesTheStackAlone) {
  const Frames stack{native("main"), native("_PyEval_EvalFrameDefault"), native("poll")};
  EXPECT_EQ(merge_python_frames(stack, PythonStack{}, kLib), stack);
}

}  // namespace
}  // namespace loopprof::python
