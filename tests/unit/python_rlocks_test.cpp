// Finding the threading.RLock a thread waits for, and its owner, in fake
// target memory laid out as CPython 3.10, 3.11, 3.12 and 3.13 lay it out.
#include <gtest/gtest.h>

#include <string>

#include "python/rlocks.hpp"
#include "python_fake_memory.hpp"

namespace loopprof::python {
namespace {

using testing::FakeMemory;

constexpr uint64_t kTstate = 0x10000, kCframe = 0x11000, kFrame = 0x20000, kCaller = 0x22000;
constexpr uint64_t kRLockType = 0x30000, kMethodType = 0x32000, kLockType = 0x34000;
constexpr uint64_t kRLock = 0x40000, kMethod = 0x41000, kSem = 0x50000;
constexpr uint64_t kOwner = 0x7f0012345640;  // the holder's pthread_self()
constexpr size_t kFrameBytes = 1024;

InterpreterLayout layout_of(int minor) {
  if (minor <= 12) return layout_for_version(PyVersion{3, minor, 0}).value();
  // 3.13 comes from _Py_DebugOffsets: tstate->current_frame, no cframe.
  InterpreterLayout l = layout_for_version(PyVersion{3, 12, 0}).value();
  l.version = PyVersion{3, 13, 0};
  l.walker.tstate_cframe = kNoOffset;
  l.walker.tstate_frame = 72;
  l.walker.frame_owner = 70;
  return l;
}

void put_type(FakeMemory& m, uint64_t type, const std::string& name) {
  m.map(type, 512);
  m.map(type + 0x1000, name.size() + 1);
  m.write(type + 0x1000, name.c_str(), name.size() + 1);
  m.put<uint64_t>(type + 24, type + 0x1000);  // tp_name
}

void put_object(FakeMemory& m, uint64_t object, uint64_t type) {
  m.map(object, 64);
  m.put<int64_t>(object, 2);  // ob_refcnt
  m.put<uint64_t>(object + 8, type);
}

// A thread whose innermost frame is at kFrame, an RLock at kRLock held twice
// by kOwner whose lock is the sem_t at kSem, and the types of a bound C
// method and of a threading.Lock.
FakeMemory target(const InterpreterLayout& l) {
  FakeMemory m;
  m.map(kTstate, 512);
  m.map(kCframe, 64);
  m.map(kFrame, kFrameBytes);
  if (l.walker.tstate_cframe != kNoOffset) {
    m.put<uint64_t>(kTstate + l.walker.tstate_cframe, kCframe);
    m.put<uint64_t>(kCframe + l.walker.tstate_frame, kFrame);
  } else {
    m.put<uint64_t>(kTstate + l.walker.tstate_frame, kFrame);
  }
  put_type(m, kRLockType, "_thread.RLock");
  put_type(m, kMethodType, "builtin_function_or_method");
  put_type(m, kLockType, "_thread.lock");
  put_object(m, kRLock, kRLockType);
  m.put<uint64_t>(kRLock + 16, kSem);    // rlock_lock
  m.put<uint64_t>(kRLock + 24, kOwner);  // rlock_owner
  m.put<uint64_t>(kRLock + 32, 2);       // rlock_count
  put_object(m, kMethod, kMethodType);
  m.put<uint64_t>(kMethod + 24, kRLock);  // m_self: rlock.__exit__ bound to it
  return m;
}

void put_slot(FakeMemory& m, const InterpreterLayout& l, size_t index, uint64_t value,
              uint64_t frame = kFrame) {
  m.put<uint64_t>(frame + l.frame_localsplus + index * 8, value);
}

TEST(PythonRLocks, AnRLockInTheFrameNamesItsOwnerOnEveryVersion) {
  for (int minor : {8, 9, 10, 11, 12, 13}) {
    SCOPED_TRACE(minor);
    InterpreterLayout l = layout_of(minor);
    FakeMemory m = target(l);
    put_slot(m, l, 0, 0x1234000);  // unreadable: skipped
    put_slot(m, l, 2, kRLock);     // rlock.acquire(): self on the stack
    auto wait = rlock_waited_on(m, l, kTstate, kSem);
    ASSERT_TRUE(wait.has_value());
    EXPECT_EQ(wait->rlock, kRLock);
    EXPECT_EQ(wait->owner, kOwner);
    EXPECT_EQ(wait->count, 2u);
  }
}

TEST(PythonRLocks, ABoundExitOnTheStackLeadsToItsRLock) {
  // `with self._lock:` (3.8 .. 3.11): the stack holds the bound __exit__.
  InterpreterLayout l = layout_of(11);
  FakeMemory m = target(l);
  put_slot(m, l, 5, kMethod);
  auto wait = rlock_waited_on(m, l, kTstate, kSem);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(wait->owner, kOwner);
  // A bound method of anything else is no answer.
  m.put<uint64_t>(kMethod + 24, kMethod);
  EXPECT_FALSE(rlock_waited_on(m, l, kTstate, kSem).has_value());
}

TEST(PythonRLocks, ARLockOfAnotherFutexIsNoAnswer) {
  InterpreterLayout l = layout_of(12);
  FakeMemory m = target(l);
  put_slot(m, l, 1, kRLock);
  EXPECT_FALSE(rlock_waited_on(m, l, kTstate, kSem + 0x100).has_value());
  EXPECT_TRUE(rlock_waited_on(m, l, kTstate, kSem).has_value());
}

TEST(PythonRLocks, ALockOfTheSameShapeIsNotAnRLock) {
  // A threading.Lock's lock_lock sits where an RLock's does: its type says no.
  InterpreterLayout l = layout_of(10);
  FakeMemory m = target(l);
  m.put<uint64_t>(kRLock + 8, kLockType);
  put_slot(m, l, 1, kRLock);
  EXPECT_FALSE(rlock_waited_on(m, l, kTstate, kSem).has_value());
}

TEST(PythonRLocks, FreedOrReleasedRLocksAreNoAnswer) {
  InterpreterLayout l = layout_of(12);
  FakeMemory m = target(l);
  put_slot(m, l, 1, kRLock);
  m.put<uint64_t>(kRLock + 24, 0);  // released: no owner
  EXPECT_FALSE(rlock_waited_on(m, l, kTstate, kSem).has_value());
  m.put<uint64_t>(kRLock + 24, kOwner);
  m.put<uint64_t>(kRLock, 0x7f0000001000);  // a pymalloc free-list link, not a count
  EXPECT_FALSE(rlock_waited_on(m, l, kTstate, kSem).has_value());
}

TEST(PythonRLocks, PastACStackShimToThePythonFrame) {
  InterpreterLayout l = layout_of(12);
  FakeMemory m = target(l);
  m.map(kCaller, kFrameBytes);
  m.put<uint8_t>(kFrame + l.walker.frame_owner, static_cast<uint8_t>(l.walker.owner_cstack));
  m.put<uint64_t>(kFrame + l.walker.frame_previous, kCaller);
  put_slot(m, l, 0, kRLock, kCaller);
  auto wait = rlock_waited_on(m, l, kTstate, kSem);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(wait->owner, kOwner);
}

TEST(PythonRLocks, TheScanStopsAtTheEndOfReadableMemory) {
  InterpreterLayout l = layout_of(12);
  FakeMemory m = target(l);
  m.unmap(kFrame);
  m.map(kFrame, l.frame_localsplus + 3 * 8);  // three slots, then nothing
  put_slot(m, l, 2, kRLock);
  EXPECT_TRUE(rlock_waited_on(m, l, kTstate, kSem).has_value());
  m.unmap(kTstate);
  EXPECT_FALSE(rlock_waited_on(m, l, kTstate, kSem).has_value());
}

TEST(PythonRLocks, OnlyVersionsInTheTable) {
  InterpreterLayout l = layout_of(12);
  EXPECT_TRUE(rlock_layout_for(l).has_value());
  l.version = PyVersion{3, 14, 0};  // a _PyRecursiveMutex
  EXPECT_FALSE(rlock_layout_for(l).has_value());
  l = layout_of(13);
  l.free_threaded = true;
  l.object_size = 32;
  EXPECT_FALSE(rlock_layout_for(l).has_value());
  FakeMemory m = target(layout_of(12));
  put_slot(m, layout_of(12), 1, kRLock);
  EXPECT_FALSE(rlock_waited_on(m, l, kTstate, kSem).has_value());
}

}  // namespace
}  // namespace loopprof::python
