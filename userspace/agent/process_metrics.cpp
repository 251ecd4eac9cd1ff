#include "agent/process_metrics.hpp"

#include <cstring>
#include <string>

namespace loopprof::agent {

namespace {

template <size_t N>
void add_all(std::array<uint64_t, N>& to, const std::array<uint64_t, N>& from) {
  for (size_t i = 0; i < N; ++i) to[i] += from[i];
}

size_t cause_index(const char* cause) {
  for (size_t i = 0; i < kStallCauses.size(); ++i)
    if (std::strcmp(kStallCauses[i], cause) == 0) return i;
  return kStallCauses.size() - 1;  // "other"
}

}  // namespace

void LoopTotals::add(const LoopTotals& other) {
  iterations += other.iterations;
  busy_ns += other.busy_ns;
  idle_ns += other.idle_ns;
  add_all(busy_hist, other.busy_hist);
}

void TaskTotals::add(const TaskTotals& other) {
  runq_ns += other.runq_ns;
  futex_ns += other.futex_ns;
  add_all(runq_hist, other.runq_hist);
  add_all(futex_hist, other.futex_hist);
}

void TaskTotals::subtract(const TaskTotals& other) {
  runq_ns -= other.runq_ns;
  futex_ns -= other.futex_ns;
  for (size_t i = 0; i < runq_hist.size(); ++i) runq_hist[i] -= other.runq_hist[i];
  for (size_t i = 0; i < futex_hist.size(); ++i) futex_hist[i] -= other.futex_hist[i];
}

LoopTotals loop_totals_of(const lp_thread& state) {
  LoopTotals t;
  t.iterations = state.iterations;
  t.busy_ns = state.busy_total_ns;
  t.idle_ns = state.idle_total_ns;
  for (size_t i = 0; i < t.busy_hist.size(); ++i) t.busy_hist[i] = state.busy_hist[i];
  return t;
}

void LoopTotals::subtract(const LoopTotals& other) {
  iterations -= other.iterations;
  busy_ns -= other.busy_ns;
  idle_ns -= other.idle_ns;
  for (size_t i = 0; i < busy_hist.size(); ++i) busy_hist[i] -= other.busy_hist[i];
}

TaskTotals task_totals_of(const lp_task_stats& stats) {
  TaskTotals t;
  t.runq_ns = stats.off_ns[LP_OFF_RUNQ];
  t.futex_ns = stats.off_ns[LP_OFF_FUTEX];
  for (size_t i = 0; i < LP_HIST_BUCKETS; ++i) {
    t.runq_hist[i] = stats.hist[LP_HIST_RUNQ][i];
    t.futex_hist[i] = stats.hist[LP_HIST_FUTEX][i];
  }
  return t;
}

void ProcessMetrics::on_stall(const Stall& stall) {
  StallTotals& totals = stalls_[stall.thread];
  size_t cause = cause_index(main_cause(stall.breakdown));
  totals.count[cause]++;
  totals.ns[cause] += stall.duration_ns;
  gil_wait_ns_ += stall.breakdown.gil_ns;
}

void ProcessMetrics::on_loop_exit(pid_t tid, const std::string& name, const lp_thread& state) {
  if (auto gone = vanished_loops_.find(tid); gone != vanished_loops_.end()) {
    retired_loops_[gone->second.name].subtract(gone->second.totals);  // replaced by the final
    retired_loops_[gone->second.name].add(loop_totals_of(state));
    vanished_loops_.erase(gone);
    return;
  }
  auto it = live_loops_.find(tid);
  retired_loops_[it != live_loops_.end() ? it->second.name : name].add(loop_totals_of(state));
  if (it != live_loops_.end()) live_loops_.erase(it);
}

void ProcessMetrics::update_tasks(const std::vector<std::pair<pid_t, lp_task_stats>>& tasks) {
  std::unordered_map<pid_t, TaskTotals> seen;
  for (const auto& [tid, stats] : tasks) seen[tid] = task_totals_of(stats);
  vanished_tasks_.clear();
  for (auto& [tid, totals] : live_tasks_)
    if (!seen.count(tid)) {
      retired_tasks_.add(totals);
      vanished_tasks_[tid] = totals;
    }
  live_tasks_ = std::move(seen);
}

void ProcessMetrics::on_thread_exit(pid_t tid, const lp_task_stats& final_stats) {
  if (auto gone = vanished_tasks_.find(tid); gone != vanished_tasks_.end()) {
    retired_tasks_.subtract(gone->second);  // replaced by the final values
    vanished_tasks_.erase(gone);
  } else {
    live_tasks_.erase(tid);
  }
  retired_tasks_.add(task_totals_of(final_stats));
}

std::map<std::string, LoopTotals> ProcessMetrics::loops() const {
  std::map<std::string, LoopTotals> out = retired_loops_;
  for (const auto& [tid, loop] : live_loops_) out[loop.name].add(loop.totals);
  return out;
}

TaskTotals ProcessMetrics::tasks() const {
  TaskTotals out = retired_tasks_;
  for (const auto& [tid, totals] : live_tasks_) out.add(totals);
  return out;
}

Labels ProcessMetrics::base_labels() const {
  return {{"pid", std::to_string(labels_.pid)},
          {"comm", labels_.comm},
          {"service", labels_.service},
          {"runtime", labels_.runtime.empty() ? "native" : labels_.runtime}};
}

}  // namespace loopprof::agent
