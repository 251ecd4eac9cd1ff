// CPython 3.14, 3.15 and free-threaded interpreters, from synthetic memory
// images (python_synthetic_image.hpp): the debug offsets parsed, the thread
// found, the frames walked by the BPF walker's userspace twin, named with
// their lines by the resolver, and the running asyncio task named.
#include <gtest/gtest.h>

#include <random>

#include "python/asyncio_tasks.hpp"
#include "python/code_objects.hpp"
#include "python/layout.hpp"
#include "python/thread_states.hpp"
#include "python/walker_twin.hpp"
#include "python_synthetic_image.hpp"

namespace loopprof::python {
namespace {

using testing::ImageSpec;
using testing::SyntheticImage;

struct NamedFrame {
  std::string name;
  std::string file;
  int line = 0;
  bool operator==(const NamedFrame&) const = default;
};

std::ostream& operator<<(std::ostream& os, const NamedFrame& f) {
  return os << f.name << " (" << f.file << ":" << f.line << ")";
}

// What the resolver makes of a walk: Python frames leaf first (shims dropped).
std::vector<NamedFrame> name_frames(const lp_py_stack& stack, CodeObjects& code) {
  std::vector<NamedFrame> out;
  for (uint32_t i = 0; i < std::min<uint32_t>(stack.depth, LP_PY_MAX_DEPTH); i++) {
    const lp_py_frame& f = stack.frames[i];
    if (f.code == 0) continue;
    const CodeInfo* info = code.get(f.code);
    if (!info) continue;
    out.push_back({info->name, info->filename, code.line_of(*info, f.code, f.instr)});
  }
  return out;
}

struct Walked {
  InterpreterLayout layout;
  lp_py_stack stack{};
  std::vector<NamedFrame> frames;
  std::optional<TaskInfo> task;
};

// Everything loopprof does with a target, against the image's memory.
Walked walk(SyntheticImage& image) {
  Walked w;
  auto layout = parse_debug_offsets(image.debug_offsets_bytes());
  EXPECT_TRUE(layout) << (layout ? "" : layout.error().message);
  if (!layout) return w;
  w.layout = layout.value();
  EXPECT_TRUE(parse_asyncio_debug(image.asyncio_debug(), w.layout));
  auto threads = list_thread_states(image.mem, w.layout, SyntheticImage::kRuntime);
  EXPECT_TRUE(threads);
  if (!threads || threads->empty()) return w;
  EXPECT_EQ(threads->front().thread_id, SyntheticImage::kThreadId);
  w.stack = walk_thread_twin(image.mem, w.layout.walker, threads->front().tstate);
  CodeObjects code(image.mem, w.layout, SyntheticImage::kCodeType);
  w.frames = name_frames(w.stack, code);
  AsyncioTasks tasks(image.mem, w.layout, code);
  w.task = tasks.resolve(w.stack.task);
  return w;
}

// main -> [eval entry] -> sync_accounts -> fetch (leaf), as a 3.14+ thread
// running an asyncio task shows it.
struct Chain {
  uint64_t main_code, sync_code, fetch_code, leaf;
};
Chain build_chain(SyntheticImage& image, uint64_t base = 0) {
  Chain c;
  c.main_code = image.code("main", "/srv/app.py", 10);
  c.sync_code = image.code("sync_accounts", "/srv/billing.py", 40);
  c.fetch_code = image.code("Client.fetch", "/srv/client.py", 100);
  uint64_t root_entry = image.frame(0, 0, base, /*owner=*/3);
  uint64_t main = image.frame(c.main_code, 3, root_entry);
  uint64_t entry = image.frame(0, 0, main, /*owner=*/3);
  uint64_t sync = image.frame(c.sync_code, 1, entry);
  c.leaf = image.frame(c.fetch_code, 5, sync);
  image.set_current_frame(c.leaf);
  return c;
}

const std::vector<NamedFrame> kChainFrames = {{"Client.fetch", "/srv/client.py", 102},
                                              {"sync_accounts", "/srv/billing.py", 40},
                                              {"main", "/srv/app.py", 12}};

class SyntheticImageTest : public ::testing::TestWithParam<ImageSpec> {};

TEST_P(SyntheticImageTest, FramesLinesAndTaskNames) {
  SyntheticImage image(GetParam());
  uint64_t base = 0;
  if (GetParam().minor >= 15) {
    base = image.frame(0, 0, 0, /*owner=*/3);  // the thread's sentinel
    image.set_base_frame(base);
  }
  build_chain(image, base);
  uint64_t outer = image.task("main", "main");
  uint64_t billing = image.task("billing-sync", "sync_accounts", outer);
  image.set_running_task(billing);

  Walked w = walk(image);
  EXPECT_EQ(w.layout.version.minor, GetParam().minor);
  EXPECT_EQ(w.layout.free_threaded, GetParam().free_threaded);
  EXPECT_EQ(w.frames, kChainFrames);
  EXPECT_EQ(w.stack.depth, 5u);  // two entry frames kept as shims
  EXPECT_EQ(w.stack.flags, 0u) << "a complete walk"
                               << (GetParam().minor >= 15 ? " to the base frame" : "");
  ASSERT_TRUE(w.task);
  EXPECT_EQ(w.task->name, "billing-sync");
  EXPECT_EQ(w.task->coroutine, "sync_accounts");
  EXPECT_EQ(w.task->awaited_by, std::vector<std::string>{"main"});
}

INSTANTIATE_TEST_SUITE_P(Versions, SyntheticImageTest,
                         ::testing::Values(ImageSpec{14, false}, ImageSpec{15, false},
                                           ImageSpec{14, true}, ImageSpec{15, true},
                                           ImageSpec{15, false, 0x030f00c1}),  // 3.15.0rc1
                         [](const auto& info) {
                           return "py3" + std::to_string(info.param.minor) +
                                  (info.param.free_threaded ? "t" : "") +
                                  (info.param.version_hex ? "rc1" : "");
                         });

TEST(SyntheticImage, TaskWithoutNameIsNamedByItsNumberAndAwaiterSetsAreRead) {
  SyntheticImage image({14, false});
  build_chain(image);
  uint64_t root = image.task("main", "main");
  uint64_t middle = image.task("", "gather_all", root, /*int_name=*/7);
  uint64_t leaf = image.task("billing-sync", "sync_accounts");
  image.awaited_by_set(leaf, {middle});
  image.set_running_task(middle);
  Walked w = walk(image);
  ASSERT_TRUE(w.task);
  EXPECT_EQ(w.task->name, "Task-7");
  EXPECT_EQ(w.task->awaited_by, std::vector<std::string>{"main"});

  image.set_running_task(leaf);
  w = walk(image);
  ASSERT_TRUE(w.task);
  EXPECT_EQ(w.task->name, "billing-sync");
  EXPECT_EQ(w.task->awaited_by, (std::vector<std::string>{"main", "Task-7"})) << "outermost first";
}

TEST(SyntheticImage, NoRunningTaskGivesNoTask) {
  SyntheticImage image({14, false});
  build_chain(image);
  Walked w = walk(image);
  EXPECT_EQ(w.frames, kChainFrames);
  EXPECT_FALSE(w.task);
}

TEST(SyntheticImage, FreeThreadedThreadLocalBytecodeGivesTheLine) {
  SyntheticImage image({14, true});
  uint64_t code = image.code("worker", "/srv/w.py", 20, 8);
  uint64_t copy = image.tlbc_copy(code, 8, 2);
  image.set_current_frame(image.frame(code, 4, 0, 0, /*instr_base=*/copy));
  Walked w = walk(image);
  EXPECT_EQ(w.frames, (std::vector<NamedFrame>{{"worker", "/srv/w.py", 22}}));
}

TEST(SyntheticImage, InstructionOutsideTheCodeGivesNoLineNotAWrongOne) {
  SyntheticImage image({14, true});
  uint64_t code = image.code("worker", "/srv/w.py", 20, 8);
  image.set_current_frame(image.frame(code, 4, 0, 0, /*instr_base=*/0x7000000));
  Walked w = walk(image);
  ASSERT_EQ(w.frames.size(), 1u);
  EXPECT_EQ(w.frames[0].line, 0);
}

TEST(SyntheticImage, WalkNotEndingAtTheBaseFrameIsFlaggedIncomplete) {
  SyntheticImage image({15, false});
  image.set_base_frame(image.frame(0, 0, 0, 3));
  build_chain(image, /*base=*/0);  // the chain ends in NULL, not at the base frame
  Walked w = walk(image);
  EXPECT_EQ(w.frames, kChainFrames);
  EXPECT_TRUE(w.stack.flags & LP_PY_NO_BASE);
}

TEST(SyntheticImage, OffsetsTablesOfOtherVersionsOrBetasOrBrokenSizesAreRefused) {
  for (uint64_t hex : {0x030e00b3ull, 0x031000f0ull, 0x020700f0ull}) {
    SyntheticImage image({14, false, hex});
    auto layout = parse_debug_offsets(image.debug_offsets_bytes());
    EXPECT_FALSE(layout) << std::hex << hex;
  }
  SyntheticImage image({14, false});
  auto raw = image.debug_offsets_bytes();
  raw[16] = 1;  // free_threaded, with a 16-byte PyObject
  EXPECT_FALSE(parse_debug_offsets(raw));
  raw = image.debug_offsets_bytes();
  // interpreter_frame.owner past the frame's size
  const size_t owner_at = 24 + 8 * (3 + 16 + 9 + 5);
  uint64_t big = 4000;
  std::memcpy(raw.data() + owner_at, &big, 8);
  auto layout = parse_debug_offsets(raw);
  ASSERT_FALSE(layout);
  EXPECT_NE(layout.error().message.find("interpreter_frame.owner"), std::string::npos)
      << layout.error().message;
}

// Corrupted images: every byte of every object flipped at random, walked
// many times: frames that are named are only ever the image's own; no crash.
TEST(SyntheticImage, CorruptedImagesGiveNoWrongFrameAndNoCrash) {
  std::mt19937_64 rng(1234);
  const std::vector<NamedFrame> good = kChainFrames;
  int named = 0;
  for (int round = 0; round < 300; round++) {
    SyntheticImage image({static_cast<int>(14 + round % 2), round % 3 == 0});
    build_chain(image);
    image.set_running_task(image.task("billing-sync", "sync_accounts"));
    auto layout = parse_debug_offsets(image.debug_offsets_bytes());
    ASSERT_TRUE(layout);
    InterpreterLayout l = layout.value();
    ASSERT_TRUE(parse_asyncio_debug(image.asyncio_debug(), l));
    // Corrupt a few words anywhere in the frames, code objects and strings.
    for (int k = 0; k < 6; k++) {
      uint64_t at = (0x1000000 + (rng() % 0x4000)) & ~7ull;
      uint64_t junk = rng(), old = 0;
      if (rng() % 2) junk &= 0xffff;
      if (image.mem.read(at, &old, 8)) image.mem.write(at, &junk, 8);
    }
    lp_py_stack stack = walk_thread_twin(image.mem, l.walker, SyntheticImage::kTstate);
    EXPECT_LE(stack.depth, static_cast<uint32_t>(LP_PY_MAX_DEPTH));
    CodeObjects code(image.mem, l, SyntheticImage::kCodeType);
    for (const NamedFrame& f : name_frames(stack, code)) {
      bool known = f.name == "main" || f.name == "sync_accounts" || f.name == "Client.fetch";
      EXPECT_TRUE(known) << f;
      named++;
    }
    AsyncioTasks tasks(image.mem, l, code);
    auto task = tasks.resolve(stack.task);
    if (task) EXPECT_TRUE(task->name == "billing-sync" || task->name.empty()) << task->name;
  }
  EXPECT_GT(named, 0);
}

// A garbage offsets table never yields a layout whose walk reads outside
// its window; random tables are refused or walkable.
TEST(SyntheticImage, RandomOffsetsTablesAreRefusedOrWalkable) {
  std::mt19937_64 rng(99);
  for (int round = 0; round < 2000; round++) {
    SyntheticImage image({14, round % 2 == 1});
    auto raw = image.debug_offsets_bytes();
    for (int k = 0; k < 3; k++) {
      size_t at = 24 + 8 * (rng() % 100);
      uint64_t v = rng() % 512;
      std::memcpy(raw.data() + at, &v, 8);
    }
    auto layout = parse_debug_offsets(raw);
    if (!layout) continue;
    const lp_py_config& w = layout->walker;
    EXPECT_LE(w.frame_size, static_cast<uint32_t>(LP_PY_FRAME_WINDOW));
    EXPECT_LE(w.frame_previous + 8, w.frame_size);
    EXPECT_LE(w.frame_code + 8, w.frame_size);
    EXPECT_LE(w.frame_instr + 8, w.frame_size);
    EXPECT_LT(w.frame_owner, w.frame_size);
  }
}

}  // namespace
}  // namespace loopprof::python

namespace loopprof::python {
namespace {

TEST(SyntheticImage, TaskWhoseMemoryWasReusedSinceTheCaptureIsNotNamed) {
  SyntheticImage image({14, false});
  build_chain(image);
  uint64_t task = image.task("billing-sync", "sync_accounts");
  image.set_running_task(task);
  InterpreterLayout l = parse_debug_offsets(image.debug_offsets_bytes()).value();
  ASSERT_TRUE(parse_asyncio_debug(image.asyncio_debug(), l));
  lp_py_stack stack = walk_thread_twin(image.mem, l.walker, SyntheticImage::kTstate);
  // The task ends; another Task takes its memory before the capture is read.
  image.mem.put<uint64_t>(task + image.offsets().task_name, image.str("handlers"));
  CodeObjects code(image.mem, l, SyntheticImage::kCodeType);
  AsyncioTasks tasks(image.mem, l, code);
  EXPECT_FALSE(tasks.resolve(stack.task));
}

}  // namespace
}  // namespace loopprof::python
