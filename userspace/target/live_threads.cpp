#include "target/live_threads.hpp"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>

#include "collector/cause_tracker.hpp"
#include "target/lock_graph.hpp"
#include "target/syscall_names.hpp"

namespace loopprof {

namespace {

constexpr long kFutex = 202, kFutexWait = 455;
constexpr long kPoll = 7, kPpoll = 271, kSelect = 23, kPselect6 = 270;
constexpr long kEpollWait = 232, kEpollPwait = 281, kEpollPwait2 = 441;
constexpr const char* kPythonLock = "Python lock (no owner recorded)";

bool contains(const std::string& s, const char* part) {
  return s.find(part) != std::string::npos;
}

bool has_native(const Frames& frames, std::initializer_list<const char*> names) {
  for (const Frame& f : frames)
    if (f.kind == FrameKind::native)
      for (const char* name : names)
        if (f.name == name) return true;
  return false;
}

bool has_native_containing(const Frames& frames, const char* part) {
  for (const Frame& f : frames)
    if (f.kind == FrameKind::native && contains(f.name, part)) return true;
  return false;
}

template <typename T>
bool read_target(pid_t pid, uint64_t address, T& out) {
  iovec local{&out, sizeof(out)};
  iovec remote{reinterpret_cast<void*>(address), sizeof(out)};
  return process_vm_readv(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(sizeof(out));
}

// The kernel does not walk another task's user stack; walk the frame-pointer
// chain inside the copied stack bytes instead (JIT code keeps frame
// pointers where DWARF has nothing to say). StackResolver picks the better.
void frame_pointer_walk(lp_capture_record& cap) {
  const lp_user_snapshot& snap = cap.snap;
  cap.ustack_bytes = 0;
  if (!(snap.flags & LP_SNAP_REGS) || snap.stack_bytes == 0) return;
  const uint64_t low = snap.regs.sp, high = snap.regs.sp + snap.stack_bytes;
  size_t n = 0;
  cap.ustack[n++] = snap.regs.ip;
  uint64_t bp = snap.regs.bp;
  while (n < LP_MAX_STACK_DEPTH && bp >= low && bp + 16 <= high && bp % 8 == 0) {
    uint64_t next = 0, ret = 0;
    std::memcpy(&next, snap.stack + (bp - low), 8);
    std::memcpy(&ret, snap.stack + (bp - low) + 8, 8);
    if (ret == 0) break;
    cap.ustack[n++] = ret;
    if (next <= bp) break;
    bp = next;
  }
  cap.ustack_bytes = static_cast<__s32>(n * sizeof(uint64_t));
}

uint32_t wait_family_of(long nr) {
  switch (nr) {
    case kEpollWait:
    case kEpollPwait:
    case kEpollPwait2:
      return LP_WAIT_EPOLL;
    case kPoll:
    case kPpoll:
      return LP_WAIT_POLL;
    case kSelect:
    case kPselect6:
      return LP_WAIT_SELECT;
  }
  return LP_WAIT_NONE;
}

const Frame* python_leaf(const Frames& frames) {
  for (auto it = frames.rbegin(); it != frames.rend(); ++it)
    if (it->kind == FrameKind::python) return &*it;
  return nullptr;
}

size_t count_epoll_fds(pid_t pid) {
  size_t n = 0;
  std::string dir_path = fmt::format("/proc/{}/fd", pid);
  DIR* dir = opendir(dir_path.c_str());
  if (!dir) return 0;
  while (dirent* entry = readdir(dir)) {
    char target[64];
    std::string link = dir_path + "/" + entry->d_name;
    ssize_t len = readlink(link.c_str(), target, sizeof(target) - 1);
    if (len > 0 && std::string(target, static_cast<size_t>(len)) == "anon_inode:[eventpoll]") ++n;
  }
  closedir(dir);
  return n;
}

}  // namespace

std::string loop_runtime_of(const Frames& frames) {
  for (const Frame& f : frames) {
    if (f.kind == FrameKind::python && contains(f.file, "asyncio") &&
        (contains(f.name, "run_forever") || contains(f.name, "_run_once")))
      return "asyncio";
  }
  for (const Frame& f : frames) {
    if (f.kind != FrameKind::native) continue;
    if (contains(f.module, "uvloop") && (f.name == "uv_run" || contains(f.name, "run_forever")))
      return "uvloop";
  }
  for (const Frame& f : frames) {
    if (f.kind != FrameKind::native || f.name != "uv_run") continue;
    std::string base = f.module.substr(f.module.rfind('/') + 1);
    return base == "node" || base.rfind("libnode", 0) == 0 ? "Node.js" : "libuv";
  }
  if (has_native(frames, {"g_main_loop_run", "g_main_context_iteration"})) return "GLib";
  if (has_native(frames, {"event_base_loop", "event_base_dispatch"})) return "libevent";
  if (has_native(frames, {"aeMain", "aeProcessEvents"})) return "ae";
  return "";
}

const LiveThread* LiveProcess::find(pid_t tid) const {
  for (const LiveThread& t : threads)
    if (t.tid == tid) return &t;
  return nullptr;
}

std::string LiveProcess::describe(pid_t tid) const {
  const LiveThread* t = find(tid);
  return t ? fmt::format("{} (tid {})", t->name, tid) : fmt::format("tid {}", tid);
}

std::string LiveProcess::deadlock_of(pid_t tid) const {
  for (const auto& cycle : deadlocks) {
    auto at = std::find(cycle.begin(), cycle.end(), tid);
    if (at == cycle.end()) continue;
    std::vector<pid_t> order(at, cycle.end());
    order.insert(order.end(), cycle.begin(), at);
    std::string text =
        describe(order[0]) + " waits on " + describe(order.size() > 1 ? order[1] : order[0]);
    for (size_t i = 1; i < order.size(); ++i)
      text += ", which waits on " + describe(order[(i + 1) % order.size()]);
    return text;
  }
  return "";
}

std::string LiveThread::waiting_on(const std::vector<LiveThread>& all) const {
  if (state != "blocked") return "";
  std::string what = syscall_nr >= 0 ? syscall : "(no syscall: page fault or kernel wait)";
  if (!fd_name.empty()) return fmt::format("{} on {}", what, fd_name);
  if (fd >= 0) return fmt::format("{} on fd {}", what, fd);
  if (futex) {
    std::string text =
        fmt::format("{} on {} 0x{:x}", what, lock_kind.empty() ? "futex" : lock_kind, futex);
    if (lock_holder) {
      std::string holder = fmt::format("tid {}", lock_holder);
      for (const LiveThread& t : all)
        if (t.tid == lock_holder) holder = fmt::format("{} (tid {})", t.name, t.tid);
      text += " held by " + holder;
    }
    return text;
  }
  return what;
}

Result<std::unique_ptr<ThreadInspector>> ThreadInspector::start(pid_t pid) {
  std::unique_ptr<ThreadInspector> inspector(new ThreadInspector(pid));
  auto session = TaskSnapshotSession::open(pid);
  if (!session) return session.error();
  inspector->session_ = std::move(session).value();
  auto python = python::PythonSupport::attach(pid, inspector->session_->object());
  if (python) inspector->python_ = std::move(python).value();  // else: native frames only
  return inspector;
}

Result<std::unique_ptr<ThreadInspector>> ThreadInspector::open(pid_t pid) {
  auto started = start(pid);
  if (!started) return started.error();
  std::unique_ptr<ThreadInspector> inspector = std::move(started).value();
  auto kernel = KernelSymbolizer::open("/proc/kallsyms");
  inspector->kernel_ = kernel ? std::move(kernel).value() : KernelSymbolizer::create();
  inspector->process_ = ProcessSymbolizer::create(pid);
  auto unwinder = DwarfUnwinder::create(pid);
  if (unwinder) inspector->unwinder_ = std::move(unwinder).value();
  inspector->resolver_ =
      std::make_unique<StackResolver>(*inspector->kernel_, *inspector->process_,
                                      inspector->unwinder_.get(), inspector->python_.get());
  return inspector;
}

Result<std::unique_ptr<ThreadInspector>> ThreadInspector::open(pid_t pid, KernelSymbolizer& kernel,
                                                               ProcessSymbolizer& process,
                                                               DwarfUnwinder* unwinder) {
  auto started = start(pid);
  if (!started) return started.error();
  std::unique_ptr<ThreadInspector> inspector = std::move(started).value();
  inspector->resolver_ =
      std::make_unique<StackResolver>(kernel, process, unwinder, inspector->python_.get());
  return inspector;
}

LiveThread ThreadInspector::describe(lp_task_snapshot& s) {
  LiveThread t;
  t.tid = static_cast<pid_t>(s.tid);
  t.thread_pointer = s.fsbase;
  t.comm = std::string(s.comm, strnlen(s.comm, sizeof(s.comm)));
  t.name = t.comm;
  frame_pointer_walk(s.cap);
  t.capture = s.cap;
  t.frames = resolver_->resolve(s.cap);
  t.python = std::any_of(t.frames.begin(), t.frames.end(),
                         [](const Frame& f) { return f.kind == FrameKind::python; });
  if (t.python) t.task = resolver_->task(s.cap, t.frames);
  if (s.on_cpu)
    t.state = "running";
  else if (s.state == 0)
    t.state = "runnable";
  else if (s.state & (1 | 2))
    t.state = "blocked";
  else if (s.state & 8)
    t.state = "traced";
  else if (s.state & 4)
    t.state = "stopped";
  else
    t.state = "blocked";
  if (!s.on_cpu) t.in_state_ns = s.off_cpu_ns;
  std::copy(std::begin(s.args), std::end(s.args), std::begin(t.args));
  t.loop = loop_runtime_of(t.frames);
  if (t.state != "blocked") return t;

  t.syscall_nr = s.syscall_nr;
  if (t.syscall_nr >= 0) t.syscall = syscall_name(t.syscall_nr);
  t.off_reason = lp_classify_off(s.state, t.syscall_nr, s.args[0], s.args[1]);
  if (syscall_takes_fd(t.syscall_nr)) {
    t.fd = static_cast<int>(s.args[0]);
  } else if ((t.syscall_nr == kPoll || t.syscall_nr == kPpoll) && s.args[1] == 1) {
    int32_t fd = -1;
    if (read_target(pid_, s.args[0], fd)) t.fd = fd;
  }
  if (t.fd >= 0) t.fd_name = fds_.describe(t.fd);

  t.wait_family = wait_family_of(t.syscall_nr);
  bool sleeping_poll = t.off_reason == LP_OFF_SLEEP;  // select/poll with no descriptors
  if (t.wait_family == LP_WAIT_EPOLL) {
    t.in_loop_wait = true;
  } else if (t.wait_family != LP_WAIT_NONE && !sleeping_poll) {
    const Frame* leaf = python_leaf(t.frames);
    t.in_loop_wait = !leaf || contains(leaf->file, "selectors");
  }

  if (t.syscall_nr == kFutex || t.syscall_nr == kFutexWait) {
    t.futex = s.args[0];
    long op = t.syscall_nr == kFutex ? static_cast<long>(s.args[1] & 0x7f) : 0;
    uint32_t word = 0;
    if (op == 6 || op == 11 || op == 13) {  // LOCK_PI, WAIT_REQUEUE_PI, LOCK_PI2
      t.lock_kind = "PI mutex";
      if (read_target(pid_, t.futex, word)) t.lock_holder = static_cast<pid_t>(word & 0x3fffffff);
    } else if (is_gil_wait(t.frames)) {
      t.lock_kind = "GIL";
    } else if (has_native_containing(t.frames, "pthread_mutex_lock") ||
               has_native(t.frames, {"__lll_lock_wait", "__lll_lock_wait_private"})) {
      // glibc's pthread_mutex_t: int __lock; unsigned __count; int __owner
      int32_t owner = 0;
      t.lock_kind = "pthread mutex";
      if (read_target(pid_, t.futex + 8, owner) && owner > 0) t.lock_holder = owner;
    } else if (has_native_containing(t.frames, "PyThread_acquire_lock") ||
               has_native_containing(t.frames, "PyMutex") ||
               has_native_containing(t.frames, "sem_")) {
      t.lock_kind = kPythonLock;  // an RLock's owner: find_rlock_owners
    } else if (has_native_containing(t.frames, "pthread_cond_")) {
      t.lock_kind = "condition variable";
    }
  }
  return t;
}

void ThreadInspector::find_rlock_owners(std::vector<LiveThread>& threads) const {
  if (!python_) return;
  for (LiveThread& t : threads) {
    if (t.lock_kind != kPythonLock || !t.futex || !t.thread_pointer) continue;
    auto wait = python_->rlock_waited_on(t.thread_pointer, t.futex);
    if (!wait) continue;  // a threading.Lock (no owner recorded), or not readable
    t.lock_kind = "RLock";
    for (const LiveThread& owner : threads)  // the owner's ident is its FS base
      if (owner.thread_pointer == wait->owner && owner.tid != t.tid) t.lock_holder = owner.tid;
  }
}

Result<LiveProcess> ThreadInspector::inspect() {
  auto started = std::chrono::steady_clock::now();
  auto snapshots = session_->take();
  if (!snapshots) return snapshots.error();
  LiveProcess process{.pid = pid_};
  process.snapshot_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (python_) (void)python_->refresh_threads();
  fds_.refresh();
  bool knew_handle_run = python_ && python_->knows_handle_run();
  for (lp_task_snapshot& s : snapshots.value()) process.threads.push_back(describe(s));
  if (python_ && !knew_handle_run && python_->knows_handle_run()) {
    // This pass showed the walker asyncio's Handle._run: a second one
    // captures the handles that name each loop's running Task.
    if (auto again = session_->take(); again) {
      process.threads.clear();
      for (lp_task_snapshot& s : again.value()) process.threads.push_back(describe(s));
    }
  }
  if (python_) {
    auto names = python_->thread_names();
    for (LiveThread& t : process.threads)
      if (auto it = names.find(t.tid); it != names.end()) t.name = it->second;
  }

  find_rlock_owners(process.threads);

  std::set<pid_t> tids;
  for (const LiveThread& t : process.threads) tids.insert(t.tid);
  std::map<pid_t, pid_t> waits_on;
  for (LiveThread& t : process.threads) {
    if (t.lock_holder && (!tids.count(t.lock_holder) || t.lock_holder == t.tid))
      t.lock_holder = 0;  // not a thread of this process: a stale or foreign word
    if (t.lock_holder) waits_on[t.tid] = t.lock_holder;
  }
  process.deadlocks = find_deadlocks(waits_on);

  // The GIL holder, inferred: the only Python thread on a CPU (or runnable)
  // that is not itself waiting for the GIL.
  std::vector<pid_t> holders;
  for (const LiveThread& t : process.threads)
    if (t.python && t.state != "blocked" && !is_gil_wait(t.frames)) holders.push_back(t.tid);
  if (holders.size() == 1) process.gil_holder = holders.front();
  for (LiveThread& t : process.threads)
    if (t.lock_kind == "GIL" && process.gil_holder) t.lock_holder = process.gil_holder;

  // A native loop no frame names: an epoll descriptor that no thread waits
  // on, and one native thread outside any poll wait to own it.
  size_t epoll_fds = count_epoll_fds(pid_);
  std::set<uint64_t> waited;
  size_t busy_loops = 0;
  std::vector<LiveThread*> candidates;
  for (LiveThread& t : process.threads) {
    if (t.wait_family == LP_WAIT_EPOLL) waited.insert(t.args[0]);
    if (!t.loop.empty() && !t.in_loop_wait) ++busy_loops;
    if (t.loop.empty() && t.wait_family == LP_WAIT_NONE && !t.python) candidates.push_back(&t);
  }
  // With several, the main thread is taken (where most programs run their loop).
  if (epoll_fds > waited.size() + busy_loops && !candidates.empty()) {
    if (candidates.size() == 1) candidates[0]->loop = "epoll";
    for (LiveThread* t : candidates)
      if (candidates.size() > 1 && t->tid == pid_) t->loop = "epoll";
  }
  for (LiveThread& t : process.threads)  // Node runs its loop on the main thread
    if (t.loop.empty() && t.tid == pid_ && t.name == "node") t.loop = "Node.js";
  return process;
}

}  // namespace loopprof
