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

#include "app/busy_at_attach.hpp"
#include "app/command_support.hpp"
#include "app/exec_follower.hpp"
#include "app/exit_code.hpp"
#include "bpf/bpf_session.hpp"
#include "bpf/features.hpp"
#include "collector/stack_resolver.hpp"
#include "collector/stall_collector.hpp"
#include "core/monotonic_clock.hpp"
#include "core/output_file.hpp"
#include "core/unique_fd.hpp"
#include "latency/step_probe.hpp"
#include "output/file_outputs.hpp"
#include "output/sink.hpp"
#include "python/python_support.hpp"
#include "symbols/kernel_symbols.hpp"
#include "symbols/symbolizer.hpp"
#include "target/target_process.hpp"
#include "unwind/dwarf_unwinder.hpp"

namespace loopprof {

namespace {

struct Outputs {
  std::vector<std::unique_ptr<OutputSink>> owned;
  std::vector<OutputSink*> sinks() const {
    std::vector<OutputSink*> out;
    for (const auto& sink : owned) out.push_back(sink.get());
    return out;
  }
};

// Every output path is checked (directories, devices, symlinks, the same file
// twice) before any is created, and all before BPF is attached. With an
// output on stdout ('-'), the text report goes to stderr.
Result<Outputs> open_outputs(const ProfileOptions& options) {
  auto targets = resolve_outputs(options.outputs.all());
  if (!targets) return targets.error();
  bool stdout_taken = false;
  for (const OutputTarget& target : targets.value()) stdout_taken |= target.is_stdout();
  Outputs outputs;
  outputs.owned.push_back(make_text_report(stdout_taken ? stderr : stdout, options.verbose));
  auto files = open_file_outputs(options.outputs);
  if (!files) return files.error();
  for (auto& sink : files.value()) outputs.owned.push_back(std::move(sink));
  return outputs;
}

// Warnings of the attach, printed once it has succeeded: a target that
// exits while loopprof attaches gets the one message that says so, not the
// unreadable-maps warnings its exit caused first.
class AttachWarnings {
 public:
  void add(const Error& error, std::string_view consequence) {
    lines_.push_back(fmt::format("loopprof: warning: {}; {}", error.message, consequence));
    if (!error.hint.empty()) lines_.push_back(fmt::format("loopprof: hint: {}", error.hint));
  }
  void print() const {
    for (const std::string& line : lines_) fmt::print(stderr, "{}\n", line);
  }

 private:
  std::vector<std::string> lines_;
};

// Python frames for CPython targets; anything else keeps native-only stacks.
std::unique_ptr<python::PythonSupport> attach_python(pid_t pid, bpf_object* object,
                                                     AttachWarnings& warnings) {
  auto python = python::PythonSupport::attach(pid, object);
  if (!python) {
    warnings.add(python.error(), "stacks will show native frames only");
    return nullptr;
  }
  return std::move(python).value();
}

// JavaScript frames for V8 targets (Node.js); anything else keeps native frames.
std::unique_ptr<node::NodeSupport> attach_node(pid_t pid, AttachWarnings& warnings) {
  auto node = node::NodeSupport::attach(pid);
  if (!node) {
    warnings.add(node.error(), "JavaScript frames stay unnamed");
    return nullptr;
  }
  return std::move(node).value();
}

// Loops still blocked when loopprof stops: reported once more, marked.
std::vector<Stall> stalls_at_exit(StallCollector& collector,
                                  const std::vector<std::pair<pid_t, lp_thread>>& threads) {
  std::vector<Stall> stalls = collector.ongoing_now(threads, monotonic_ns());
  for (Stall& stall : stalls) stall.at_exit = true;
  return stalls;
}

// DWARF unwinding of stack snapshots; without it, frame-pointer stacks only.
std::unique_ptr<DwarfUnwinder> create_unwinder(pid_t pid, AttachWarnings& warnings) {
  auto unwinder = DwarfUnwinder::create(pid);
  if (!unwinder) {
    warnings.add(Error{unwinder.error().message, {}}, "native stacks will use frame pointers only");
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
  route_libbpf_messages(options.verbose);
  auto target = TargetProcess::open(options.pid);
  if (!target) return fail(target.error());
  if (auto privileges = check_privileges(); !privileges) return fail(privileges.error());
  // Ctrl-C from here on stops the run cleanly (no temporary file left behind).
  UniqueFd signals = stop_signals_fd();
  auto outputs = open_outputs(options);
  if (!outputs) return fail(outputs.error());
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

  AttachWarnings warnings;
  std::unique_ptr<python::PythonSupport> python =
      attach_python(options.pid, session->object(), warnings);
  target->set_thread_namer([&python] {
    return python ? python->thread_names() : std::unordered_map<pid_t, std::string>{};
  });
  auto kernel_symbols = open_kernel_symbols();
  auto process_symbols = ProcessSymbolizer::create(options.pid);
  std::unique_ptr<DwarfUnwinder> unwinder = create_unwinder(options.pid, warnings);
  StackResolver resolver(*kernel_symbols, *process_symbols, unwinder.get(), python.get());
  std::unique_ptr<node::NodeSupport> node = python ? nullptr : attach_node(options.pid, warnings);
  resolver.set_node(node.get());
  StallCollector collector(target.value(), resolver, outputs->sinks(), config.threshold_ns,
                           config.sample_hz, options.precise);
  ExecFollower exec_follower(options.pid, session->object(), *process_symbols, unwinder.get(),
                             resolver, python, options.precise);

  auto started = std::chrono::steady_clock::now();
  if (auto attached = session->attach(
          [&collector](const void* data, size_t size) { collector.on_record(data, size); });
      !attached)
    return fail(attached.error());
  if (target->exited())
    return fail(Error::failed(fmt::format("trace PID {}", options.pid),
                              "it exited while loopprof was attaching"));
  warnings.print();
  collector.set_lock_inspector(
      lock_inspector(options.pid, *kernel_symbols, *process_symbols, unwinder));
  size_t busy = seed_busy_loops(options.pid, *session, collector, *kernel_symbols, *process_symbols,
                                unwinder.get(), monotonic_ns(), options.verbose);
  size_t seeded = seed_waiting_threads(target.value(), *session) + busy;
  auto attach_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  fmt::print(stderr,
             "loopprof: attached to PID {} ({}{}), {} threads ({} waiting in a poll call{}), "
             "threshold {} ms, in {:.0f} ms; Ctrl-C to stop\n",
             options.pid, target->command(),
             python ? ", " + python->description() : (node ? ", " + node->description() : ""),
             target->thread_count(), seeded - busy,
             busy ? fmt::format(", {} loop(s) busy since before attach", busy) : "",
             options.threshold_ms, attach_ms);

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
    const uint64_t now_ns = monotonic_ns();
    collector.check_ongoing(session->threads_polled(now_ns, tick * 1'000'000ull), now_ns);
    // An exec of the target (from the kernel's record): re-read the process.
    if (collector.take_exec()) exec_follower.on_exec(target->command());
    exec_follower.tick();
    // Once a second: new Python threads get frames from their first stall
    // on; threads whose exit record was lost are forgotten; an exec the
    // kernel's record missed is caught by its new image.
    auto now = std::chrono::steady_clock::now();
    if (now - last_refresh >= std::chrono::seconds(1)) {
      last_refresh = now;
      if (python) (void)python->refresh_threads();
      collector.lifecycle().sweep(target->thread_ids());
      if (target->image_changed()) {
        target->note_exec();
        exec_follower.on_exec(target->command());
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
      .runtime = python ? python->description() : (node ? node->description() : ""),
      .wall_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
      .threshold_ns = config.threshold_ns,
      .ongoing_at_exit = stalls_at_exit(collector, threads),
      .dropped = session->dropped(),
      .stop_reason = stop_reason};
  base.map_full = session->map_full();
  base.max_threads = session->max_threads();
  base.missed_switch_ins = session->missed_switch_ins();
  session.reset();  // detach before writing outputs
  if (collector.malformed_records() > 0) base.dropped["malformed"] = collector.malformed_records();
  if (const StackExtensions& deep = collector.stack_extensions(); options.verbose) {
    fmt::print(stderr,
               "loopprof: {} CPU samples, {} of them resolved to stacks (the others were of busy "
               "periods that ended below the threshold)\n",
               collector.samples(), collector.samples_resolved());
    fmt::print(stderr,
               "loopprof: deep stacks: {} captures continued above 16 KiB ({} KiB of records), "
               "{} lost\n",
               deep.joined(), deep.record_bytes() / 1024, deep.lost());
  }

  Summary summary = collector.summary().build(std::move(base));
  for (const auto& sink : outputs->owned)
    if (auto written = sink->finish(summary); !written) {
      fail(written.error());
      exit_code = kExitError;
    }
  return exit_code;
}

}  // namespace loopprof
