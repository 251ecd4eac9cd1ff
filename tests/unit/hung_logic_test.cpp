// Pure logic of the hung-process tools: deadlock cycles, socket table lines,
// syscall names from kernel frames, loop recognition from frames.
#include <gtest/gtest.h>
#include <unistd.h>

#include "collector/wait_notes.hpp"
#include "target/fd_names.hpp"
#include "target/live_threads.hpp"
#include "target/lock_graph.hpp"

namespace loopprof {
namespace {

TEST(LockGraph, FindsEachCycleOnceFromItsSmallestTid) {
  // 10 -> 11 -> 10 is a deadlock; 20 -> 10 waits on it but is not in it;
  // 30 -> 31 -> 32 -> 30 is another.
  auto cycles = find_deadlocks({{10, 11}, {11, 10}, {20, 10}, {31, 32}, {32, 30}, {30, 31}});
  ASSERT_EQ(cycles.size(), 2u);
  EXPECT_EQ(cycles[0], (std::vector<pid_t>{10, 11}));
  EXPECT_EQ(cycles[1], (std::vector<pid_t>{30, 31, 32}));
}

TEST(LockGraph, ChainsWithoutCycleAreNoDeadlock) {
  EXPECT_TRUE(find_deadlocks({{1, 2}, {2, 3}}).empty());
  EXPECT_TRUE(find_deadlocks({}).empty());
}

TEST(FdNames, ParsesTcpLines) {
  uint64_t inode = 0;
  std::string text;
  ASSERT_TRUE(parse_inet_socket_line(
      "   1: 0100007F:A336 0100007F:1F91 01 00000000:00000000 00:00000000 00000000     0        0 "
      "129716 1 0000000000000000 20 4 30 10 -1",
      "TCP", false, inode, text));
  EXPECT_EQ(inode, 129716u);
  EXPECT_EQ(text, "TCP 127.0.0.1:41782 -> 127.0.0.1:8081");
  ASSERT_TRUE(parse_inet_socket_line(
      "   0: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
      "555 1 0000000000000000 100 0 0 10 0",
      "TCP", false, inode, text));
  EXPECT_EQ(text, "TCP listening on 0.0.0.0:8081");
  ASSERT_TRUE(parse_inet_socket_line(
      "   0: 0000000000000000FFFF00000100007F:1F91 0000000000000000FFFF00000100007F:A336 01 "
      "00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 20 4 30 10 -1",
      "TCP", true, inode, text));
  EXPECT_EQ(text, "TCP 127.0.0.1:8081 -> 127.0.0.1:41782");
  EXPECT_FALSE(
      parse_inet_socket_line("  sl  local_address rem_address", "TCP", false, inode, text));
}

Frame kernel(const char* name) {
  return Frame{.kind = FrameKind::kernel, .name = name};
}
Frame native(const char* name, const char* module = "/usr/bin/x") {
  return Frame{.kind = FrameKind::native, .name = name, .module = module};
}
Frame python(const char* name, const char* file) {
  return Frame{.kind = FrameKind::python, .name = name, .file = file};
}

TEST(WaitNotes, SyscallFromKernelFrames) {
  EXPECT_EQ(syscall_of_kernel_frames({native("recv"), kernel("entry_SYSCALL_64_after_hwframe"),
                                      kernel("do_syscall_64"), kernel("__x64_sys_recvfrom"),
                                      kernel("__sys_recvfrom")}),
            "recvfrom");
  EXPECT_EQ(syscall_of_kernel_frames({native("f"), kernel("asm_exc_page_fault")}), "");
  // Linux 6.18: no __x64_sys_ frame; the syscall's body under do_syscall_64.
  EXPECT_EQ(
      syscall_of_kernel_frames({native("__GI___libc_read"),
                                kernel("entry_SYSCALL_64_after_hwframe"), kernel("do_syscall_64"),
                                kernel("ksys_read"), kernel("vfs_read"), kernel("anon_pipe_read")}),
      "read");
  EXPECT_EQ(syscall_of_kernel_frames(
                {kernel("do_syscall_64"), kernel("__sys_recvfrom"), kernel("sock_recvmsg")}),
            "recvfrom");
  // Not a syscall of the table: no name rather than a wrong one.
  EXPECT_EQ(syscall_of_kernel_frames({kernel("do_syscall_64"), kernel("do_frobnicate")}), "");
  EXPECT_EQ(syscall_of_kernel_frames({kernel("do_syscall_64"), kernel("vfs_read")}), "");
}

TEST(WaitNotes, AnEndedStallNamesItsLongestWaitNotTheLastOne) {
  WaitNotes notes(getpid());
  lp_capture_record record{};
  record.tid = 77;
  record.seq = 3;
  record.off_reason = LP_OFF_IO;
  notes.on_switch_out(record, {native("recv"), kernel("do_syscall_64"), kernel("__sys_recvfrom")});
  notes.on_resume(77, 3, 250000000);
  // A 0.3 ms page fault after the recv, whose resume is not seen.
  notes.on_switch_out(record, {native("f"), kernel("asm_exc_page_fault")});
  Stall stall;
  stall.tid = 77;
  stall.seq = 3;
  stall.duration_ns = 251000000;
  stall.breakdown.io_ns = 250300000;
  stall.ongoing = true;
  notes.apply(stall);
  EXPECT_EQ(stall.waited_on, "disk or page-fault wait") << "under way: what it waits on now";
  stall.ongoing = false;
  stall.waited_on.clear();
  notes.apply(stall);
  EXPECT_EQ(stall.waited_on, "recvfrom");
}

TEST(LoopRecognition, FromFrames) {
  EXPECT_EQ(loop_runtime_of(
                {python("BaseEventLoop.run_forever", "/usr/lib/python3.11/asyncio/base_events.py"),
                 python("handler", "app.py")}),
            "asyncio");
  EXPECT_EQ(loop_runtime_of({python("run_forever", "mine.py")}), "");
  EXPECT_EQ(loop_runtime_of({native("main", "/usr/bin/node"), native("uv_run", "/usr/bin/node")}),
            "Node.js");
  EXPECT_EQ(loop_runtime_of({native("main"), native("uv_run", "/usr/lib/libuv.so.1")}), "libuv");
  EXPECT_EQ(loop_runtime_of({native("main"), native("g_main_loop_run", "/usr/lib/libglib.so")}),
            "GLib");
  EXPECT_EQ(loop_runtime_of({native("main"), native("aeMain", "/usr/bin/redis-server")}), "ae");
  EXPECT_EQ(loop_runtime_of({native("main"), native("worker")}), "");
}

}  // namespace
}  // namespace loopprof
