#include "python/asyncio_tasks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <unordered_set>

namespace loopprof::python {

namespace {
constexpr int kMaxAwaitChain = 16;
constexpr int kMaxTypeDepth = 8;
constexpr uint64_t kMaxSetSlots = 1024;
constexpr size_t kMaxTypeName = 128;

// What a Handle's callback is, by its type's tp_name. The C Task's step and
// wake-up wrappers hold the Task in their first field; a bound method (the C
// task_wakeup of 3.10+, or a pure-Python Task's methods) in its second. The
// wrappers are static types up to 3.11 ("TaskStepMethWrapper") and heap
// types of the _asyncio module from 3.12 ("_asyncio.TaskStepMethWrapper");
// 3.8 and 3.9 wake a task through TaskWakeupMethWrapper, 3.10+ through a
// builtin method bound to it.
enum class Callable { other, wrapper, bound_method };

Callable callable_kind(const std::string& type_name) {
  std::string_view name = type_name;
  if (name.rfind("_asyncio.", 0) == 0) name.remove_prefix(9);
  if (name == "TaskStepMethWrapper" || name == "TaskWakeupMethWrapper") return Callable::wrapper;
  if (name == "builtin_function_or_method" || name == "method") return Callable::bound_method;
  return Callable::other;
}
}  // namespace

AsyncioTasks::AsyncioTasks(const MemoryReader& memory, const InterpreterLayout& layout,
                           const CodeObjects& strings)
    : memory_(memory), layout_(layout), strings_(strings) {}

std::optional<std::string> AsyncioTasks::type_name(uint64_t type) {
  if (type == 0) return std::nullopt;
  if (auto it = type_names_.find(type); it != type_names_.end()) return it->second;
  auto name_ptr = memory_.value<uint64_t>(type + layout_.type_name);
  if (!name_ptr) return std::nullopt;
  std::string name;
  char buf[kMaxTypeName];
  if (!memory_.read(*name_ptr, buf, 1)) return std::nullopt;
  // Read byte-wise up to the NUL: a type name may end near a page boundary.
  for (size_t i = 0; i < kMaxTypeName; i++) {
    char c = 0;
    if (!memory_.read(*name_ptr + i, &c, 1)) return std::nullopt;
    if (c == 0) break;
    if (c < 0x20 || c > 0x7e) return std::nullopt;  // type names are printable ASCII
    name += c;
  }
  if (name.empty()) return std::nullopt;
  type_names_[type] = name;
  return name;
}

std::optional<std::string> AsyncioTasks::object_type_name(uint64_t object) {
  auto type = memory_.value<uint64_t>(object + layout_.object_type);
  return type ? type_name(*type) : std::nullopt;
}

// C _asyncio.Task (or a subclass: followed through tp_base), or the
// pure-Python asyncio.tasks.Task, whose fields live in its __dict__.
AsyncioTasks::TaskKind AsyncioTasks::task_kind(uint64_t object) {
  if (object == 0) return TaskKind::none;
  auto type = memory_.value<uint64_t>(object + layout_.object_type);
  for (int i = 0; type && *type && i < kMaxTypeDepth; i++) {
    auto name = type_name(*type);
    if (!name) return TaskKind::none;
    if (*name == "_asyncio.Task") return TaskKind::c_task;
    if (*name == "Task") return TaskKind::py_task;
    if (layout_.version.minor >= 14) return TaskKind::none;  // tp_base: not in the debug offsets
    type = memory_.value<uint64_t>(*type + layout_.type_base);
  }
  return TaskKind::none;
}

uint64_t AsyncioTasks::self_of_callback(uint64_t callback) {
  auto name = object_type_name(callback);
  if (!name) return 0;
  uint64_t at = 0;
  switch (callable_kind(*name)) {
    case Callable::wrapper:
      at = layout_.object_size;  // sw_task / ww_task
      break;
    case Callable::bound_method:
      at = layout_.object_size + 8;  // m_self (after m_ml) / im_self (after im_func)
      break;
    case Callable::other:
      return 0;
  }
  auto self = memory_.value<uint64_t>(callback + at);
  return self ? *self : 0;
}

// < 3.14: the callback words were read at capture time, while the step
// wrapper was alive; the Task they point at is checked now.
uint64_t AsyncioTasks::task_of_step(const lp_py_task_ref& ref, uint64_t& name_object) {
  if (!ref.callback) return 0;
  auto name = type_name(ref.callback_words[0]);
  if (!name) return 0;
  switch (callable_kind(*name)) {
    case Callable::wrapper:
      name_object = ref.name_objects[0];
      return ref.callback_words[1];
    case Callable::bound_method:
      name_object = ref.name_objects[1];
      return ref.callback_words[2];
    case Callable::other:
      return 0;
  }
  return 0;
}

std::optional<std::string> AsyncioTasks::int_text(uint64_t long_object) {
  auto digit = memory_.value<uint32_t>(long_object + layout_.long_digit);
  if (!digit) return std::nullopt;
  uint64_t count = 0;
  if (layout_.long_tag != kNoOffset) {  // 3.12+: lv_tag = ndigits << 3 | sign
    auto tag = memory_.value<uint64_t>(long_object + layout_.long_tag);
    if (!tag || (*tag & 3) == 2) return std::nullopt;  // negative
    count = *tag >> 3;
  } else {
    auto size = memory_.value<int64_t>(long_object + layout_.object_size);
    if (!size || *size < 0) return std::nullopt;
    count = static_cast<uint64_t>(*size);
  }
  if (count == 0) return std::string("0");
  if (count > 2) return std::nullopt;
  uint64_t value = *digit & 0x3fffffff;
  if (count == 2) {
    auto high = memory_.value<uint32_t>(long_object + layout_.long_digit + 4);
    if (!high) return std::nullopt;
    value |= static_cast<uint64_t>(*high & 0x3fffffff) << 30;
  }
  return std::to_string(value);
}

// task_name: a str, or (3.12+, until get_name()) the int n of "Task-n".
std::optional<std::string> AsyncioTasks::name_of(uint64_t task) {
  auto name = memory_.value<uint64_t>(task + layout_.asyncio.task_name);
  if (!name || !*name) return std::nullopt;
  auto type = object_type_name(*name);
  if (!type) return std::nullopt;
  if (*type == "str") return strings_.string(*name);
  if (*type == "int") {
    auto n = int_text(*name);
    if (n) return "Task-" + *n;
  }
  return std::nullopt;
}

// 3.14+: the coroutine's gi_name (before, the caller names it from frames).
std::string AsyncioTasks::coroutine_of(uint64_t task) {
  if (layout_.gen_name == kNoOffset || layout_.asyncio.task_coro == kNoOffset) return {};
  auto coro = memory_.value<uint64_t>(task + layout_.asyncio.task_coro);
  if (!coro || !*coro) return {};
  auto type = object_type_name(*coro);
  if (!type || *type != "coroutine") return {};
  auto name = memory_.value<uint64_t>(*coro + layout_.gen_name);
  if (!name) return {};
  return strings_.string(*name).value_or("");
}

uint64_t AsyncioTasks::awaiter_of(uint64_t task) {
  const AsyncioLayout& a = layout_.asyncio;
  if (a.task_awaited_by != kNoOffset) {  // 3.14+: a future/task, or a set of them
    auto by = memory_.value<uint64_t>(task + a.task_awaited_by);
    if (!by || !*by) return 0;
    auto is_set = memory_.value<uint8_t>(task + a.task_awaited_by_is_set);
    if (!is_set) return 0;
    if (!*is_set) return *by;
    if (layout_.set_table == kNoOffset) return 0;
    auto table = memory_.value<uint64_t>(*by + layout_.set_table);
    auto mask = memory_.value<uint64_t>(*by + layout_.set_mask);
    if (!table || !mask || *mask >= kMaxSetSlots) return 0;
    auto slots = memory_.bytes(*table, (*mask + 1) * 16);  // setentry {key, hash}
    if (!slots) return 0;
    for (uint64_t i = 0; i <= *mask; i++) {
      uint64_t key = 0;
      std::memcpy(&key, slots->data() + i * 16, 8);
      if (key && task_kind(key) != TaskKind::none) return key;
    }
    return 0;
  }
  if (a.task_callback0 == kNoOffset) return 0;
  auto cb = memory_.value<uint64_t>(task + a.task_callback0);  // fut_callback0
  return cb && *cb ? self_of_callback(*cb) : 0;
}

std::optional<TaskInfo> AsyncioTasks::resolve(const lp_py_task_ref& ref) {
  if (!layout_.asyncio.available()) return std::nullopt;
  uint64_t name_object = ref.name_objects[0];
  uint64_t task = ref.task ? ref.task : task_of_step(ref, name_object);
  TaskKind kind = task_kind(task);
  if (kind == TaskKind::none) return std::nullopt;
  TaskInfo info;
  if (kind == TaskKind::c_task) {
    // The task may have ended since the capture and its memory hold another
    // Task now: it must still have the name object it had then.
    auto now = memory_.value<uint64_t>(task + layout_.asyncio.task_name);
    if (!now || *now != name_object) return std::nullopt;
    auto name = name_of(task);
    if (!name) return std::nullopt;  // not a live Task any more
    info.name = *name;
    info.coroutine = coroutine_of(task);
  }
  // The chain of awaiters, innermost first, then reversed.
  std::unordered_set<uint64_t> seen{task};
  uint64_t at = task;
  for (int i = 0; i < kMaxAwaitChain; i++) {
    uint64_t by = awaiter_of(at);
    if (!by || !seen.insert(by).second) break;
    TaskKind by_kind = task_kind(by);
    if (by_kind == TaskKind::none) break;
    std::optional<std::string> name =
        by_kind == TaskKind::c_task ? name_of(by) : std::optional<std::string>("?");
    if (!name) break;
    info.awaited_by.push_back(*name);
    at = by;
  }
  std::reverse(info.awaited_by.begin(), info.awaited_by.end());
  return info;
}

}  // namespace loopprof::python
