#include "python/rlocks.hpp"

#include <cstring>
#include <string_view>

namespace loopprof::python {

namespace {
constexpr size_t kMaxSlots = 64;     // localsplus slots scanned: locals and the stack top
constexpr size_t kMaxFrameHops = 2;  // 3.12+: past a C-stack shim to the Python frame
constexpr uint64_t kSemSize = 32;    // sizeof(sem_t) on x86_64: the futex word lies inside
constexpr int64_t kMaxRefcnt = int64_t{1} << 31;
constexpr std::string_view kRLockType = "_thread.RLock";
constexpr std::string_view kBoundCMethodType = "builtin_function_or_method";

struct VersionRow {
  int minor;
  RLockLayout layout;
};

// rlockobject and PyCFunctionObject after PyObject_HEAD, read with gdb
// (`ptype /o rlockobject`, `ptype /o PyCFunctionObject`) from each pyenv
// libpython 3.8.18 .. 3.13.0 and checked live on each (and Debian's 3.11.2):
// rlock_lock is the futex word a blocked `acquire` sleeps on, rlock_owner
// the holder's threading.get_ident(). 3.14 moved to a _PyRecursiveMutex.
const VersionRow kRows[] = {
    {8, {0, 8, 16, 8}},  {9, {0, 8, 16, 8}},  {10, {0, 8, 16, 8}},
    {11, {0, 8, 16, 8}}, {12, {0, 8, 16, 8}}, {13, {0, 8, 16, 8}},
};

class Scan {
 public:
  Scan(const MemoryReader& memory, const InterpreterLayout& layout, RLockLayout rlock,
       uint64_t futex)
      : memory_(memory), layout_(layout), rlock_(rlock), futex_(futex) {}

  // `object` if it is the RLock behind the futex, else the RLock a bound C
  // method on it points to (with rlock: / rlock.acquire()), else nullopt.
  std::optional<RLockWait> check(uint64_t object) {
    auto type = type_of(object);
    if (!type) return std::nullopt;
    if (is_type(*type, kRLockType, rlock_type_)) return matching(object);
    if (!is_type(*type, kBoundCMethodType, method_type_)) return std::nullopt;
    auto self = memory_.value<uint64_t>(object + layout_.object_size + rlock_.cfunction_self);
    if (!self || *self == 0) return std::nullopt;
    auto self_type = type_of(*self);
    if (!self_type || !is_type(*self_type, kRLockType, rlock_type_)) return std::nullopt;
    return matching(*self);
  }

 private:
  // The type of a live object (a plausible reference count: a freed pymalloc
  // block holds a free-list pointer there).
  std::optional<uint64_t> type_of(uint64_t object) const {
    if (object == 0 || object % 8 != 0) return std::nullopt;
    auto refcnt = memory_.value<int64_t>(object);
    if (!refcnt || *refcnt <= 0 || *refcnt >= kMaxRefcnt) return std::nullopt;
    auto type = memory_.value<uint64_t>(object + layout_.object_type);
    if (!type || *type == 0 || *type % 8 != 0) return std::nullopt;
    return type;
  }

  // Whether `type`'s tp_name is `name`; `known` remembers the answer's type.
  bool is_type(uint64_t type, std::string_view name, uint64_t& known) const {
    if (known != 0) return type == known;
    auto tp_name = memory_.value<uint64_t>(type + layout_.type_name);
    if (!tp_name || *tp_name == 0) return false;
    auto raw = memory_.bytes(*tp_name, name.size() + 1);
    if (!raw || raw->back() != 0 || std::memcmp(raw->data(), name.data(), name.size()) != 0)
      return false;
    known = type;
    return true;
  }

  std::optional<RLockWait> matching(uint64_t rlock) const {
    const uint64_t fields = rlock + layout_.object_size;
    auto lock = memory_.value<uint64_t>(fields + rlock_.lock);
    auto owner = memory_.value<uint64_t>(fields + rlock_.owner);
    auto count = memory_.value<uint64_t>(fields + rlock_.count);
    if (!lock || !owner || !count || *lock == 0 || *owner == 0 || *count == 0) return std::nullopt;
    if (futex_ < *lock || futex_ >= *lock + kSemSize) return std::nullopt;  // another lock
    return RLockWait{.rlock = rlock, .owner = *owner, .count = *count};
  }

  const MemoryReader& memory_;
  const InterpreterLayout& layout_;
  RLockLayout rlock_;
  uint64_t futex_;
  uint64_t rlock_type_ = 0, method_type_ = 0;
};

// The thread's innermost frame of Python code (0: none readable).
uint64_t innermost_frame(const MemoryReader& memory, const InterpreterLayout& layout,
                         uint64_t tstate) {
  const lp_py_config& w = layout.walker;
  uint64_t base = tstate;
  if (w.tstate_cframe != kNoOffset) {
    auto cframe = memory.value<uint64_t>(tstate + w.tstate_cframe);
    if (!cframe || *cframe == 0) return 0;
    base = *cframe;
  }
  auto frame = memory.value<uint64_t>(base + w.tstate_frame);
  for (size_t hop = 0; frame && *frame != 0 && hop < kMaxFrameHops; hop++) {
    if (w.frame_owner == kNoOffset) return *frame;
    auto owner = memory.value<uint8_t>(*frame + w.frame_owner);
    if (!owner) return 0;
    if (*owner < w.owner_cstack) return *frame;
    frame = memory.value<uint64_t>(*frame + w.frame_previous);
  }
  return 0;
}
}  // namespace

std::optional<RLockLayout> rlock_layout_for(const InterpreterLayout& layout) {
  if (layout.version.major != 3 || layout.free_threaded || layout.object_size != 16 ||
      layout.frame_localsplus == kNoOffset)
    return std::nullopt;
  for (const VersionRow& row : kRows)
    if (row.minor == layout.version.minor) return row.layout;
  return std::nullopt;
}

std::optional<RLockWait> rlock_waited_on(const MemoryReader& memory,
                                         const InterpreterLayout& layout, uint64_t tstate,
                                         uint64_t futex) {
  auto rlock = rlock_layout_for(layout);
  if (!rlock || tstate == 0 || futex == 0) return std::nullopt;
  uint64_t frame = innermost_frame(memory, layout, tstate);
  if (frame == 0) return std::nullopt;
  Scan scan(memory, layout, *rlock, futex);
  for (size_t i = 0; i < kMaxSlots; i++) {
    auto slot = memory.value<uint64_t>(frame + layout.frame_localsplus + i * 8);
    if (!slot) break;  // the end of the frame's memory
    if (auto found = scan.check(*slot)) return found;
  }
  return std::nullopt;
}

}  // namespace loopprof::python
