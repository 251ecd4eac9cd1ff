#include "python/python_support.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "python/thread_states.hpp"
#include "python/threading_names.hpp"

namespace loopprof::python {

namespace {
constexpr auto kMinRefreshInterval = std::chrono::milliseconds(100);

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
                             int /*config_fd*/, int threads_fd)
    : pid_(pid),
      image_(std::move(image)),
      layout_(layout),
      threads_fd_(threads_fd),
      memory_(pid),
      code_(memory_, layout_, image_.code_type) {}

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

  std::unique_ptr<PythonSupport> support(
      new PythonSupport(pid, image, layout.value(), config_fd.value(), threads_fd.value()));
  auto status = support->refresh_threads();
  if (!status) return status.error();

  uint32_t zero = 0;
  if (bpf_map_update_elem(config_fd.value(), &zero, &support->layout_.walker, BPF_ANY) != 0)
    return Error::failed("configure the Python frame walker", std::strerror(errno));
  return support;
}

Status PythonSupport::detach(bpf_object* obj) {
  auto config_fd = map_fd(obj, "lp_py_config");
  if (!config_fd) return config_fd.error();
  auto threads_fd = map_fd(obj, "lp_py_threads");
  if (!threads_fd) return threads_fd.error();
  lp_py_config off{};
  off.layout = LP_PY_LAYOUT_NONE;
  uint32_t zero = 0;
  if (bpf_map_update_elem(config_fd.value(), &zero, &off, BPF_ANY) != 0)
    return Error::failed("turn off the Python frame walker", std::strerror(errno));
  uint64_t key = 0;
  while (bpf_map_get_next_key(threads_fd.value(), nullptr, &key) == 0)
    if (bpf_map_delete_elem(threads_fd.value(), &key) != 0) break;
  return ok_status();
}

std::string PythonSupport::description() const {
  return fmt::format("CPython {} ({})", layout_.version.str(), image_.path);
}

std::unordered_map<pid_t, std::string> PythonSupport::thread_names() const {
  return threading_names(memory_, layout_, image_.runtime);
}

Status PythonSupport::refresh_threads() {
  last_refresh_ = std::chrono::steady_clock::now();
  stats_.thread_refreshes++;
  auto threads = list_thread_states(memory_, layout_, image_.runtime);
  if (!threads) return threads.error();

  std::set<uint64_t> live;
  for (const ThreadStateRef& t : threads.value()) {
    live.insert(t.thread_id);
    if (bpf_map_update_elem(threads_fd_, &t.thread_id, &t.tstate, BPF_ANY) != 0)
      return Error::failed("update the Python thread map", std::strerror(errno),
                           "the target has more threads than lp_py_threads holds");
  }
  // Drop threads that are gone (their PyThreadState may be reused memory).
  std::vector<uint64_t> stale;
  uint64_t key = 0, next = 0;
  uint64_t* prev = nullptr;
  while (bpf_map_get_next_key(threads_fd_, prev, &next) == 0) {
    if (!live.count(next)) stale.push_back(next);
    key = next;
    prev = &key;
  }
  for (uint64_t k : stale) bpf_map_delete_elem(threads_fd_, &k);
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
    if (start_run || (py.entry_mask >> i) & 1 || out.runs.empty()) out.runs.emplace_back();
    start_run = false;
    stats_.frames++;
    Frame frame;
    frame.kind = FrameKind::python;
    frame.name = info->name;
    frame.file = info->filename;
    frame.line = static_cast<uint32_t>(std::max(0, code_.line_of(*info, f.code, f.instr)));
    frame.address = f.code;
    out.runs.back().push_back(std::move(frame));
  }
  out.truncated = (py.flags & LP_PY_TRUNCATED) != 0;
  return out;
}

Frames PythonSupport::merge(const Frames& native_root_first, const lp_py_stack& py) {
  return merge_python_frames(native_root_first, resolve(py), image_.path);
}

}  // namespace loopprof::python
