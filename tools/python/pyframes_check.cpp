// Development check for the Python support, independent of the collector:
// attaches loopprof's BPF object to PID for SECONDS and prints every capture
// of a busy loop thread as a folded stack with the Python frames merged in.
//   pyframes_check PID [SECONDS]
// Build (from a configured build dir BUILD):
//   g++ -std=c++20 -O2 -I userspace -I bpf -I BUILD/bpf tools/python/pyframes_check.cpp \
//       BUILD/libloopprof_core.a $(pkg-config --libs libbpf libdw libelf) -lfmt -o pyframes_check
#include <fmt/format.h>
#include <sys/epoll.h>

#include <chrono>
#include <cstring>
#include <string>

#include "bpf/bpf_session.hpp"
#include "bpf/features.hpp"
#include "collector/stack_resolver.hpp"
#include "python/python_support.hpp"

using namespace loopprof;

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: pyframes_check PID [SECONDS]\n");
    return 2;
  }
  const pid_t pid = std::stoi(argv[1]);
  const int seconds = argc > 2 ? std::stoi(argv[2]) : 5;
  auto features = probe_features();
  if (!features) return fmt::print(stderr, "{}\n", features.error().message), 1;
  SessionConfig config;
  config.pid = pid;
  config.threshold_ns = 50'000'000;
  auto session = BpfSession::open(config, features.value());
  if (!session) return fmt::print(stderr, "{}\n", session.error().message), 1;
  if (auto st = session.value()->load(); !st)
    return fmt::print(stderr, "{}\n", st.error().message), 1;
  auto python = python::PythonSupport::attach(pid, session.value()->object());
  if (!python) return fmt::print(stderr, "warning: {}\n", python.error().message), 1;
  if (!python.value()) return fmt::print(stderr, "not a CPython process\n"), 1;
  fmt::print(stderr, "attached: {}\n", python.value()->description());

  auto kernel = KernelSymbolizer::create();
  auto process = ProcessSymbolizer::create(pid);
  StackResolver resolver(*kernel, *process, nullptr);  // merged below, to print the details
  auto& py = *python.value();
  uint64_t captures = 0;
  auto handler = [&](const void* data, size_t size) {
    if (size < sizeof(lp_capture_record)) return;
    const auto* r = static_cast<const lp_capture_record*>(data);
    if (r->type != LP_REC_CAPTURE) return;
    captures++;
    Frames merged = py.merge(resolver.resolve(*r), r->py);
    std::string line;
    for (const Frame& f : merged) line += (line.empty() ? "" : ";") + frame_label(f);
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
             "captures={} py_captures={} frames={} unreadable={} unknown_threads={} faults={} "
             "truncated={}\n",
             captures, s.captures, s.frames, s.unreadable_frames, s.unknown_threads, s.read_faults,
             s.truncated);
  return 0;
}
