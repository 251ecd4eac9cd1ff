#include "bpf/bpf_session.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "loopprof.skel.h"

namespace loopprof {

namespace {

std::string errno_text(int err) {
  return std::strerror(err < 0 ? -err : err);
}

// Privileges were checked before loading (check_privileges), so EACCES here is
// the verifier refusing a program, not a permission problem.
std::string load_hint(int err) {
  if (err == -EPERM) return "run as root, or grant CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE";
  if (err == -EACCES)
    return "the kernel's verifier rejected a program: run with -v to see its log, and report it";
  return "run with -v to see libbpf's log";
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Every entry of a hash map keyed by tid: in batches of 256 (a few syscalls
// for the whole map; the agent reads it every tick), else one by one.
template <typename Value>
std::vector<std::pair<pid_t, Value>> read_tid_map(int fd) {
  std::vector<std::pair<pid_t, Value>> out;
  constexpr __u32 kBatch = 256;
  std::vector<__u32> keys(kBatch);
  std::vector<Value> values(kBatch);
  __u32 in_batch = 0, out_batch = 0;
  bool first = true;
  for (;;) {
    __u32 count = kBatch;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int err = bpf_map_lookup_batch(fd, first ? nullptr : &in_batch, &out_batch, keys.data(),
                                   values.data(), &count, &opts);
    if (err && errno != ENOENT) {
      if (!first) return out;  // the map changed under us: what was read
      break;                   // batches not supported: one by one
    }
    for (__u32 i = 0; i < count; ++i) out.emplace_back(static_cast<pid_t>(keys[i]), values[i]);
    if (err) return out;  // ENOENT: that was the last batch
    in_batch = out_batch;
    first = false;
  }
  __u32 key = 0, next = 0;
  __u32* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    Value value{};
    if (bpf_map_lookup_elem(fd, &next, &value) == 0)
      out.emplace_back(static_cast<pid_t>(next), value);
    key = next;
    prev = &key;
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<BpfSession>> BpfSession::open(const SessionConfig& config,
                                                     const Features& features) {
  loopprof_bpf* skel = loopprof_bpf__open();
  if (!skel) return Error::failed("open BPF object", errno_text(errno));
  std::unique_ptr<BpfSession> session(new BpfSession(skel, config));

  skel->rodata->threshold_ns = config.threshold_ns;
  skel->rodata->discover = config.discover ? 1 : 0;
  skel->rodata->sample_min_busy_ns = config.sample_min_busy_ns;
  skel->rodata->announce_interval_ns = config.announce_interval_ns;
  bpf_map__set_max_entries(skel->maps.watched, config.max_processes);
  bpf_map__set_max_entries(skel->maps.lp_py_config, config.max_processes);
  bpf_map__set_max_entries(skel->maps.threads, config.max_threads);
  bpf_map__set_max_entries(skel->maps.task_stats, config.max_threads);
  bpf_map__set_max_entries(skel->maps.step_start, config.max_threads);
  bpf_map__set_max_entries(skel->maps.events, config.ringbuf_bytes);

  // One of each twin: per-syscall tracepoints or raw sys_enter/sys_exit,
  // tp_btf or raw_tp for the scheduler.
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel->obj) {
    std::string_view section = bpf_program__section_name(prog);
    bool load = true;
    if (starts_with(section, "tracepoint/syscalls/")) load = features.syscall_tracepoints;
    if (section == "raw_tp/sys_enter" || section == "raw_tp/sys_exit")
      load = !features.syscall_tracepoints;
    if (starts_with(section, "tp_btf/")) load = features.tp_btf;
    if (starts_with(section, "raw_tp/sched_")) load = !features.tp_btf;
    if (section == "perf_event") load = config.sample_hz > 0;
    if (section == "uprobe" || section == "uretprobe") load = !config.step_binary.empty();
    bpf_program__set_autoload(prog, load);
  }
  return session;
}

BpfSession::~BpfSession() {
  if (ring_) ring_buffer__free(ring_);
  for (auto it = links_.rbegin(); it != links_.rend(); ++it) bpf_link__destroy(*it);
  loopprof_bpf__destroy(skel_);
}

bpf_object* BpfSession::object() {
  return skel_->obj;
}

Status BpfSession::load() {
  int err = loopprof_bpf__load(skel_);
  if (err) return Error::failed("load BPF programs", errno_text(err), load_hint(err));
  return ok_status();
}

Status BpfSession::attach_programs() {
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj) {
    if (!bpf_program__autoload(prog)) continue;
    std::string_view section = bpf_program__section_name(prog);
    if (section == "perf_event" || section == "uprobe" || section == "uretprobe") continue;
    bpf_link* link = bpf_program__attach(prog);
    if (!link)
      return Error::failed(std::string("attach ") + bpf_program__section_name(prog),
                           errno_text(errno), load_hint(-errno));
    links_.push_back(link);
  }
  return ok_status();
}

Status BpfSession::attach_cpu_sampler() {
  if (config_.sample_hz == 0) return ok_status();
  int cpus = libbpf_num_possible_cpus();
  int attached = 0;
  for (int cpu = 0; cpu < cpus; ++cpu) {
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.freq = 1;
    attr.sample_freq = config_.sample_hz;
    int fd =
        static_cast<int>(syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) {
      if (errno == ENODEV) continue;  // offline CPU
      return Error::failed("open CPU sampler on CPU " + std::to_string(cpu), errno_text(errno),
                           "check kernel.perf_event_paranoid, or use -F 0 to disable sampling");
    }
    bpf_link* link = bpf_program__attach_perf_event(skel_->progs.on_cpu_sample, fd);
    if (!link) {
      int err = errno;
      close(fd);
      return Error::failed("attach CPU sampler on CPU " + std::to_string(cpu), errno_text(err));
    }
    links_.push_back(link);  // the link owns fd now
    ++attached;
  }
  if (attached == 0) return Error::failed("attach CPU sampler", "no online CPU");
  return ok_status();
}

Status BpfSession::attach_step_probes() {
  if (config_.step_binary.empty()) return ok_status();
  for (bool ret : {false, true}) {
    LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = ret, .func_name = config_.step_symbol.c_str());
    bpf_program* prog = ret ? skel_->progs.step_exit : skel_->progs.step_enter;
    bpf_link* link = bpf_program__attach_uprobe_opts(prog, config_.step_pid,
                                                     config_.step_binary.c_str(), 0, &opts);
    if (!link)
      return Error::failed(
          "attach uprobe to " + config_.step_symbol + " in " + config_.step_binary,
          errno_text(errno),
          "precise mode needs the interpreter's symbols (an unstripped libpython, e.g. pyenv's); "
          "without --precise the per-callback table is estimated from samples");
    links_.push_back(link);
  }
  return ok_status();
}

Status BpfSession::attach(RecordHandler handler) {
  handler_ = std::move(handler);
  ring_ = ring_buffer__new(
      bpf_map__fd(skel_->maps.events),
      [](void* ctx, void* data, size_t size) -> int {
        static_cast<BpfSession*>(ctx)->handler_(data, size);
        return 0;
      },
      this, nullptr);
  if (!ring_) return Error::failed("create ring buffer", errno_text(errno));
  if (auto status = attach_programs(); !status) return status;
  if (auto status = attach_step_probes(); !status) return status;
  return attach_cpu_sampler();
}

int BpfSession::ring_epoll_fd() const {
  return ring_ ? ring_buffer__epoll_fd(ring_) : -1;
}

Status BpfSession::consume() {
  if (!ring_) return ok_status();
  int n = ring_buffer__consume(ring_);
  if (n < 0) return Error::failed("read ring buffer", errno_text(n));
  return ok_status();
}

Status BpfSession::watch(pid_t pid) {
  __u32 key = static_cast<__u32>(pid), one = 1;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.watched), &key, &one, BPF_ANY) != 0)
    return Error::failed("watch PID " + std::to_string(pid), errno_text(errno),
                         errno == E2BIG ? "the watched set is full" : "");
  return ok_status();
}

void BpfSession::unwatch(pid_t pid) {
  __u32 key = static_cast<__u32>(pid);
  bpf_map_delete_elem(bpf_map__fd(skel_->maps.watched), &key);
  bpf_map_delete_elem(bpf_map__fd(skel_->maps.announced), &key);  // may be announced anew
  for (const auto& [tid, state] : threads())
    if (state.pid == key) {
      __u32 k = static_cast<__u32>(tid);
      bpf_map_delete_elem(bpf_map__fd(skel_->maps.threads), &k);
    }
  for (const auto& [tid, stats] : task_stats())
    if (stats.pid == key) {
      __u32 k = static_cast<__u32>(tid);
      bpf_map_delete_elem(bpf_map__fd(skel_->maps.task_stats), &k);
    }
}

std::vector<std::pair<pid_t, lp_thread>> BpfSession::threads() const {
  return read_tid_map<lp_thread>(bpf_map__fd(skel_->maps.threads));
}

std::vector<std::pair<pid_t, lp_thread>> BpfSession::threads_polled(uint64_t now_ns,
                                                                    uint64_t tick_ns) {
  // A busy period reaches the threshold threshold_ns after its start, at the
  // earliest; one that has not started yet, after now.
  const uint64_t lead_ns = config_.threshold_ns > tick_ns ? config_.threshold_ns - tick_ns : 0;
  auto due = [&](const lp_thread& state) {
    return (state.busy_start_ns ? state.busy_start_ns : now_ns) + lead_ns;
  };
  auto now = std::chrono::steady_clock::now();
  if (now - last_full_scan_ >= kFullScanInterval) {
    last_full_scan_ = now;
    auto all = threads();
    polled_.clear();
    for (const auto& [tid, state] : all) polled_.push_back({static_cast<__u32>(tid), due(state)});
    return all;
  }
  std::vector<std::pair<pid_t, lp_thread>> out;
  const int fd = bpf_map__fd(skel_->maps.threads);
  for (Polled& p : polled_) {
    if (p.due_ns > now_ns) continue;
    lp_thread state{};
    if (bpf_map_lookup_elem(fd, &p.tid, &state) != 0) {
      p.due_ns = UINT64_MAX;  // gone: until the next scan
      continue;
    }
    p.due_ns = due(state);
    out.emplace_back(static_cast<pid_t>(p.tid), state);
  }
  return out;
}

std::vector<std::pair<pid_t, lp_task_stats>> BpfSession::task_stats() const {
  return read_tid_map<lp_task_stats>(bpf_map__fd(skel_->maps.task_stats));
}

bool BpfSession::seed_thread(pid_t tid, const lp_thread& state) {
  __u32 key = static_cast<__u32>(tid);
  return bpf_map_update_elem(bpf_map__fd(skel_->maps.threads), &key, &state, BPF_NOEXIST) == 0;
}

uint64_t BpfSession::drop_count(uint32_t key) const {
  int cpus = libbpf_num_possible_cpus();
  std::vector<__u64> per_cpu(static_cast<size_t>(cpus > 0 ? cpus : 1));
  uint64_t total = 0;
  __u32 k = key;
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.drops), &k, per_cpu.data()) == 0)
    for (__u64 n : per_cpu) total += n;
  return total;
}

std::map<std::string, uint64_t> BpfSession::dropped() const {
  static constexpr std::pair<__u32, const char*> kinds[] = {{LP_REC_STALL, "stall"},
                                                            {LP_REC_CAPTURE, "stack capture"},
                                                            {LP_REC_RESUME, "resume"},
                                                            {LP_REC_WAKE, "wake-up"},
                                                            {LP_REC_STEP, "callback step"},
                                                            {LP_REC_LOOP_EXIT, "loop exit"},
                                                            {LP_REC_THREAD_EXIT, "thread exit"},
                                                            {LP_REC_EXEC, "exec"},
                                                            {LP_REC_BUSY_END, "busy-period end"},
                                                            {LP_REC_ANNOUNCE, "announce"},
                                                            {LP_REC_STACK_MORE, "deep stack"}};
  std::map<std::string, uint64_t> out;
  for (auto [type, name] : kinds) out[name] = drop_count(type);
  return out;
}

std::map<std::string, uint64_t> BpfSession::map_full() const {
  return {{"threads", drop_count(LP_FULL_THREADS)}, {"task_stats", drop_count(LP_FULL_TASK_STATS)}};
}

}  // namespace loopprof
