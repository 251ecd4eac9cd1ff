// Before 3.14 the Task of a capture is found through the callback of the
// Handle that Handle._run runs: the C Task's step or wake-up wrapper, or a
// builtin method bound to the Task. Their types are spelled differently per
// version (checked on pyenv 3.8-3.13 and Debian's 3.11 with
// type(loop._ready[-1]._callback)):
//   3.8, 3.9    step: TaskStepMethWrapper            wake-up: TaskWakeupMethWrapper
//   3.10, 3.11  step: TaskStepMethWrapper            wake-up: builtin_function_or_method
//   3.12, 3.13  step: _asyncio.TaskStepMethWrapper   wake-up: builtin_function_or_method
// Each must name its Task; anything else names none.
#include <gtest/gtest.h>

#include <cstring>

#include "python/asyncio_tasks.hpp"
#include "python/code_objects.hpp"
#include "python_fake_memory.hpp"

namespace loopprof::python {
namespace {

using testing::FakeMemory;

struct CallbackCase {
  int minor;
  const char* type_name;  // the callback's tp_name
  uint32_t task_slot;     // where the callback holds the Task (0: it does not)
};

class AsyncioCallbackTest : public ::testing::TestWithParam<CallbackCase> {
 protected:
  void SetUp() override {
    layout_ = layout_for_version({3, GetParam().minor, 0}).value();
    str_type_ = type("str");
    task_type_ = type("_asyncio.Task");
  }

  uint64_t alloc(size_t size) {
    uint64_t at = next_;
    next_ += (size + 0xff) & ~uint64_t{0xff};
    mem_.map(at, size);
    return at;
  }
  uint64_t type(const char* name) {
    uint64_t at = alloc(0x400);
    mem_.put<uint64_t>(at + layout_.type_name, at + 0x300);
    mem_.write(at + 0x300, name, std::strlen(name) + 1);
    return at;
  }
  uint64_t str(const std::string& text) {
    uint64_t at = alloc(128);
    mem_.put<uint64_t>(at + layout_.object_type, str_type_);
    mem_.put<int64_t>(at + layout_.unicode_length, static_cast<int64_t>(text.size()));
    mem_.put<uint32_t>(at + layout_.unicode_state, (1u << 2) | (1u << 5) | (1u << 6));
    mem_.write(at + layout_.unicode_ascii_data, text.data(), text.size());
    return at;
  }
  uint64_t task(const std::string& name) {
    uint64_t at = alloc(512);
    mem_.put<uint64_t>(at + layout_.object_type, task_type_);
    mem_.put<uint64_t>(at + layout_.asyncio.task_name, str(name));
    return at;
  }
  uint64_t callback(uint64_t of_type, uint32_t slot, uint64_t task) {
    uint64_t at = alloc(64);
    mem_.put<uint64_t>(at + layout_.object_type, of_type);
    mem_.put<uint64_t>(at + 16, 0x1111);  // m_ml / im_func / sw_task's neighbour
    if (slot) mem_.put<uint64_t>(at + slot, task);
    return at;
  }
  // What the walker (bpf/py_walk.h, lp_py_task_from_handle) records.
  lp_py_task_ref capture(uint64_t callback) {
    lp_py_task_ref ref{};
    ref.handle = 0x9000;
    ref.callback = callback;
    EXPECT_TRUE(
        mem_.read(callback + layout_.object_type, ref.callback_words, sizeof(ref.callback_words)));
    for (int i = 0; i < 2; i++) {
      uint64_t name = 0;
      if (mem_.read(ref.callback_words[i + 1] + layout_.asyncio.task_name, &name, 8))
        ref.name_objects[i] = name;
    }
    return ref;
  }

  FakeMemory mem_;
  InterpreterLayout layout_;
  uint64_t next_ = 0x10000;
  uint64_t str_type_ = 0;
  uint64_t task_type_ = 0;
};

TEST_P(AsyncioCallbackTest, TheHandlesCallbackNamesItsTaskAndTheTaskAwaitingIt) {
  const CallbackCase& c = GetParam();
  CodeObjects strings(mem_, layout_, 0);
  AsyncioTasks tasks(mem_, layout_, strings);
  uint64_t outer = task("main");
  uint64_t billing = task("billing-sync");
  uint64_t cb_type = type(c.type_name);
  // billing's first awaiter wakes "main" through the same kind of callable.
  mem_.put<uint64_t>(billing + layout_.asyncio.task_callback0,
                     callback(cb_type, c.task_slot, outer));
  auto info = tasks.resolve(capture(callback(cb_type, c.task_slot, billing)));
  if (!c.task_slot) {
    EXPECT_FALSE(info) << c.type_name << " runs in no task";
    return;
  }
  ASSERT_TRUE(info) << c.type_name << " on 3." << c.minor;
  EXPECT_EQ(info->name, "billing-sync");
  EXPECT_EQ(info->awaited_by, std::vector<std::string>{"main"});
}

INSTANTIATE_TEST_SUITE_P(Versions, AsyncioCallbackTest,
                         ::testing::Values(CallbackCase{8, "TaskStepMethWrapper", 16},
                                           CallbackCase{8, "TaskWakeupMethWrapper", 16},
                                           CallbackCase{9, "TaskWakeupMethWrapper", 16},
                                           CallbackCase{10, "TaskStepMethWrapper", 16},
                                           CallbackCase{10, "builtin_function_or_method", 24},
                                           CallbackCase{11, "builtin_function_or_method", 24},
                                           CallbackCase{12, "_asyncio.TaskStepMethWrapper", 16},
                                           CallbackCase{12, "builtin_function_or_method", 24},
                                           CallbackCase{12, "functools.partial", 0},
                                           CallbackCase{12, "_asyncio.Future", 0}),
                         [](const auto& info) {
                           std::string name = "py3_" + std::to_string(info.param.minor) + "_" +
                                              info.param.type_name;
                           for (char& ch : name)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name;
                         });

}  // namespace
}  // namespace loopprof::python
