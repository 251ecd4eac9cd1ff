#include "top/watched_process.hpp"

#include <fmt/format.h>

#include "app/busy_at_attach.hpp"
#include "core/monotonic_clock.hpp"

namespace loopprof::top {

namespace {

void warn(const Error& error, const char* consequence) {
  fmt::print(stderr, "loopprof: warning: {}; {}\n", error.message, consequence);
  if (!error.hint.empty()) fmt::print(stderr, "loopprof: hint: {}\n", error.hint);
}

}  // namespace

Result<std::unique_ptr<WatchedProcess>> WatchedProcess::attach(pid_t pid,
                                                               const SourceConfig& config,
                                                               const Features& features,
                                                               KernelSymbolizer& kernel_symbols) {
  auto target = TargetProcess::open(pid);
  if (!target) return target.error();
  std::unique_ptr<WatchedProcess> watched(new WatchedProcess(std::move(target).value(), config));
  WatchedProcess& w = *watched;

  SessionConfig session_config{.threshold_ns = config.threshold_ns,
                               .sample_hz = config.sample_hz,
                               .ringbuf_bytes = config.ringbuf_bytes,
                               .max_processes = 1};
  auto opened = BpfSession::open(session_config, features);
  if (!opened) return opened.error();
  w.session_ = std::move(opened).value();
  if (auto loaded = w.session_->load(); !loaded) return loaded.error();
  if (auto watched = w.session_->watch(pid); !watched) return watched.error();

  auto python = python::PythonSupport::attach(pid, w.session_->object());
  if (python)
    w.python_ = std::move(python).value();
  else
    warn(python.error(), "stacks will show native frames only");
  w.target_.set_thread_namer([&w] {  // w is heap-allocated: its address is stable
    return w.python_ ? w.python_->thread_names() : std::unordered_map<pid_t, std::string>{};
  });
  w.process_symbols_ = ProcessSymbolizer::create(pid);
  if (auto unwinder = DwarfUnwinder::create(pid); unwinder)
    w.unwinder_ = std::move(unwinder).value();
  else
    warn(unwinder.error(), "native stacks will use frame pointers only");
  w.resolver_ = std::make_unique<StackResolver>(kernel_symbols, *w.process_symbols_,
                                                w.unwinder_.get(), w.python_.get());
  if (!w.python_) {  // JavaScript frames for V8 targets (Node.js)
    if (auto node = node::NodeSupport::attach(pid); node)
      w.node_ = std::move(node).value();
    else
      warn(node.error(), "JavaScript frames stay unnamed");
    w.resolver_->set_node(w.node_.get());
  }
  w.collector_ = std::make_unique<StallCollector>(w.target_, *w.resolver_,
                                                  std::vector<OutputSink*>{&w.gatherer_},
                                                  config.threshold_ns, config.sample_hz);
  w.exec_follower_ =
      std::make_unique<ExecFollower>(pid, w.session_->object(), *w.process_symbols_,
                                     w.unwinder_.get(), *w.resolver_, w.python_, false);

  StallCollector* collector = w.collector_.get();
  if (auto attached = w.session_->attach(
          [collector](const void* data, size_t size) { collector->on_record(data, size); });
      !attached)
    return attached.error();
  w.attach_ns_ = monotonic_ns();
  loopprof::seed_waiting_threads(w.target_, *w.session_);
  w.last_refresh_ = std::chrono::steady_clock::now();
  std::string runtime = w.python_ ? ", " + w.python_->description()
                        : w.node_ ? ", " + w.node_->description()
                                  : "";
  fmt::print(stderr, "loopprof: attached to PID {} ({}{}), {} threads\n", pid, w.target_.command(),
             runtime, w.target_.thread_count());
  return watched;
}

std::string WatchedProcess::refresh() {
  std::string notice;
  // An exec of the target (from the kernel's record): re-read the process.
  if (collector_->take_exec()) {
    exec_follower_->on_exec(target_.command());
    notice = fmt::format("PID {} executed {}", pid(), command());
  }
  exec_follower_->tick();
  auto now = std::chrono::steady_clock::now();
  if (now - last_refresh_ < std::chrono::seconds(1)) return notice;
  last_refresh_ = now;
  if (python_) (void)python_->refresh_threads();
  collector_->lifecycle().sweep(target_.thread_ids());
  if (target_.image_changed()) {  // an exec the kernel's record missed
    target_.note_exec();
    exec_follower_->on_exec(target_.command());
    notice = fmt::format("PID {} executed {}", pid(), command());
  }
  return notice;
}

void WatchedProcess::collect(uint64_t now_ns, IntervalInput& into) {
  auto threads = session_->threads();
  for (Stall& stall : gatherer_.take()) into.stalls.push_back(std::move(stall));
  for (Stall& stall : collector_->ongoing_now(threads, now_ns))
    into.stalls.push_back(std::move(stall));
  for (const auto& [tid, state] : threads)
    if (shows_as_loop(state, now_ns, config_.threshold_ns))
      into.loops.push_back(
          loop_snapshot(pid(), tid, target_.thread_name(tid), state, now_ns, attach_ns_));
}

}  // namespace loopprof::top
