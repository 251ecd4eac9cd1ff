// The threading.RLock a thread waits for, and its owner. CPython's RLock
// (_thread.RLock, 3.8 .. 3.13) keeps the owner's thread ident (pthread_self())
// and a recursion count beside a PyThread_type_lock: on Linux a malloc'd
// sem_t whose futex word the waiter sleeps on. The RLock object is found in
// the waiter's innermost Python frame (a local, the evaluation stack, or the
// bound __enter__/__exit__/acquire on that stack) and accepted only when its
// lock is the very futex the thread sleeps on: an answer is never guessed.
#pragma once

#include <cstdint>
#include <optional>

#include "python/layout.hpp"
#include "python/memory.hpp"

namespace loopprof::python {

// Fields after the object header (PyObject_HEAD), as data per version.
struct RLockLayout {
  uint32_t lock = 0;            // rlockobject.rlock_lock (PyThread_type_lock: sem_t*)
  uint32_t owner = 8;           // rlock_owner: the owner's thread ident, 0 when free
  uint32_t count = 16;          // rlock_count: recursion depth
  uint32_t cfunction_self = 8;  // PyCFunctionObject.m_self (a bound C method's self)
};

// The table for 3.8 .. 3.13 (GIL builds); nullopt for other versions.
std::optional<RLockLayout> rlock_layout_for(const InterpreterLayout& layout);

struct RLockWait {
  uint64_t rlock = 0;  // the _thread.RLock object
  uint64_t owner = 0;  // its owner's thread ident (PyThreadState.thread_id, pthread_self())
  uint64_t count = 0;  // how many times the owner holds it
};

// The RLock that the thread whose PyThreadState is `tstate` waits for while
// it sleeps on the futex word at `futex`; nullopt when its innermost frame
// holds none that matches, or memory does not read as the layout says.
std::optional<RLockWait> rlock_waited_on(const MemoryReader& memory,
                                         const InterpreterLayout& layout, uint64_t tstate,
                                         uint64_t futex);

}  // namespace loopprof::python
