#include "agent/watched_process.hpp"

#include <time.h>

#include <cstring>

#include "agent/runtime_label.hpp"
#include "app/busy_at_attach.hpp"
#include "core/monotonic_clock.hpp"

namespace loopprof::agent {

namespace {
// No stack captured this long: the symbolizer and unwinder are let go.
constexpr auto kNativeIdle = std::chrono::seconds(60);
}  // namespace

// The collector's output for this process: final stalls count in the
// metrics and go to the log and the stall store; ongoing reports are logged.
class WatchedProcess::Feed : public OutputSink {
 public:
  Feed(WatchedProcess& process) : process_(process) {}
  void stall(const Stall& stall) override {
    const ProcessLabels& labels = process_.metrics_.labels();
    process_.context_.log.write(stall, labels);
    if (stall.ongoing) return;
    process_.metrics_.on_stall(stall);
    process_.context_.store.add(stall, labels, std::chrono::steady_clock::now());
  }
  Status finish(const Summary&) override { return ok_status(); }

 private:
  WatchedProcess& process_;
};

WatchedProcess::WatchedProcess(pid_t pid, ProcessContext& context, TargetProcess target,
                               uint64_t start_time)
    : context_(context),
      target_(std::move(target)),
      start_time_(start_time),
      watched_since_ns_(monotonic_ns()),
      metrics_(read_process_labels(pid)) {}

Result<std::unique_ptr<WatchedProcess>> WatchedProcess::open(pid_t pid, ProcessContext& context) {
  auto target = TargetProcess::open(pid);
  if (!target) return target.error();
  uint64_t start_time = process_start_time(pid);
  std::unique_ptr<WatchedProcess> process(
      new WatchedProcess(pid, context, std::move(target).value(), start_time));

  auto python = python::PythonSupport::attach(pid, context.session.object());
  if (python) {
    process->python_ = std::move(python).value();
  } else {
    process->python_warning_ = python.error().message;
  }
  WatchedProcess& w = *process;  // heap-allocated: its address is stable
  w.target_.set_thread_namer([&w] {
    return w.python_ ? w.python_->thread_names() : std::unordered_map<pid_t, std::string>{};
  });
  process->metrics_.set_runtime(process->python_ ? process->python_->runtime_label()
                                                 : read_native_runtime_label(pid));

  ProcessSymbolizerOptions symbol_options;
  symbol_options.cache = context.modules;
  process->symbols_ = std::make_unique<LazySymbolizer>(pid, std::move(symbol_options));
  process->resolver_ = std::make_unique<StackResolver>(
      context.kernel_symbols, *process->symbols_, process->unwinder_.get(), process->python_.get());
  process->feed_ = std::make_unique<Feed>(*process);
  process->collector_ = std::make_unique<StallCollector>(
      process->target_, *process->resolver_, std::vector<OutputSink*>{process->feed_.get()},
      context.threshold_ns, context.sample_hz);

  if (auto watched = context.session.watch(pid); !watched) return watched.error();
  // Loops busy right now (a hung service) are reported as ongoing stalls;
  // threads waiting in their loop's wait start their next busy period clean.
  process->open_native();
  size_t busy =
      seed_busy_loops(pid, context.session, *process->collector_, context.kernel_symbols,
                      *process->symbols_, process->unwinder_.get(), monotonic_ns(), false);
  process->collector_->set_lock_inspector(
      lock_inspector(pid, context.kernel_symbols, *process->symbols_, process->unwinder_));
  if (busy == 0)
    process->release_native();
  else
    process->last_capture_ = std::chrono::steady_clock::now();
  seed_waiting_threads(process->target_, context.session);
  return process;
}

void WatchedProcess::open_native() {
  if (native_open_) return;
  native_open_ = true;
  if (auto unwinder = DwarfUnwinder::create(target_.pid()); unwinder)
    unwinder_ = std::move(unwinder).value();
  resolver_->set_unwinder(unwinder_.get());
}

void WatchedProcess::release_native() {
  native_open_ = false;
  resolver_->set_unwinder(nullptr);
  unwinder_.reset();
  symbols_->release();
}

WatchedProcess::~WatchedProcess() {
  context_.session.unwatch(target_.pid());
}

void WatchedProcess::on_record(const void* data, size_t size) {
  __u32 type = 0;
  std::memcpy(&type, data, sizeof(type));
  if (type == LP_REC_CAPTURE) {
    open_native();
    last_capture_ = std::chrono::steady_clock::now();
  }
  if (type == LP_REC_LOOP_EXIT && size >= sizeof(lp_loop_exit_record)) {
    lp_loop_exit_record record;
    std::memcpy(&record, data, sizeof(record));
    pid_t tid = static_cast<pid_t>(record.tid);
    metrics_.on_loop_exit(tid, target_.thread_name(tid), record.state);
  } else if (type == LP_REC_THREAD_EXIT && size >= sizeof(lp_thread_exit_record)) {
    lp_thread_exit_record record;
    std::memcpy(&record, data, sizeof(record));
    if (!(record.flags & LP_TEXIT_NO_STATS))
      metrics_.on_thread_exit(static_cast<pid_t>(record.tid), record.stats);
  }
  collector_->on_record(data, size);
}

void WatchedProcess::update(const std::vector<std::pair<pid_t, lp_thread>>& threads,
                            uint64_t now_ns) {
  collector_->check_ongoing(threads, now_ns);
}

void WatchedProcess::update_metrics(const std::vector<std::pair<pid_t, lp_thread>>& threads,
                                    const std::vector<std::pair<pid_t, lp_task_stats>>& tasks) {
  metrics_.update_loops(threads, [this](pid_t tid) { return target_.thread_name(tid); });
  metrics_.update_tasks(tasks);
}

WatchedProcess::Liveness WatchedProcess::check() {
  if (native_open_ && std::chrono::steady_clock::now() - last_capture_ > kNativeIdle)
    release_native();
  if (target_.exited() || process_start_time(target_.pid()) != start_time_) return Liveness::exited;
  // New Python threads are read when a capture meets one (PythonSupport::resolve),
  // not polled: polling every process's thread list each second was the agent's main
  // idle cost with many watched processes.
  if (target_.image_changed()) return Liveness::executed;
  return Liveness::same;
}

}  // namespace loopprof::agent
