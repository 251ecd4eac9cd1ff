// A loop already stuck when loopprof attaches is reported as an ongoing stall
// (began before attach, right cause, culprit line, lock holder), a healthy
// loop attached mid-iteration is not, and `loopprof dump` tells every
// thread's state, descriptor, frames and deadlocks without stopping the
// target. The fixtures are stuck BEFORE loopprof starts. Needs root.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "loopprof_runner.hpp"
#include "output_files.hpp"
#include "temp_dir.hpp"

namespace loopprof::test {
namespace {

constexpr int kThresholdMs = 200;

// "hung_app.py:LINE" of the line holding `marker` in the fixture source.
std::string culprit_line(const std::string& marker) {
  std::ifstream in(fixture_source("hung_app.py"));
  std::string line;
  for (int number = 1; std::getline(in, line); ++number)
    if (line.find(marker) != std::string::npos) return "hung_app.py:" + std::to_string(number);
  return "?";
}

pid_t number_after(const std::string& text, const std::string& word) {
  std::istringstream in(text.substr(text.find(word) + word.size()));
  long value = 0;
  in >> value;
  return static_cast<pid_t>(value);
}

// `loopprof dump --json` of `pid`, parsed into `out`.
void dump_json(pid_t pid, nlohmann::json& out) {
  Process dump = start_loopprof({"dump", "-p", std::to_string(pid), "--json"});
  ASSERT_EQ(dump.wait_exit(milliseconds(20000)), 0) << dump.describe();
  out = nlohmann::json::parse(dump.text(Stream::kStdout));
}

// The dump names exactly one deadlock, of the threads `expected`.
void expect_one_deadlock_of(const nlohmann::json& d, std::vector<int> expected) {
  ASSERT_EQ(d["deadlocks"].size(), 1u) << d.dump();
  auto tids = d["deadlocks"][0]["tids"].get<std::vector<int>>();
  std::sort(tids.begin(), tids.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(tids, expected) << d.dump();
}

struct AttachRun {
  std::vector<nlohmann::json> stalls;   // "stall" events of the loop thread
  double ongoing_after_attach_ms = -1;  // "attached" to the first ONGOING stdout line
  Clock::time_point started, exited;    // loopprof's start and exit
  std::string output;                   // loopprof's stdout (the stall and why lines)
  std::string diagnostics;
};

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// Attaches to an already stuck target for `duration` seconds.
AttachRun attach_to(Process& target, pid_t loop_tid, const std::string& duration = "1.5") {
  TempDir dir;
  AttachRun run;
  run.started = Clock::now();
  Process loopprof = run_loopprof(target.pid(), {"-t", std::to_string(kThresholdMs), "-d", duration,
                                                 "--events", dir.file("events.jsonl")});
  auto attached = Clock::now();
  auto ongoing = loopprof.wait_for_line(Stream::kStdout, "ONGOING", milliseconds(5000));
  if (ongoing)
    run.ongoing_after_attach_ms =
        std::chrono::duration<double, std::milli>(ongoing->received - attached).count();
  loopprof.wait_exit(milliseconds(20000));
  run.exited = Clock::now();
  run.output = loopprof.text(Stream::kStdout);
  run.diagnostics = loopprof.describe() + "\n" + target.describe();
  for (const auto& event : read_jsonl(dir.file("events.jsonl")))
    if (event.value("event", "") == "stall" && event.value("tid", 0) == loop_tid)
      run.stalls.push_back(event);
  return run;
}

bool stack_has(const nlohmann::json& stall, const std::string& part) {
  for (const auto& stack : stall["stacks"])
    for (const auto& frame : stack["frames"])
      if (frame.get<std::string>().find(part) != std::string::npos) return true;
  return false;
}

struct PyCase {
  std::string mode, cause, culprit_marker, waited_on;
  std::string holder = "";  // the fixture's thread holding the lock, named with its TID
};

void check_python_case(const std::string& python, const PyCase& c) {
  SCOPED_TRACE(python + " " + c.mode);
  Process app = Process::spawn({python, fixture_source("hung_app.py"), c.mode});
  auto loop = app.wait_for_line(Stream::kStdout, "loop main", milliseconds(20000));
  ASSERT_TRUE(loop) << app.describe();
  pid_t tid = number_after(loop->text, "loop main");
  std::string held_by;  // "held by rlock-holder (tid 4242)"
  if (!c.holder.empty()) {
    auto holder = app.wait_for_line(Stream::kStdout, "thread " + c.holder, milliseconds(20000));
    ASSERT_TRUE(holder) << app.describe();
    held_by = fmt::format("held by {} (tid {})", c.holder,
                          number_after(holder->text, "thread " + c.holder));
  }
  auto stuck = app.wait_for_line(Stream::kStdout, "stuck", milliseconds(20000));
  ASSERT_TRUE(stuck) << app.describe();
  std::this_thread::sleep_for(milliseconds(1000));  // well inside its blocking call

  AttachRun run = attach_to(app, tid);
  ASSERT_FALSE(run.stalls.empty()) << run.diagnostics;
  EXPECT_GE(run.ongoing_after_attach_ms, 0) << "no ONGOING line\n" << run.diagnostics;
  EXPECT_LE(run.ongoing_after_attach_ms, 2 * kThresholdMs) << run.diagnostics;
  const nlohmann::json& first = run.stalls.front();
  EXPECT_TRUE(first["ongoing"].get<bool>()) << first.dump();
  EXPECT_TRUE(first["began_before_attach"].get<bool>()) << first.dump();
  EXPECT_EQ(first["cause"], c.cause) << first.dump();
  EXPECT_TRUE(stack_has(first, culprit_line(c.culprit_marker)))
      << "culprit " << culprit_line(c.culprit_marker) << " missing: " << first.dump();
  if (!c.waited_on.empty())
    EXPECT_NE(first.value("waited_on", "").find(c.waited_on), std::string::npos) << first.dump();
  if (!held_by.empty()) {  // the holder in the event and in the stall's why line
    EXPECT_NE(first.value("waited_on", "").find(held_by), std::string::npos)
        << held_by << " missing: " << first.dump();
    EXPECT_NE(run.output.find(held_by), std::string::npos) << held_by << " missing:\n"
                                                           << run.output;
  }
  // The report at exit says the same.
  const nlohmann::json& last = run.stalls.back();
  EXPECT_TRUE(last["at_exit"].get<bool>()) << last.dump();
  EXPECT_TRUE(last["began_before_attach"].get<bool>()) << last.dump();
  // A thread blocked in a syscall has been stuck at least as long as the
  // kernel says it has been off CPU: the stall counts from there, not from
  // attach (the -d 1.5 s run plus the second the test waited), and never
  // from before the fixture said it was stuck.
  double duration = last["duration_ms"].get<double>();
  EXPECT_LE(duration, ms_between(stuck->received, run.exited) + 100) << last.dump();
  if (c.cause != "on_cpu")
    EXPECT_GE(duration, ms_between(stuck->received, run.started) + 1500 - 50) << last.dump();
}

std::vector<std::string> pythons_to_test() {
  std::vector<std::string> out;
  for (const auto& p : test_pythons()) out.push_back(p.executable);
  return out;  // Debian's /usr/bin/python3 and `python3` on PATH (pyenv)
}

TEST(BusyAtAttach, PythonLoopsStuckBeforeAttach) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  const std::vector<PyCase> cases = {
      {"lock", "lock", "culprit line of \"lock\"", "Python lock"},
      // threading.RLock: its owner read from the RLock the loop's frame holds.
      {"rlock", "lock", "culprit line of \"rlock\"", "futex on RLock 0x", "rlock-holder"},
      {"sleep", "sleep", "culprit line of \"sleep\"", ""},
      {"cpu", "on_cpu", "culprit line of \"cpu\"", ""},
      {"recv", "io", "culprit line of \"recv\"", "recvfrom on TCP 127.0.0.1:"},
  };
  auto pythons = pythons_to_test();
  ASSERT_FALSE(pythons.empty());
  for (const auto& python : pythons)
    for (const auto& c : cases) check_python_case(python, c);
}

TEST(BusyAtAttach, HealthyLoopIsNotReported) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  auto pythons = pythons_to_test();
  ASSERT_FALSE(pythons.empty());
  Process app = Process::spawn({pythons.front(), fixture_source("hung_app.py"), "healthy"});
  auto loop = app.wait_for_line(Stream::kStdout, "loop main", milliseconds(20000));
  ASSERT_TRUE(loop) << app.describe();
  ASSERT_TRUE(app.wait_for_line(Stream::kStdout, "ready", milliseconds(20000)));
  AttachRun run = attach_to(app, number_after(loop->text, "loop main"));
  EXPECT_TRUE(run.stalls.empty()) << run.stalls.front().dump() << "\n" << run.diagnostics;
}

TEST(BusyAtAttach, NativeDeadlockedLoop) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  Process app = Process::spawn({fixture_binary("deadlock_loop")});
  auto loop = app.wait_for_line(Stream::kStdout, "loop main", milliseconds(20000));
  auto worker = app.wait_for_line(Stream::kStdout, "thread worker", milliseconds(20000));
  ASSERT_TRUE(loop && worker) << app.describe();
  ASSERT_TRUE(app.wait_for_line(Stream::kStdout, "stuck", milliseconds(20000)));
  std::this_thread::sleep_for(milliseconds(300));
  pid_t tid = number_after(loop->text, "loop main");
  std::string worker_tid = std::to_string(number_after(worker->text, "thread worker"));

  AttachRun run = attach_to(app, tid);
  ASSERT_FALSE(run.stalls.empty()) << run.diagnostics;
  const nlohmann::json& first = run.stalls.front();
  EXPECT_LE(run.ongoing_after_attach_ms, 2 * kThresholdMs) << run.diagnostics;
  EXPECT_TRUE(first["began_before_attach"].get<bool>()) << first.dump();
  EXPECT_EQ(first["cause"], "lock") << first.dump();
  EXPECT_TRUE(stack_has(first, "lock_in_callback")) << first.dump();
  EXPECT_NE(first.value("waited_on", "").find("held by worker (tid " + worker_tid + ")"),
            std::string::npos)
      << first.dump();
  EXPECT_NE(first.value("deadlock", "").find("waits on worker (tid " + worker_tid + ")"),
            std::string::npos)
      << first.dump();
}

TEST(BusyAtAttach, NativeEpollLoopInNanosleep) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  Process app =
      Process::spawn({fixture_binary("epoll_loop"), "--no-wait", "--gap", "100", "sleep:30000"});
  auto loop = app.wait_for_line(Stream::kStdout, "loop main", milliseconds(20000));
  ASSERT_TRUE(loop) << app.describe();
  ASSERT_TRUE(app.wait_for_line(Stream::kStdout, "begin main sleep", milliseconds(20000)));
  std::this_thread::sleep_for(milliseconds(300));
  AttachRun run = attach_to(app, number_after(loop->text, "loop main"));
  ASSERT_FALSE(run.stalls.empty()) << run.diagnostics;
  const nlohmann::json& first = run.stalls.front();
  EXPECT_LE(run.ongoing_after_attach_ms, 2 * kThresholdMs) << run.diagnostics;
  EXPECT_TRUE(first["began_before_attach"].get<bool>()) << first.dump();
  EXPECT_EQ(first["cause"], "sleep") << first.dump();
  EXPECT_TRUE(stack_has(first, "nanosleep")) << first.dump();
}

TEST(BusyAtAttach, NodeLoopInSyncBusyLoop) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  Process app = Process::spawn(
      {"node", "-e",
       "console.log('loop main ' + process.pid); setTimeout(() => { console.log('stuck'); "
       "const end = Date.now() + 60000; while (Date.now() < end) {} }, 100);"});
  auto loop = app.wait_for_line(Stream::kStdout, "loop main", milliseconds(20000));
  ASSERT_TRUE(loop) << app.describe();
  ASSERT_TRUE(app.wait_for_line(Stream::kStdout, "stuck", milliseconds(20000)));
  std::this_thread::sleep_for(milliseconds(300));
  AttachRun run = attach_to(app, number_after(loop->text, "loop main"));
  ASSERT_FALSE(run.stalls.empty()) << run.diagnostics;
  const nlohmann::json& first = run.stalls.front();
  EXPECT_LE(run.ongoing_after_attach_ms, 2 * kThresholdMs) << run.diagnostics;
  EXPECT_TRUE(first["began_before_attach"].get<bool>()) << first.dump();
  EXPECT_EQ(first["cause"], "on_cpu") << first.dump();
}

std::string proc_status(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return line.substr(key.size() + 1);
  return "";
}

const nlohmann::json* thread_named(const nlohmann::json& dump, const std::string& name) {
  for (const auto& t : dump["threads"])
    if (t["thread"] == name) return &t;
  return nullptr;
}

bool frames_have(const nlohmann::json& t, const std::string& part) {
  for (const auto& f : t["frames"])
    if (f.get<std::string>().find(part) != std::string::npos) return true;
  return false;
}

TEST(Dump, ThreadsInEveryStateWithoutStopping) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  auto pythons = pythons_to_test();
  ASSERT_FALSE(pythons.empty());
  Process app = Process::spawn({pythons.front(), fixture_source("hung_app.py"), "threads"});
  auto listen = app.wait_for_line(Stream::kStdout, "listen", milliseconds(20000));
  ASSERT_TRUE(listen && app.wait_for_line(Stream::kStdout, "ready", milliseconds(20000)))
      << app.describe();
  std::string port = std::to_string(number_after(listen->text, "listen"));
  auto sleeper_line = app.wait_for_line(Stream::kStdout, "thread sleeper", milliseconds(1000));
  ASSERT_TRUE(sleeper_line) << app.describe();
  std::this_thread::sleep_for(milliseconds(1000));

  auto dump_started = Clock::now();
  Process dump = start_loopprof({"dump", "-p", std::to_string(app.pid()), "--json"});
  ASSERT_EQ(dump.wait_exit(milliseconds(20000)), 0) << dump.describe();
  auto dump_exited = Clock::now();
  nlohmann::json d = nlohmann::json::parse(dump.text(Stream::kStdout));
  EXPECT_EQ(d["threads"].size(), 6u) << d.dump();
  EXPECT_LT(d["snapshot_ms"].get<double>(), 100.0) << d.dump();

  const nlohmann::json* sleeper = thread_named(d, "sleeper");
  ASSERT_TRUE(sleeper) << d.dump();
  EXPECT_EQ((*sleeper)["state"], "blocked");
  EXPECT_EQ((*sleeper)["syscall"], "clock_nanosleep");
  EXPECT_TRUE(frames_have(*sleeper, "sleeper (")) << sleeper->dump();
  // How long it has slept, as the kernel's scheduler clock says: at least
  // since it said it would sleep, at most since then until the dump ended.
  double slept = (*sleeper)["in_state_ms"].get<double>();
  EXPECT_GE(slept, ms_between(sleeper_line->received, dump_started) - 50) << sleeper->dump();
  EXPECT_LE(slept, ms_between(sleeper_line->received, dump_exited) + 100) << sleeper->dump();

  // Named as the program names it (threading), its OS name beside it.
  const nlohmann::json* worker = thread_named(d, "billing-sync-worker");
  ASSERT_TRUE(worker) << d.dump();
  EXPECT_EQ((*worker)["state"], "blocked") << worker->dump();
  EXPECT_NE((*worker)["comm"], "billing-sync-worker") << worker->dump();

  const nlohmann::json* reader = thread_named(d, "reader");
  ASSERT_TRUE(reader) << d.dump();
  EXPECT_EQ((*reader)["syscall"], "read");
  EXPECT_EQ((*reader)["fd_name"].get<std::string>().rfind("pipe:[", 0), 0u) << reader->dump();

  const nlohmann::json* receiver = thread_named(d, "receiver");
  ASSERT_TRUE(receiver) << d.dump();
  EXPECT_EQ((*receiver)["syscall"], "recvfrom");
  EXPECT_NE((*receiver)["fd_name"].get<std::string>().find("-> 127.0.0.1:" + port),
            std::string::npos)
      << receiver->dump();

  const nlohmann::json* spinner = thread_named(d, "spinner");
  ASSERT_TRUE(spinner) << d.dump();
  EXPECT_NE((*spinner)["state"], "blocked") << spinner->dump();
  EXPECT_TRUE(frames_have(*spinner, "burn_cpu (")) << spinner->dump();

  bool loop_seen = false;
  for (const auto& t : d["threads"]) loop_seen |= t["loop"] == "asyncio";
  EXPECT_TRUE(loop_seen) << d.dump();

  // Never stopped: no tracing stop, and its threads keep switching.
  std::string state = proc_status(app.pid(), "State");
  EXPECT_EQ(state.find("t ("), std::string::npos) << state;
  EXPECT_EQ(state.find("T ("), std::string::npos) << state;
  EXPECT_EQ(proc_status(app.pid(), "TracerPid").find_first_not_of("\t 0"), std::string::npos);
}

TEST(Dump, DeadlockedPair) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  Process app = Process::spawn({fixture_binary("deadlock_loop")});
  auto loop = app.wait_for_line(Stream::kStdout, "loop main", milliseconds(20000));
  auto worker = app.wait_for_line(Stream::kStdout, "thread worker", milliseconds(20000));
  ASSERT_TRUE(loop && worker && app.wait_for_line(Stream::kStdout, "stuck", milliseconds(20000)));
  std::this_thread::sleep_for(milliseconds(300));
  std::string before = proc_status(app.pid(), "voluntary_ctxt_switches");
  nlohmann::json d;
  ASSERT_NO_FATAL_FAILURE(dump_json(app.pid(), d));
  expect_one_deadlock_of(
      d, {number_after(loop->text, "loop main"), number_after(worker->text, "thread worker")});
  // Both threads are deadlocked: a ptrace stop would have woken them (their
  // context-switch counters would move); the dump must leave them untouched.
  EXPECT_EQ(proc_status(app.pid(), "voluntary_ctxt_switches"), before);
  EXPECT_EQ(proc_status(app.pid(), "State").find("t ("), std::string::npos);
}

// The loop thread stuck in a step of asyncio.run's main Task: dump names the
// Task (on every interpreter: before 3.14 from Handle._run's handle).
TEST(Dump, NamesTheRunningTaskOfAStuckLoop) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  for (const auto& python : pythons_to_test()) {
    SCOPED_TRACE(python);
    Process app = Process::spawn({python, fixture_source("hung_app.py"), "sleep"});
    ASSERT_TRUE(app.wait_for_line(Stream::kStdout, "stuck", milliseconds(20000))) << app.describe();
    Process dump = start_loopprof({"dump", "-p", std::to_string(app.pid()), "--json"});
    ASSERT_EQ(dump.wait_exit(milliseconds(20000)), 0) << dump.describe();
    nlohmann::json d = nlohmann::json::parse(dump.text(Stream::kStdout));
    const nlohmann::json* loop = thread_named(d, "MainThread");
    ASSERT_TRUE(loop) << d.dump();
    ASSERT_TRUE(loop->contains("task")) << loop->dump();
    EXPECT_EQ((*loop)["task"]["name"], "Task-1") << loop->dump();
    EXPECT_EQ((*loop)["task"]["coroutine"], "main") << loop->dump();
  }
}

// A loop blocked on a threading.RLock: dump names the RLock's owner (its TID
// and threading name) on every interpreter; a threading.Lock, which records
// no owner, gets none.
TEST(Dump, NamesTheOwnerOfAnRLock) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  for (const auto& python : pythons_to_test()) {
    SCOPED_TRACE(python);
    Process app = Process::spawn({python, fixture_source("hung_app.py"), "rlock"});
    auto holder_line =
        app.wait_for_line(Stream::kStdout, "thread rlock-holder", milliseconds(20000));
    ASSERT_TRUE(holder_line) << app.describe();
    pid_t holder = number_after(holder_line->text, "thread rlock-holder");
    ASSERT_TRUE(app.wait_for_line(Stream::kStdout, "stuck", milliseconds(20000))) << app.describe();
    std::this_thread::sleep_for(milliseconds(300));  // inside the RLock's wait
    const std::string held_by = fmt::format("held by rlock-holder (tid {})", holder);

    Process dump = start_loopprof({"dump", "-p", std::to_string(app.pid()), "--json"});
    ASSERT_EQ(dump.wait_exit(milliseconds(20000)), 0) << dump.describe();
    nlohmann::json d = nlohmann::json::parse(dump.text(Stream::kStdout));
    const nlohmann::json* loop = thread_named(d, "MainThread");
    ASSERT_TRUE(loop) << d.dump();
    EXPECT_EQ((*loop)["lock_kind"], "RLock") << loop->dump();
    EXPECT_EQ((*loop)["lock_holder"], holder) << loop->dump();
    EXPECT_NE((*loop)["waiting_on"].get<std::string>().find(held_by), std::string::npos)
        << loop->dump();
    const nlohmann::json* owner = thread_named(d, "rlock-holder");
    ASSERT_TRUE(owner) << d.dump();
    EXPECT_EQ((*owner)["tid"], holder) << owner->dump();

    Process text = start_loopprof({"dump", "-p", std::to_string(app.pid())});
    ASSERT_EQ(text.wait_exit(milliseconds(20000)), 0) << text.describe();
    std::string out = text.text(Stream::kStdout);
    EXPECT_NE(out.find("on RLock 0x"), std::string::npos) << out;
    EXPECT_NE(out.find(held_by), std::string::npos) << out;
  }
  // A threading.Lock records no owner: nothing is named.
  Process app = Process::spawn({pythons_to_test().front(), fixture_source("hung_app.py"), "lock"});
  ASSERT_TRUE(app.wait_for_line(Stream::kStdout, "stuck", milliseconds(20000))) << app.describe();
  std::this_thread::sleep_for(milliseconds(300));
  Process dump = start_loopprof({"dump", "-p", std::to_string(app.pid()), "--json"});
  ASSERT_EQ(dump.wait_exit(milliseconds(20000)), 0) << dump.describe();
  nlohmann::json d = nlohmann::json::parse(dump.text(Stream::kStdout));
  const nlohmann::json* loop = thread_named(d, "MainThread");
  ASSERT_TRUE(loop) << d.dump();
  EXPECT_EQ((*loop)["lock_kind"], "Python lock (no owner recorded)") << loop->dump();
  EXPECT_TRUE((*loop)["lock_holder"].is_null()) << loop->dump();
}

// Two threads each holding the RLock the other waits for: dump finds the
// cycle from the RLocks' owners (a cycle of pthread mutexes: DeadlockedPair).
TEST(Dump, DeadlockOfTwoRLocks) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  for (const auto& python : pythons_to_test()) {
    SCOPED_TRACE(python);
    Process app = Process::spawn({python, fixture_source("hung_app.py"), "rlock-deadlock"});
    auto loop_line = app.wait_for_line(Stream::kStdout, "loop main", milliseconds(20000));
    auto holder_line =
        app.wait_for_line(Stream::kStdout, "thread rlock-holder", milliseconds(20000));
    ASSERT_TRUE(loop_line && holder_line) << app.describe();
    ASSERT_TRUE(app.wait_for_line(Stream::kStdout, "stuck", milliseconds(20000))) << app.describe();
    std::this_thread::sleep_for(milliseconds(300));
    nlohmann::json d;
    ASSERT_NO_FATAL_FAILURE(dump_json(app.pid(), d));
    expect_one_deadlock_of(d, {number_after(loop_line->text, "loop main"),
                               number_after(holder_line->text, "thread rlock-holder")});
    if (d["deadlocks"].empty()) continue;
    EXPECT_NE(d["deadlocks"][0]["text"].get<std::string>().find("rlock-holder (tid "),
              std::string::npos)
        << d.dump();
  }
}

// A loop that blocks on a lock while loopprof watches (not before attach):
// the ongoing stall names the lock's holder, and a deadlock, from a look at
// the live threads once the lock wait has lasted the threshold; the report at
// exit says the same. Without that look, neither is known until the lock is
// released, and a deadlocked loop's never is.
TEST(BusyAfterAttach, LockWaitNamesItsHolderAndDeadlock) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  for (const auto& python : pythons_to_test())
    for (const std::string mode : {"rlock", "rlock-deadlock"}) {
      SCOPED_TRACE(python + " " + mode);
      Process app = Process::spawn(
          {.argv = {python, fixture_source("hung_app.py"), mode, "--wait-go"}, .pipe_stdin = true});
      auto loop_line = app.wait_for_line(Stream::kStdout, "loop main", milliseconds(20000));
      auto holder_line =
          app.wait_for_line(Stream::kStdout, "thread rlock-holder", milliseconds(20000));
      ASSERT_TRUE(loop_line && holder_line) << app.describe();
      ASSERT_TRUE(app.wait_for_line(Stream::kStdout, "waiting for go", milliseconds(20000)))
          << app.describe();
      pid_t loop_tid = number_after(loop_line->text, "loop main");
      const std::string holder = fmt::format(
          "rlock-holder (tid {})", number_after(holder_line->text, "thread rlock-holder"));

      TempDir dir;
      Process loopprof = run_loopprof(app.pid(), {"-t", std::to_string(kThresholdMs), "-d", "3",
                                                  "--events", dir.file("events.jsonl")});
      app.write_stdin("go\n");
      ASSERT_TRUE(app.wait_for_line(Stream::kStdout, "stuck", milliseconds(5000)))
          << app.describe();
      ASSERT_EQ(loopprof.wait_exit(milliseconds(20000)), 0) << loopprof.describe();
      const std::string out = loopprof.text(Stream::kStdout);
      std::vector<nlohmann::json> stalls;
      for (const auto& event : read_jsonl(dir.file("events.jsonl")))
        if (event.value("event", "") == "stall" && event.value("tid", 0) == loop_tid)
          stalls.push_back(event);
      ASSERT_FALSE(stalls.empty()) << loopprof.describe();
      bool ongoing_named = false;
      for (const auto& stall : stalls) {
        EXPECT_FALSE(stall.value("began_before_attach", false)) << stall.dump();
        if (stall.value("ongoing", false) &&
            stall.value("waited_on", "").find("held by " + holder) != std::string::npos)
          ongoing_named = true;
      }
      EXPECT_TRUE(ongoing_named) << "no ongoing stall names " << holder << "\n"
                                 << loopprof.describe();
      const nlohmann::json& last = stalls.back();
      EXPECT_TRUE(last.value("at_exit", false)) << last.dump();
      EXPECT_EQ(last["cause"], "lock") << last.dump();
      EXPECT_NE(last.value("waited_on", "").find("held by " + holder), std::string::npos)
          << last.dump();
      EXPECT_NE(out.find("held by " + holder), std::string::npos) << out;
      if (mode == "rlock-deadlock") {
        EXPECT_NE(last.value("deadlock", "").find(holder), std::string::npos) << last.dump();
        EXPECT_NE(out.find("DEADLOCK"), std::string::npos) << out;
      } else {
        EXPECT_EQ(last.value("deadlock", ""), "") << last.dump();
      }
    }
}

}  // namespace
}  // namespace loopprof::test
