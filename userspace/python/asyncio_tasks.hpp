// The asyncio Task a capture ran in, named from the target's memory: its
// name, its coroutine and the tasks awaiting it. The capture pins the task
// at capture time (bpf/py_walk.h): 3.14+ the thread state's running task;
// before, the Handle._run frame's callback (the Task's step wrapper).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "bpf/abi.hpp"
#include "model/stall.hpp"
#include "python/code_objects.hpp"
#include "python/layout.hpp"
#include "python/memory.hpp"

namespace loopprof::python {

class AsyncioTasks {
 public:
  AsyncioTasks(const MemoryReader& memory, const InterpreterLayout& layout,
               const CodeObjects& strings);

  // nullopt: no task ran (a plain callback), or what the capture pointed at
  // is not a Task any more (every object's type is checked).
  std::optional<TaskInfo> resolve(const lp_py_task_ref& ref);
  void set_layout(const InterpreterLayout& layout) { layout_ = layout; }

 private:
  uint64_t task_of_step(const lp_py_task_ref& ref, uint64_t& name_object);
  uint64_t self_of_callback(uint64_t callback);  // the Task a wake-up/step callable is bound to
  enum class TaskKind { none, c_task, py_task };
  TaskKind task_kind(uint64_t object);
  std::optional<std::string> type_name(uint64_t type);
  std::optional<std::string> object_type_name(uint64_t object);
  std::optional<std::string> name_of(uint64_t task);
  std::optional<std::string> int_text(uint64_t long_object);
  std::string coroutine_of(uint64_t task);
  uint64_t awaiter_of(uint64_t task);

  const MemoryReader& memory_;
  InterpreterLayout layout_;
  const CodeObjects& strings_;
  std::unordered_map<uint64_t, std::string> type_names_;
};

}  // namespace loopprof::python
