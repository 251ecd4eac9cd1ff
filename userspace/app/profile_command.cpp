#include "app/profile_command.hpp"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>

#include <chrono>
#include <cstdarg>
#include <memory>

#include "app/exit_code.hpp"
#include "bpf/bpf_session.hpp"
#include "bpf/features.hpp"
#include "collector/stack_resolver.hpp"
#include "collector/stall_collector.hpp"
#include "core/unique_fd.hpp"
#include "latency/step_probe.hpp"
#include "output/sink.hpp"
#include "python/python_support.hpp"
#include "symbols/symbolizer.hpp"
#include "target/target_process.hpp"
#include "unwind/dwarf_unwinder.hpp"

namespace loopprof {

namespace {

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

int print_libbpf_all(libbpf_print_level, const char* format, va_list args) {
  return std::vfprintf(stderr, format, args);
}

int print_libbpf_none(libbpf_print_level, const char*, va_list) {
  return 0;
}

int fail(const Error& error) {
  fmt::print(stderr, "loopprof: {}\n", error.message);
  if (!error.hint.empty()) fmt::print(stderr, "loopprof: hint: {}\n", error.hint);
  return kExitError;
}

// SIGINT/SIGTERM as a readable descriptor, blocked for the whole process.
UniqueFd stop_signals_fd() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  // A closed stdout (`loopprof ... | head`) must not cost the output files.
  signal(SIGPIPE, SIG_IGN);
  return UniqueFd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

struct Outputs {
  std::vector<std::unique_ptr<OutputSink>> owned;
  std::vector<OutputSink*> sinks() const {
    std::vector<OutputSink*> out;
    for (const auto& sink : owned) out.push_back(sink.get());
    return out;
  }
};

Result<Outputs> open_outputs(const ProfileOptions& options) {
  Outputs outputs;
  outputs.owned.push_back(make_text_report(stdout, options.verbose));
  if (!options.outputs.folded.empty()) {
    auto folded = make_folded_writer(options.outputs.folded);
    if (!folded) return folded.error();
    outputs.owned.push_back(std::move(folded).value());
  }
  if (!options.outputs.events.empty()) {
    auto events = make_jsonl_writer(options.outputs.events);
    if (!events) return events.error();
    outputs.owned.push_back(std::move(events).value());
  }
  return outputs;
}

// Python frames for CPython targets; anything else keeps native-only stacks.
std::unique_ptr<python::PythonSupport> attach_python(pid_t pid, bpf_object* object) {
  auto python = python::PythonSupport::attach(pid, object);
  if (!python) {
    fmt::print(stderr, "loopprof: warning: {}; stacks will show native frames only\n",
               python.error().message);
    if (!python.error().hint.empty())
      fmt::print(stderr, "loopprof: hint: {}\n", python.error().hint);
    return nullptr;
  }
  return std::move(python).value();
}

// Kernel frames are named from /proc/kallsyms; without it they stay addresses.
std::unique_ptr<KernelSymbolizer> open_kernel_symbols() {
  auto kallsyms = KernelSymbolizer::open("/proc/kallsyms");
  if (kallsyms) return std::move(kallsyms).value();
  fmt::print(stderr, "loopprof: warning: {}; kernel frames will show addresses\n",
             kallsyms.error().message);
  if (!kallsyms.error().hint.empty())
    fmt::print(stderr, "loopprof: hint: {}\n", kallsyms.error().hint);
  return KernelSymbolizer::create();
}

// Loops still blocked when loopprof stops: reported once more, marked.
std::vector<Stall> stalls_at_exit(StallCollector& collector,
                                  const std::vector<std::pair<pid_t, lp_thread>>& threads) {
  std::vector<Stall> stalls = collector.ongoing_now(threads, monotonic_ns());
  for (Stall& stall : stalls) stall.at_exit = true;
  return stalls;
}

// DWARF unwinding of stack snapshots; without it, frame-pointer stacks only.
std::unique_ptr<DwarfUnwinder> create_unwinder(pid_t pid) {
  auto unwinder = DwarfUnwinder::create(pid);
  if (!unwinder) {
    fmt::print(stderr, "loopprof: warning: {}; native stacks will use frame pointers only\n",
               unwinder.error().message);
    return nullptr;
  }
  return std::move(unwinder).value();
}

// How often ongoing stalls are looked for: about a quarter of the threshold.
int tick_ms(const ProfileOptions& options) {
  double tick = options.threshold_ms / 4;
  return static_cast<int>(tick < 10 ? 10 : tick > 100 ? 100 : tick);
}

}  // namespace

int run_profile(const ProfileOptions& options) {
  libbpf_set_print(options.verbose ? print_libbpf_all : print_libbpf_none);
  auto target = TargetProcess::open(options.pid);
  if (!target) return fail(target.error());
  if (auto privileges = check_privileges(); !privileges) return fail(privileges.error());
  auto features = probe_features();
  if (!features) return fail(features.error());
  if (options.verbose) fmt::print(stderr, "loopprof: {}\n", features->describe());

  SessionConfig config{.threshold_ns = static_cast<uint64_t>(options.threshold_ms * 1e6),
                       .sample_hz = options.sample_hz,
                       .ringbuf_bytes = options.ringbuf_mb << 20,
                       .max_processes = 1};
  if (options.precise) {
    config.step_pid = options.pid;
    config.step_binary = python_runtime_binary(options.pid);
    config.step_symbol = kStepSymbol;
  }
  auto opened = BpfSession::open(config, features.value());
  if (!opened) return fail(opened.error());
  std::unique_ptr<BpfSession> session = std::move(opened).value();
  if (auto loaded = session->load(); !loaded) return fail(loaded.error());
  if (auto watched = session->watch(options.pid); !watched) return fail(watched.error());

  auto outputs = open_outputs(options);
  if (!outputs) return fail(outputs.error());
  std::unique_ptr<python::PythonSupport> python = attach_python(options.pid, session->object());
  auto kernel_symbols = open_kernel_symbols();
  auto process_symbols = ProcessSymbolizer::create(options.pid);
  std::unique_ptr<DwarfUnwinder> unwinder = create_unwinder(options.pid);
  StackResolver resolver(*kernel_symbols, *process_symbols, unwinder.get(), python.get());
  StallCollector collector(target.value(), resolver, outputs->sinks(), config.threshold_ns,
                           config.sample_hz, options.precise);

  UniqueFd signals = stop_signals_fd();
  auto started = std::chrono::steady_clock::now();
  if (auto attached = session->attach(
          [&collector](const void* data, size_t size) { collector.on_record(data, size); });
      !attached)
    return fail(attached.error());
  size_t seeded = session->seed_poll_waiters(options.pid, target->poll_waiters());
  auto attach_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  fmt::print(stderr,
             "loopprof: attached to PID {} ({}{}), {} threads ({} waiting in a poll call), "
             "threshold {} ms, in {:.0f} ms; Ctrl-C to stop\n",
             options.pid, target->command(), python ? ", " + python->description() : "",
             target->thread_count(), seeded, options.threshold_ms, attach_ms);

  UniqueFd poller(epoll_create1(EPOLL_CLOEXEC));
  for (int fd : {session->ring_epoll_fd(), signals.get(), target->exit_fd()}) {
    epoll_event event{.events = EPOLLIN, .data = {.fd = fd}};
    epoll_ctl(poller.get(), EPOLL_CTL_ADD, fd, &event);
  }

  std::string stop_reason;
  int exit_code = kExitOk;
  const int tick = tick_ms(options);
  auto last_refresh = std::chrono::steady_clock::now();
  while (stop_reason.empty()) {
    epoll_event ready[4];
    int n = epoll_wait(poller.get(), ready, 4, tick);
    for (int i = 0; i < n; ++i) {
      if (ready[i].data.fd == signals.get()) {
        signalfd_siginfo info{};
        if (read(signals.get(), &info, sizeof(info)) == sizeof(info))
          stop_reason = info.ssi_signo == SIGINT ? "interrupted" : "terminated";
      } else if (ready[i].data.fd == target->exit_fd()) {
        stop_reason = "target exited";
      }
    }
    if (auto consumed = session->consume(); !consumed) return fail(consumed.error());
    collector.check_ongoing(session->threads(), monotonic_ns());
    // Once a second: new Python threads get frames from their first stall
    // on, and an exec of the target gets its new image symbolized.
    auto now = std::chrono::steady_clock::now();
    if (now - last_refresh >= std::chrono::seconds(1)) {
      last_refresh = now;
      if (python) (void)python->refresh_threads();
      if (target->image_changed()) {
        fmt::print(stderr, "loopprof: PID {} executed {}: re-reading its memory map\n", options.pid,
                   target->command());
        process_symbols->refresh();
        if (unwinder) (void)unwinder->refresh();
      }
    }

    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (stop_reason.empty() && options.duration_s > 0 && elapsed >= options.duration_s)
      stop_reason = "duration reached";
    if (stop_reason.empty() && !collector.saw_loop() && seeded == 0 &&
        elapsed >= options.loop_timeout_s) {
      fmt::print(stderr,
                 "loopprof: PID {} ({}) does not look like an event loop: none of its threads "
                 "waited in epoll_wait/poll/select in {:.0f} s\n"
                 "loopprof: hint: if its loop is blocked right now, a stall that began before "
                 "loopprof attached cannot be measured; try again, or raise --loop-timeout\n",
                 options.pid, target->command(), elapsed);
      stop_reason = "not an event loop";
      exit_code = kExitNotALoop;
    }
  }

  // Drain what the kernel already produced, then detach before writing.
  (void)session->consume();
  auto threads = session->threads();
  collector.check_ongoing(threads, monotonic_ns());
  collector.note_task_stats(session->task_stats());
  Summary base{
      .pid = options.pid,
      .command = target->command(),
      .wall_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
      .threshold_ns = config.threshold_ns,
      .ongoing_at_exit = stalls_at_exit(collector, threads),
      .dropped = session->dropped(),
      .stop_reason = stop_reason};
  session.reset();  // detach before writing outputs
  if (collector.malformed_records() > 0) base.dropped["malformed"] = collector.malformed_records();

  Summary summary = collector.summary().build(std::move(base));
  for (const auto& sink : outputs->owned)
    if (auto written = sink->finish(summary); !written) {
      fail(written.error());
      exit_code = kExitError;
    }
  return exit_code;
}

}  // namespace loopprof
