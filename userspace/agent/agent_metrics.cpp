#include "agent/agent_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <fstream>

namespace loopprof::agent {

namespace {

constexpr double kNs = 1e-9;

// Bucket bounds of the histograms, in seconds: powers of four of the
// kernel's log2-microsecond buckets, 32 us to 8.4 s.
constexpr int kFirstBucket = 4;  // kernel bucket 4 ends at 2^5 us
constexpr int kBucketStep = 2;
constexpr std::array<double, 10> kBounds = {32e-6,     128e-6,     512e-6,   2.048e-3, 8.192e-3,
                                            32.768e-3, 131.072e-3, 0.524288, 2.097152, 8.388608};

// Folds the kernel's log2 buckets ([2^i, 2^(i+1)) us) into kBounds.
HistogramValue fold(const std::array<uint64_t, LP_HIST_BUCKETS>& log2_us, double sum_seconds) {
  HistogramValue h{.upper_bounds = kBounds,
                   .counts = std::vector<uint64_t>(kBounds.size(), 0),
                   .above = 0,
                   .sum = sum_seconds};
  for (int i = 0; i < LP_HIST_BUCKETS; ++i) {
    int slot = i <= kFirstBucket ? 0 : (i - kFirstBucket + kBucketStep - 1) / kBucketStep;
    if (slot < static_cast<int>(kBounds.size()))
      h.counts[static_cast<size_t>(slot)] += log2_us[static_cast<size_t>(i)];
    else
      h.above += log2_us[static_cast<size_t>(i)];
  }
  return h;
}

Labels with(Labels labels, const char* key, std::string value) {
  labels.emplace_back(key, std::move(value));
  return labels;
}

using Processes = std::vector<const ProcessMetrics*>;

void loop_families(Exposition& out, const Processes& processes) {
  out.family("loopprof_loop_lag_seconds", MetricType::histogram,
             "Busy time per loop iteration (from the return of the loop's wait to its next "
             "wait): the event-loop lag.");
  for (const ProcessMetrics* p : processes)
    for (const auto& [thread, loop] : p->loops())
      out.histogram("loopprof_loop_lag_seconds", with(p->base_labels(), "thread", thread),
                    fold(loop.busy_hist, loop.busy_ns * kNs));

  struct Counter {
    const char* name;
    const char* help;
    double (*value)(const LoopTotals&);
  };
  static constexpr Counter counters[] = {
      {"loopprof_loop_iterations_total", "Loop iterations (waits of the loop).",
       [](const LoopTotals& l) { return static_cast<double>(l.iterations); }},
      {"loopprof_loop_busy_seconds_total", "Time the loop spent between its waits.",
       [](const LoopTotals& l) { return l.busy_ns * kNs; }},
      {"loopprof_loop_idle_seconds_total",
       "Time the loop spent in its own wait; utilization = busy / (busy + idle).",
       [](const LoopTotals& l) { return l.idle_ns * kNs; }},
  };
  for (const Counter& c : counters) {
    out.family(c.name, MetricType::counter, c.help);
    for (const ProcessMetrics* p : processes)
      for (const auto& [thread, loop] : p->loops())
        out.sample(c.name, with(p->base_labels(), "thread", thread), c.value(loop));
  }
}

void stall_families(Exposition& out, const Processes& processes) {
  out.family("loopprof_stalls_total", MetricType::counter,
             "Busy periods at or above the threshold, by their main cause.");
  for (const ProcessMetrics* p : processes)
    for (const auto& [thread, stalls] : p->stalls())
      for (size_t i = 0; i < kStallCauses.size(); ++i)
        out.sample("loopprof_stalls_total",
                   with(with(p->base_labels(), "thread", thread), "cause", kStallCauses[i]),
                   static_cast<double>(stalls.count[i]));
  out.family("loopprof_stall_seconds_total", MetricType::counter,
             "Duration of the stalls, by their main cause.");
  for (const ProcessMetrics* p : processes)
    for (const auto& [thread, stalls] : p->stalls())
      for (size_t i = 0; i < kStallCauses.size(); ++i)
        out.sample("loopprof_stall_seconds_total",
                   with(with(p->base_labels(), "thread", thread), "cause", kStallCauses[i]),
                   stalls.ns[i] * kNs);
}

void process_families(Exposition& out, const Processes& processes) {
  out.family("loopprof_runqueue_latency_seconds", MetricType::histogram,
             "Time the process's threads waited for a CPU once runnable, per switch-in.");
  for (const ProcessMetrics* p : processes) {
    TaskTotals t = p->tasks();
    out.histogram("loopprof_runqueue_latency_seconds", p->base_labels(),
                  fold(t.runq_hist, t.runq_ns * kNs));
  }
  out.family("loopprof_futex_wait_seconds", MetricType::histogram,
             "Time the process's threads were blocked per futex wait (locks, conditions, GIL).");
  for (const ProcessMetrics* p : processes) {
    TaskTotals t = p->tasks();
    out.histogram("loopprof_futex_wait_seconds", p->base_labels(),
                  fold(t.futex_hist, t.futex_ns * kNs));
  }
  out.family("loopprof_gil_wait_seconds_total", MetricType::counter,
             "Time loop threads waited for the Python GIL inside stalls.");
  for (const ProcessMetrics* p : processes)
    out.sample("loopprof_gil_wait_seconds_total", p->base_labels(), p->gil_wait_ns() * kNs);
}

void pyroscope_families(Exposition& out, const PushStats& p) {
  out.family("loopprof_agent_pyroscope_pushes_total", MetricType::counter,
             "Stall profiles the Pyroscope server accepted (--pyroscope).");
  out.sample("loopprof_agent_pyroscope_pushes_total", {}, static_cast<double>(p.pushes));
  out.family("loopprof_agent_pyroscope_pushed_bytes_total", MetricType::counter,
             "Bytes of the accepted profiles (gzip pprof).");
  out.sample("loopprof_agent_pyroscope_pushed_bytes_total", {}, static_cast<double>(p.bytes));
  out.family("loopprof_agent_pyroscope_push_seconds_total", MetricType::counter,
             "Time the accepted pushes took.");
  out.sample("loopprof_agent_pyroscope_push_seconds_total", {}, p.seconds);
  out.family("loopprof_agent_pyroscope_push_failures_total", MetricType::counter,
             "Stall profiles dropped without reaching the server, by reason.");
  for (const char* reason : kPushFailureReasons) {
    auto it = p.failures.find(reason);
    out.sample("loopprof_agent_pyroscope_push_failures_total", {{"reason", reason}},
               static_cast<double>(it == p.failures.end() ? 0 : it->second));
  }
}

void health_families(Exposition& out, const AgentHealth& h) {
  out.family("loopprof_agent_watched_processes", MetricType::gauge,
             "Processes the agent watches now.");
  out.sample("loopprof_agent_watched_processes", {}, static_cast<double>(h.watched_processes));
  out.family("loopprof_agent_max_processes", MetricType::gauge,
             "Processes the agent can watch at once (--max-processes).");
  out.sample("loopprof_agent_max_processes", {}, static_cast<double>(h.max_processes));
  out.family("loopprof_agent_refused_processes_total", MetricType::counter,
             "Loop processes not watched because the watched set was full.");
  out.sample("loopprof_agent_refused_processes_total", {},
             static_cast<double>(h.refused_processes));
  out.family("loopprof_agent_dropped_records_total", MetricType::counter,
             "Kernel records lost because the ring buffer was full, by kind.");
  for (const auto& [kind, n] : h.dropped_records)
    out.sample("loopprof_agent_dropped_records_total", {{"kind", kind}}, static_cast<double>(n));
  out.family("loopprof_agent_malformed_records_total", MetricType::counter,
             "Kernel records that could not be read.");
  out.sample("loopprof_agent_malformed_records_total", {},
             static_cast<double>(h.malformed_records));
  out.family("loopprof_agent_missed_switch_ins_total", MetricType::counter,
             "Switch-ins of busy loop threads the scheduler probe did not see; their "
             "on/off-CPU split came from the scheduler's run-time counter.");
  out.sample("loopprof_agent_missed_switch_ins_total", {},
             static_cast<double>(h.missed_switch_ins));
  out.family("loopprof_agent_attach_failures_total", MetricType::counter,
             "Processes the agent could not watch, by reason.");
  for (const char* reason :
       {"exited", "not_a_process", "permission", "watched_set_full", "other"}) {
    auto it = h.attach_failures.find(reason);
    out.sample("loopprof_agent_attach_failures_total", {{"reason", reason}},
               static_cast<double>(it == h.attach_failures.end() ? 0 : it->second));
  }
  out.family("loopprof_agent_cpu_seconds_total", MetricType::counter,
             "CPU time the agent used (user + system).");
  out.sample("loopprof_agent_cpu_seconds_total", {}, h.cpu_seconds);
  out.family("loopprof_agent_resident_memory_bytes", MetricType::gauge,
             "The agent's resident set size.");
  out.sample("loopprof_agent_resident_memory_bytes", {}, h.resident_bytes);
  if (h.pyroscope) pyroscope_families(out, *h.pyroscope);
}

}  // namespace

std::string render_metrics(const Processes& processes, const AgentHealth& health) {
  Exposition out;
  loop_families(out, processes);
  stall_families(out, processes);
  process_families(out, processes);
  health_families(out, health);
  return out.text();
}

double self_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double self_resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

}  // namespace loopprof::agent
