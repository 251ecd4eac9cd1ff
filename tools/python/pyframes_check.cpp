// Development check for the Python support, independent of the collector:
// attaches loopprof's BPF object to PID for SECONDS and prints the Python
// frames of every capture of a busy loop thread, root first, " | " between
// the runs of separate native eval calls.
//   pyframes_check PID [SECONDS] [--no-python] [SAMPLE_HZ]
// Also prints each program's run count and average run time (kernel BPF
// stats), to measure the walker's cost against a --no-python run.
// Build (from a configured build dir BUILD):
//   g++ -std=c++20 -O2 -I userspace -I bpf -I BUILD/bpf tools/python/pyframes_check.cpp \
//       BUILD/libloopprof_core.a $(pkg-config --libs libbpf libdw libelf) -lfmt -o pyframes_check
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

#include "bpf/bpf_session.hpp"
#include "bpf/features.hpp"
#include "python/python_support.hpp"

using namespace loopprof;

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: pyframes_check PID [SECONDS]\n");
    return 2;
  }
  const pid_t pid = std::stoi(argv[1]);
  const int seconds = argc > 2 ? std::stoi(argv[2]) : 5;
  const bool with_python = !(argc > 3 && std::string(argv[3]) == "--no-python");
  // Kernel BPF run-time accounting, on only while this tool runs.
  int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  auto features = probe_features();
  if (!features) return fmt::print(stderr, "{}\n", features.error().message), 1;
  SessionConfig config;
  config.max_processes = 1;
  config.threshold_ns = 50'000'000;
  if (argc > 4) config.sample_hz = static_cast<uint32_t>(std::stoul(argv[4]));
  auto session = BpfSession::open(config, features.value());
  if (!session) return fmt::print(stderr, "{}\n", session.error().message), 1;
  if (auto st = session.value()->load(); !st)
    return fmt::print(stderr, "{}\n", st.error().message), 1;
  if (auto st = session.value()->watch(pid); !st)
    return fmt::print(stderr, "{}\n", st.error().message), 1;
  auto python = python::PythonSupport::attach(pid, session.value()->object());
  if (!python) return fmt::print(stderr, "warning: {}\n", python.error().message), 1;
  if (!python.value()) return fmt::print(stderr, "not a CPython process\n"), 1;
  fmt::print(stderr, "attached: {}\n", python.value()->description());
  if (!with_python) {  // back to "not configured": the walker returns at once
    lp_py_config none{};
    uint32_t key = static_cast<uint32_t>(pid);
    bpf_map__update_elem(bpf_object__find_map_by_name(session.value()->object(), "lp_py_config"),
                         &key, sizeof(key), &none, sizeof(none), BPF_ANY);
  }

  auto& py = *python.value();
  uint64_t captures = 0, samples = 0;
  auto handler = [&](const void* data, size_t size) {
    if (size < sizeof(lp_capture_record)) return;
    const auto* r = static_cast<const lp_capture_record*>(data);
    if (r->type != LP_REC_CAPTURE) return;
    captures++;
    if (r->kind == LP_CAPTURE_SAMPLE) samples++;
    python::PythonStack stack = py.resolve(r->py);
    std::string line;
    for (const Frames& run : stack.runs) {
      line += line.empty() ? "" : " | ";  // between native eval calls
      for (size_t i = 0; i < run.size(); i++) line += (i ? ";" : "") + frame_label(run[i]);
    }
    fmt::print("{} tid={} py_depth={} flags={:#x} mask={:#x}: {}\n",
               r->kind == LP_CAPTURE_OFFCPU ? "off" : "on", r->tid, r->py.depth, r->py.flags,
               r->py.entry_mask, line);
  };
  if (auto st = session.value()->attach(handler); !st)
    return fmt::print(stderr, "{}\n", st.error().message), 1;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  epoll_ctl(ep, EPOLL_CTL_ADD, session.value()->ring_epoll_fd(), &ev);
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    epoll_event out;
    if (epoll_wait(ep, &out, 1, 100) > 0) (void)session.value()->consume();
  }
  const auto& s = py.stats();
  fmt::print(stderr,
             "captures={} sample_captures={} py_captures={} frames={} unreadable={} "
             "unknown_threads={} faults={} "
             "truncated={}\n",
             captures, samples, s.captures, s.frames, s.unreadable_frames, s.unknown_threads,
             s.read_faults, s.truncated);
  bpf_program* prog;
  bpf_object__for_each_program(prog, session.value()->object()) {
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    int fd = bpf_program__fd(prog);
    if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || info.run_cnt == 0) continue;
    fmt::print(stderr, "prog {:<24} runs={:<8} avg_ns={}\n", bpf_program__name(prog), info.run_cnt,
               info.run_time_ns / info.run_cnt);
  }
  if (stats_fd >= 0) close(stats_fd);
  return 0;
}
