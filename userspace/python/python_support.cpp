#include "python/python_support.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "python/asyncio_handle.hpp"
#include "python/thread_states.hpp"
#include "python/threading_names.hpp"

namespace loopprof::python {

namespace {
constexpr auto kMinRefreshInterval = std::chrono::milliseconds(100);
// A program that has not imported asyncio yet is looked at again this often.
constexpr auto kHandleRunRetry = std::chrono::seconds(2);

Result<int> map_fd(bpf_object* obj, const char* name) {
  bpf_map* map = obj ? bpf_object__find_map_by_name(obj, name) : nullptr;
  int fd = map ? bpf_map__fd(map) : -1;
  if (fd < 0)
    return Error::failed(fmt::format("find BPF map {}", name),
                         "not in the object, or the object is not loaded",
                         "call PythonSupport::attach after the skeleton's load");
  return fd;
}
}  // namespace

PythonSupport::PythonSupport(pid_t pid, InterpreterImage image, InterpreterLayout layout,
                             int config_fd, int threads_fd, LibraryPaths libraries)
    : pid_(pid),
      image_(std::move(image)),
      layout_(layout),
      config_fd_(config_fd),
      threads_fd_(threads_fd),
      memory_(pid),
      code_(memory_, layout_, image_.code_type),
      libraries_(std::move(libraries)),
      tasks_(memory_, layout_, code_) {}

Status PythonSupport::write_config() {
  uint32_t key = static_cast<uint32_t>(pid_);
  if (bpf_map_update_elem(config_fd_, &key, &layout_.walker, BPF_ANY) != 0)
    return Error::failed("configure the Python frame walker", std::strerror(errno),
                         "more Python processes than lp_py_config holds");
  return ok_status();
}

void PythonSupport::learn_handle_run(uint64_t code, const CodeInfo& info) {
  if (layout_.walker.handle_run_code != 0 || layout_.walker.frame_self == kNoOffset) return;
  const std::string& f = info.filename;
  const std::string suffix = "asyncio/events.py";
  if (info.name != "_run" && info.name != "Handle._run") return;
  if (f.size() < suffix.size() || f.compare(f.size() - suffix.size(), suffix.size(), suffix) != 0)
    return;
  layout_.walker.handle_run_code = code;
  (void)write_config();
}

void PythonSupport::find_handle_run() {
  if (knows_handle_run() || layout_.walker.frame_self == kNoOffset || layout_.version.minor >= 14)
    return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_handle_run_try_ < kHandleRunRetry) return;
  last_handle_run_try_ = now;
  auto code = find_handle_run_code(memory_, layout_, image_.runtime);
  if (!code) return;
  // Named and placed by its code object, as if a capture had shown it.
  if (const CodeInfo* info = code_.get(*code)) learn_handle_run(*code, *info);
}

void PythonSupport::find_asyncio_table() {
  if (layout_.version.minor < 14 || layout_.asyncio.available()) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_asyncio_try_ < std::chrono::seconds(1)) return;
  last_asyncio_try_ = now;
  auto raw = find_asyncio_debug(pid_);
  if (raw.empty() || !parse_asyncio_debug(raw, layout_)) return;
  tasks_.set_layout(layout_);
  (void)write_config();
}

Result<std::unique_ptr<PythonSupport>> PythonSupport::attach(pid_t pid, bpf_object* obj) {
  auto found = find_interpreter(pid);
  if (!found) return found.error();
  if (!found.value()) return std::unique_ptr<PythonSupport>();
  const InterpreterImage& image = *found.value();

  ProcessMemory memory(pid);
  auto layout = interpreter_layout(memory, image);
  if (!layout) return layout.error();

  auto config_fd = map_fd(obj, "lp_py_config");
  if (!config_fd) return config_fd.error();
  auto threads_fd = map_fd(obj, "lp_py_threads");
  if (!threads_fd) return threads_fd.error();

  std::error_code ec;
  std::string exe = std::filesystem::read_symlink(fmt::format("/proc/{}/exe", pid), ec).string();
  LibraryPaths libraries({image.path, exe}, layout.value().version);
  std::unique_ptr<PythonSupport> support(new PythonSupport(
      pid, image, layout.value(), config_fd.value(), threads_fd.value(), std::move(libraries)));
  auto status = support->refresh_threads();
  if (!status) return status.error();
  support->find_asyncio_table();
  status = support->write_config();
  if (!status) return status.error();
  return support;
}

PythonSupport::~PythonSupport() {
  uint32_t key = static_cast<uint32_t>(pid_);
  bpf_map_delete_elem(config_fd_, &key);
  for (const lp_py_thread_key& k : thread_keys()) bpf_map_delete_elem(threads_fd_, &k);
}

std::vector<lp_py_thread_key> PythonSupport::thread_keys() const {
  std::vector<lp_py_thread_key> out;
  lp_py_thread_key key{}, next{};
  lp_py_thread_key* prev = nullptr;
  while (bpf_map_get_next_key(threads_fd_, prev, &next) == 0) {
    if (next.tgid == static_cast<uint32_t>(pid_)) out.push_back(next);
    key = next;
    prev = &key;
  }
  return out;
}

std::string PythonSupport::description() const {
  return fmt::format("CPython {} ({})", layout_.version.str(), image_.path);
}

std::string PythonSupport::runtime_label() const {
  return fmt::format("cpython-{}.{}", layout_.version.major, layout_.version.minor);
}

std::unordered_map<pid_t, std::string> PythonSupport::thread_names() const {
  return threading_names(memory_, layout_, image_.runtime);
}

std::optional<RLockWait> PythonSupport::rlock_waited_on(uint64_t thread_id, uint64_t futex) const {
  auto threads = list_thread_states(memory_, layout_, image_.runtime);
  if (!threads || thread_id == 0) return std::nullopt;
  for (const ThreadStateRef& t : threads.value())
    if (t.thread_id == thread_id) return python::rlock_waited_on(memory_, layout_, t.tstate, futex);
  return std::nullopt;
}

Status PythonSupport::refresh_threads() {
  last_refresh_ = std::chrono::steady_clock::now();
  stats_.thread_refreshes++;
  auto threads = list_thread_states(memory_, layout_, image_.runtime);
  if (!threads) return threads.error();

  std::set<uint64_t> live;
  for (const ThreadStateRef& t : threads.value()) {
    live.insert(t.thread_id);
    lp_py_thread_key key{.tgid = static_cast<uint32_t>(pid_), .pad = 0, .thread_id = t.thread_id};
    if (bpf_map_update_elem(threads_fd_, &key, &t.tstate, BPF_ANY) != 0)
      return Error::failed("update the Python thread map", std::strerror(errno),
                           "the targets have more threads than lp_py_threads holds");
  }
  // Drop threads that are gone (their PyThreadState may be reused memory).
  for (const lp_py_thread_key& k : thread_keys())
    if (!live.count(k.thread_id)) bpf_map_delete_elem(threads_fd_, &k);
  find_handle_run();
  return ok_status();
}

PythonStack PythonSupport::resolve(const lp_py_stack& py) {
  PythonStack out;
  if (py.flags & LP_PY_NO_THREAD) {
    stats_.unknown_threads++;
    if (std::chrono::steady_clock::now() - last_refresh_ >= kMinRefreshInterval)
      (void)refresh_threads();  // the next capture of that thread will have frames
  }
  if (py.flags & LP_PY_READ_FAULT) stats_.read_faults++;
  if (py.flags & LP_PY_TRUNCATED) stats_.truncated++;
  if (py.flags & LP_PY_NO_BASE) stats_.incomplete++;
  find_asyncio_table();
  const uint32_t depth = std::min<uint32_t>(py.depth, LP_PY_MAX_DEPTH);
  if (depth == 0) return out;
  stats_.captures++;

  // Root first. A frame starts a new run when the walker marked it as an
  // eval call's entry, or (3.12+) when the frame rootward of it is a shim.
  bool start_run = true;
  for (int i = static_cast<int>(depth) - 1; i >= 0; i--) {
    const lp_py_frame& f = py.frames[i];
    if (f.code == 0) {  // C-stack shim: the next frame leafward starts a run
      start_run = true;
      continue;
    }
    const CodeInfo* info = code_.get(f.code);
    if (!info) {
      stats_.unreadable_frames++;
      continue;
    }
    learn_handle_run(f.code, *info);
    if (start_run || (py.entry_mask >> i) & 1 || out.runs.empty()) out.runs.emplace_back();
    start_run = false;
    stats_.frames++;
    Frame frame;
    frame.kind = FrameKind::python;
    frame.name = info->name;
    frame.file = info->filename;
    frame.line = static_cast<uint32_t>(std::max(0, code_.line_of(*info, f.code, f.instr)));
    frame.address = f.code;
    frame.module = libraries_.library_module(info->filename);
    out.runs.back().push_back(std::move(frame));
  }
  // A 3.15 chain that does not end at the thread's base frame is missing its
  // root side: say so like a depth cut.
  out.truncated = (py.flags & (LP_PY_TRUNCATED | LP_PY_NO_BASE)) != 0;
  return out;
}

std::optional<Frames> PythonSupport::step_frames(const lp_py_stack& py) {
  const uint64_t handle_run = layout_.walker.handle_run_code;
  if (handle_run == 0 || (py.flags & LP_PY_NO_THREAD)) return std::nullopt;
  find_asyncio_table();
  const int depth = static_cast<int>(std::min<uint32_t>(py.depth, LP_PY_MAX_DEPTH));
  int at = 0;  // leaf first: the first Handle._run is the leafmost
  while (at < depth && py.frames[at].code != handle_run) at++;
  if (at == depth) return Frames{};
  Frames out;
  for (int i = at; i >= 0; i--) {
    const lp_py_frame& f = py.frames[i];
    if (f.code == 0) continue;  // a C-stack shim
    const CodeInfo* info = code_.get(f.code);
    if (!info) {
      if (i == at) return std::nullopt;
      continue;  // resolve() drops unreadable frames too
    }
    Frame frame;
    frame.kind = FrameKind::python;
    frame.name = info->name;
    frame.file = info->filename;
    frame.address = f.code;
    out.push_back(std::move(frame));
    if (out.size() == 2) break;
  }
  return out;
}

namespace {
// The coroutine (or callback) function run under asyncio's Handle._run.
std::string function_under_handle_run(const Frames& frames) {
  size_t after = frames.size();
  for (size_t i = 0; i < frames.size(); ++i) {
    const Frame& f = frames[i];
    if (f.kind == FrameKind::python && (f.name == "_run" || f.name == "Handle._run") &&
        f.file.size() >= 9 && f.file.compare(f.file.size() - 9, 9, "events.py") == 0)
      after = i + 1;
  }
  for (size_t i = after; i < frames.size(); ++i)
    if (frames[i].kind == FrameKind::python) return frames[i].name;
  return {};
}
}  // namespace

std::optional<TaskInfo> PythonSupport::task(const lp_py_stack& py, const Frames& frames) {
  if (!py.task.task && !py.task.callback) return std::nullopt;
  auto info = tasks_.resolve(py.task);
  if (!info) return std::nullopt;
  if (info->coroutine.empty()) info->coroutine = function_under_handle_run(frames);
  stats_.tasks++;
  return info;
}

Frames PythonSupport::merge(const Frames& native_root_first, const lp_py_stack& py) {
  return merge_python_frames(native_root_first, resolve(py), image_.path);
}

}  // namespace loopprof::python
