#include "app/agent_command.hpp"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

#include "agent/agent_metrics.hpp"
#include "agent/exposition.hpp"
#include "agent/http_endpoint.hpp"
#include "agent/process_manager.hpp"
#include "agent/pyroscope_pusher.hpp"
#include "agent/pyroscope_target.hpp"
#include "agent/selector.hpp"
#include "agent/stall_log.hpp"
#include "agent/stall_profile.hpp"
#include "agent/stall_store.hpp"
#include "app/command_support.hpp"
#include "app/exit_code.hpp"
#include "bpf/bpf_session.hpp"
#include "bpf/features.hpp"
#include "core/monotonic_clock.hpp"
#include "core/unique_fd.hpp"
#include "symbols/kernel_symbols.hpp"
#include "symbols/module_cache.hpp"
#include "symbols/symbolizer.hpp"

namespace loopprof {

namespace {

uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

// --pyroscope: checked before anything is attached.
Result<std::optional<agent::PyroscopeTarget>> pyroscope_target(const AgentOptions& options) {
  if (options.pyroscope.empty()) return std::optional<agent::PyroscopeTarget>();
  auto target = agent::parse_pyroscope_url(options.pyroscope, agent::pyroscope_tls_available());
  if (!target) return target.error();
  if (auto name = agent::check_pyroscope_app_name(options.pyroscope_app_name); !name)
    return name.error();
  return std::optional<agent::PyroscopeTarget>(std::move(target).value());
}

int tick_ms(double threshold_ms) {
  double tick = threshold_ms / 4;
  return static_cast<int>(tick < 10 ? 10 : tick > 100 ? 100 : tick);
}

}  // namespace

int run_agent(const AgentOptions& options) {
  if (!validate_agent_options(options)) return kExitUsage;
  route_libbpf_messages(options.verbose);
  auto selector = agent::ProcessSelector::make(options.pids, options.match, options.cgroup);
  if (!selector) return fail(selector.error());
  auto address = agent::parse_listen_address(options.listen);
  if (!address) return fail(address.error());
  auto pyroscope = pyroscope_target(options);
  if (!pyroscope) return fail(pyroscope.error());
  if (auto privileges = check_privileges(); !privileges) return fail(privileges.error());
  auto features = probe_features();
  if (!features) return fail(features.error());
  if (options.verbose) fmt::print(stderr, "loopprof: {}\n", features->describe());

  SessionConfig config{.threshold_ns = static_cast<uint64_t>(options.threshold_ms * 1e6),
                       .sample_hz = options.sample_hz,
                       // Stacks matter in stalls only: no samples of healthy iterations.
                       .sample_min_busy_ns = static_cast<uint64_t>(options.threshold_ms * 1e6 / 4),
                       .ringbuf_bytes = options.ringbuf_mb << 20,
                       .max_threads = 65536,
                       .max_processes = options.max_processes,
                       .discover = !selector->pids_only()};
  auto opened = BpfSession::open(config, features.value());
  if (!opened) return fail(opened.error());
  std::unique_ptr<BpfSession> session = std::move(opened).value();
  if (auto loaded = session->load(); !loaded) return fail(loaded.error());

  auto log = agent::StallLog::open(options.log_stdout, options.events);
  if (!log) return fail(log.error());
  auto kernel_symbols = open_kernel_symbols();
  agent::StallStore store(std::chrono::seconds(options.profile_window_s), 20000);
  agent::ProcessContext context{.session = *session,
                                .kernel_symbols = *kernel_symbols,
                                .modules = std::make_shared<ModuleCache>(),
                                .log = log.value(),
                                .store = store,
                                .threshold_ns = config.threshold_ns,
                                .sample_hz = config.sample_hz};
  std::string manager_description = selector->describe();
  agent::ProcessManager manager(
      context, std::move(selector).value(),
      agent::ManagerLimits{.max_processes = options.max_processes,
                           .grace = std::chrono::seconds(static_cast<int64_t>(options.grace_s))});

  std::mutex state;  // the agent's state, shared with the HTTP handlers
  UniqueFd signals = stop_signals_fd();
  if (auto attached = session->attach(
          [&manager](const void* data, size_t size) { manager.on_record(data, size); });
      !attached)
    return fail(attached.error());
  manager.scan();

  std::unique_ptr<agent::PyroscopePusher> pusher;
  const auto push_interval = std::chrono::seconds(options.pyroscope_interval_s);
  if (pyroscope.value())
    pusher = std::make_unique<agent::PyroscopePusher>(
        *pyroscope.value(), agent::PushSettings{.app_name = options.pyroscope_app_name,
                                                .labels = {{"hostname", host_name()}},
                                                .interval = push_interval});

  agent::HttpRoutes routes;
  routes.metrics = [&] {
    manager.update_metrics();
    agent::AgentHealth health{.watched_processes = manager.watched(),
                              .max_processes = manager.max_processes(),
                              .refused_processes = manager.refused_full(),
                              .dropped_records = session->dropped(),
                              .attach_failures = manager.attach_failures(),
                              .cpu_seconds = agent::self_cpu_seconds(),
                              .resident_bytes = agent::self_resident_bytes(),
                              .missed_switch_ins = session->missed_switch_ins()};
    if (pusher) health.pyroscope = pusher->stats();
    return agent::HttpResponse{200, agent::kExpositionContentType,
                               agent::render_metrics(manager.metrics(), health)};
  };
  routes.stall_profile = [&](int seconds) {
    return agent::HttpResponse{200, "application/octet-stream",
                               agent::stall_profile(store, std::chrono::steady_clock::now(),
                                                    realtime_ns(), std::chrono::seconds(seconds))};
  };
  auto http = agent::HttpEndpoint::start(address.value(), routes, state);
  if (!http) return fail(http.error());
  fmt::print(stderr,
             "loopprof: agent watching {}{} (now {}), threshold {} ms; metrics on "
             "http://{}:{}/metrics\n",
             manager_description, "", manager.watched(), options.threshold_ms, address->host,
             http.value()->port());
  if (pusher)
    fmt::print(stderr, "loopprof: pushing the stall profile to {} every {} s as {}\n",
               pusher->target().ingest_url(), options.pyroscope_interval_s,
               options.pyroscope_app_name);

  UniqueFd poller(epoll_create1(EPOLL_CLOEXEC));
  for (int fd : {session->ring_epoll_fd(), signals.get()}) {
    epoll_event event{.events = EPOLLIN, .data = {.fd = fd}};
    epoll_ctl(poller.get(), EPOLL_CTL_ADD, fd, &event);
  }
  const int tick = tick_ms(options.threshold_ms);
  auto started = std::chrono::steady_clock::now();
  auto last_maintenance = started;
  auto last_push = started;
  uint64_t last_push_unix_ns = realtime_ns();
  // The stalls that ended since the last push; encoded and sent on the push thread.
  auto push_stalls_since_last = [&](std::chrono::steady_clock::time_point now) {
    uint64_t now_unix_ns = realtime_ns();
    std::vector<agent::StoredStall> stalls = store.between(last_push, now);
    if (!stalls.empty()) {
      uint64_t from_ns = last_push_unix_ns;
      pusher->offer(agent::PushJob{.from_s = static_cast<int64_t>(from_ns / 1'000'000'000ull),
                                   .until_s = static_cast<int64_t>(now_unix_ns / 1'000'000'000ull),
                                   .encode = [stalls = std::move(stalls), from_ns, now_unix_ns] {
                                     return agent::stall_profile(stalls, from_ns,
                                                                 now_unix_ns - from_ns,
                                                                 "one push interval");
                                   }});
    }
    last_push = now;
    last_push_unix_ns = now_unix_ns;
  };
  bool stop = false;
  while (!stop) {
    epoll_event ready[2];
    int n = epoll_wait(poller.get(), ready, 2, tick);
    std::lock_guard<std::mutex> lock(state);
    for (int i = 0; i < n; ++i) {
      if (ready[i].data.fd != signals.get()) continue;
      signalfd_siginfo info{};
      while (read(signals.get(), &info, sizeof(info)) == sizeof(info)) {
        if (info.ssi_signo == SIGHUP) {
          if (auto reopened = log->reopen(); !reopened)
            fmt::print(stderr, "loopprof: warning: {}\n", reopened.error().message);
        } else {
          stop = true;
        }
      }
    }
    if (auto consumed = session->consume(); !consumed) return fail(consumed.error());
    manager.update(monotonic_ns(), tick * 1'000'000ull);
    auto now = std::chrono::steady_clock::now();
    if (now - last_maintenance >= std::chrono::seconds(1)) {
      last_maintenance = now;
      manager.maintain(now);
    }
    if (pusher && now - last_push >= push_interval) push_stalls_since_last(now);
    if (options.duration_s > 0 &&
        std::chrono::duration<double>(now - started).count() >= options.duration_s)
      stop = true;
  }
  http.value().reset();  // no scrape sees a half-detached agent
  if (pusher) {          // the last, partial interval, given a few seconds
    std::lock_guard<std::mutex> lock(state);
    push_stalls_since_last(std::chrono::steady_clock::now());
    if (!pusher->flush(std::chrono::seconds(3)))
      fmt::print(stderr, "loopprof: warning: the last Pyroscope push did not finish in 3 s\n");
  }
  pusher.reset();  // aborts a push under way
  fmt::print(stderr, "loopprof: agent stopping: {} processes watched\n", manager.watched());
  return kExitOk;
}

}  // namespace loopprof
