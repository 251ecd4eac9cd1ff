#include <gtest/gtest.h>

#include "python/thread_states.hpp"
#include "python_fake_memory.hpp"

namespace loopprof::python {
namespace {

using testing::FakeMemory;

TEST(PythonThreadStates, WalksEveryInterpreterAndThread) {
  auto layout = layout_for_version({3, 12, 1}).value();
  FakeMemory mem;
  const uint64_t runtime = 0x10000, interp1 = 0x20000, interp2 = 0x30000;
  const uint64_t t1 = 0x40000, t2 = 0x41000, t3 = 0x42000;
  mem.map(runtime, 0x1000);
  mem.map(interp1, 0x1000);
  mem.map(interp2, 0x1000);
  for (uint64_t t : {t1, t2, t3}) mem.map(t, 0x400);
  mem.put(runtime + layout.runtime_interpreters_head, interp1);
  mem.put(interp1 + layout.interp_next, interp2);
  mem.put(interp1 + layout.interp_threads_head, t1);
  mem.put(t1 + layout.tstate_next, t2);
  mem.put(interp2 + layout.interp_threads_head, t3);
  mem.put<uint64_t>(t1 + layout.tstate_thread_id, 0x7f0001);
  mem.put<uint64_t>(t2 + layout.tstate_thread_id, 0x7f0002);
  mem.put<uint64_t>(t3 + layout.tstate_thread_id, 0x7f0003);
  auto threads = list_thread_states(mem, layout, runtime);
  ASSERT_TRUE(threads);
  EXPECT_EQ(threads.value(),
            (std::vector<ThreadStateRef>{{0x7f0001, t1}, {0x7f0002, t2}, {0x7f0003, t3}}));

  mem.put(t2 + layout.tstate_next, t1);  // a cycle (memory changing under us)
  threads = list_thread_states(mem, layout, runtime);
  ASSERT_TRUE(threads);
  EXPECT_EQ(threads.value().size(), 3u);

  EXPECT_FALSE(list_thread_states(mem, layout, 0xbad000));
}

}  // namespace
}  // namespace loopprof::python
