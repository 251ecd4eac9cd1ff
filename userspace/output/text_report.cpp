#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <string_view>

#include "output/sink.hpp"

namespace loopprof {

namespace {

uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

double ms(uint64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

// "  in Task "billing-sync" (sync_accounts, awaited by main)", or "".
std::string task_suffix(const Stall& stall) {
  return stall.task ? "  in " + task_text(*stall.task) : std::string();
}

// A name column as wide as the widest of the first `rows` names (at least its
// header, at most 64: a longer name pushes its own line's numbers along).
template <typename Length>
size_t column_width(std::string_view header, size_t rows, Length length) {
  size_t width = header.size();
  for (size_t i = 0; i < rows; ++i) width = std::max(width, length(i));
  return std::min<size_t>(width, 64);
}

// A log2 bucket's upper bound: "<2.0".
std::string bound(uint64_t ns) {
  return ns ? fmt::format("<{:g}", ns / 1e6) : "-";
}

class TextReport final : public OutputSink {
 public:
  TextReport(FILE* stream, bool verbose)
      : out_(stream),
        verbose_(verbose),
        realtime_minus_monotonic_(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC)) {}

  void stall(const Stall& stall) override {
    std::string culprit = stall_culprit(stall);
    fmt::print(out_,
               "{}  {}  tid {} ({})  {}{:.1f} ms{}  on-cpu {:.1f} ms  off-cpu {:.1f} ms{}{}{}\n",
               wall_clock(stall.start_ns), stall.ongoing ? "ONGOING stall" : "stall", stall.tid,
               stall.thread, stall.began_before_attach ? "at least " : "", ms(stall.duration_ns),
               stall.ongoing ? " so far" : "", ms(stall.on_cpu_ns), ms(stall.off_cpu_ns),
               culprit.empty() ? "" : "  in ", culprit, task_suffix(stall));
    fmt::print(out_, "    why: {}{}{}{}{}\n", breakdown_text(stall.breakdown),
               stall.waited_on.empty() ? "" : ": ", stall.waited_on,
               stall.wakers.empty() ? "" : "; ",
               stall.wakers.empty() ? "" : waker_text(stall.wakers.front()));
    if (!stall.deadlock.empty()) fmt::print(out_, "    DEADLOCK: {}\n", stall.deadlock);
    if (stall.began_before_attach)
      fmt::print(out_, "    (began before loopprof attached: its duration is a lower bound)\n");
    if (stall.thread_exited) fmt::print(out_, "    (the thread exited during this stall)\n");
    if (stall.at_exit) fmt::print(out_, "    (still blocked when loopprof stopped)\n");
    if (verbose_) print_stacks(stall, 3);
    fflush(out_);
  }

  Status finish(const Summary& summary) override {
    for (const Stall& stall : summary.ongoing_at_exit) this->stall(stall);
    fmt::print(out_,
               "\n--- loopprof summary: PID {} ({}), {:.1f} s, threshold {:.0f} ms ({}) ---\n",
               summary.pid, summary.command, summary.wall_seconds, ms(summary.threshold_ns),
               summary.stop_reason);
    if (summary.stalls == 0) {
      fmt::print(out_, "no stalls at or above the threshold\n");
    } else {
      uint64_t worst = summary.worst.empty() ? 0 : summary.worst.front().duration_ns;
      fmt::print(out_, "stalls: {}, blocked {:.1f} ms ({:.1f}% of the time), worst {:.1f} ms\n",
                 summary.stalls, ms(summary.blocked_ns),
                 summary.wall_seconds > 0 ? ms(summary.blocked_ns) / 10 / summary.wall_seconds : 0,
                 ms(worst));
    }
    if (!summary.worst.empty()) {
      fmt::print(out_, "worst stalls:\n");
      for (const Stall& stall : summary.worst) {
        std::string culprit = stall_culprit(stall);
        fmt::print(out_, "  {:>9.1f} ms  tid {} ({})  at {}{}{}{}\n", ms(stall.duration_ns),
                   stall.tid, stall.thread, wall_clock(stall.start_ns),
                   culprit.empty() ? "" : "  in ", culprit, task_suffix(stall));
        fmt::print(out_, "               why: {}{}{}{}{}\n", breakdown_text(stall.breakdown),
                   stall.waited_on.empty() ? "" : ": ", stall.waited_on,
                   stall.wakers.empty() ? "" : "; ",
                   stall.wakers.empty() ? "" : waker_text(stall.wakers.front()));
        if (!stall.deadlock.empty())
          fmt::print(out_, "               DEADLOCK: {}\n", stall.deadlock);
        if (stall.began_before_attach)
          fmt::print(out_, "               (began before loopprof attached: at least this long)\n");
      }
    }
    if (!summary.loops.empty()) {
      fmt::print(out_,
                 "loop threads (busy = one iteration between loop waits; p50/p99 are log2 "
                 "bucket bounds):\n  {:<8} {:<16} {:>10} {:>6} {:>6} {:>9} {:>9} {:>9} {:>11}\n",
                 "TID", "THREAD", "ITERATIONS", "UTIL", "STALLS", "P50 ms", "P99 ms", "MAX ms",
                 "BLOCKED ms");
      for (const auto& loop : summary.loops)
        fmt::print(out_, "  {:<8} {:<16} {:>10} {:>5.1f}% {:>6} {:>9} {:>9} {:>9.1f} {:>11.1f}\n",
                   loop.tid, loop.thread, loop.iterations, loop.utilization() * 100, loop.stalls,
                   bound(loop.busy_hist.quantile_ns(0.5)), bound(loop.busy_hist.quantile_ns(0.99)),
                   ms(loop.busy_max_ns), ms(loop.blocked_ns));
      if (summary.loops_not_shown > 0)
        fmt::print(out_, "  ... {} more loop threads not shown (less blocked)\n",
                   summary.loops_not_shown);
    }
    if (!summary.callbacks.empty()) {
      size_t shown = std::min<size_t>(summary.callbacks.size(), kTableLines);
      size_t w = column_width("CALLBACK", shown,
                              [&](size_t i) { return summary.callbacks[i].callback.size(); });
      fmt::print(out_, "callbacks ({}):\n  {:<{}} {:>7} {:>10} {:>9} {:>9} {:>9}\n",
                 summary.callback_method, "CALLBACK", w, "STEPS", "TOTAL ms", "P50 ms", "P99 ms",
                 "MAX ms");
      for (size_t i = 0; i < shown; ++i) {
        const CallbackRow& c = summary.callbacks[i];
        fmt::print(out_, "  {:<{}} {:>7} {:>10.1f} {:>9.1f} {:>9.1f} {:>9.1f}\n", c.callback, w,
                   c.count, ms(c.total_ns), ms(c.p50_ns), ms(c.p99_ns), ms(c.max_ns));
      }
      if (summary.callbacks.size() > shown)
        fmt::print(out_, "  ... {} more callbacks not shown (less busy)\n",
                   summary.callbacks.size() - shown);
    }
    if (!summary.tasks.empty()) {
      size_t shown = std::min<size_t>(summary.tasks.size(), kTableLines);
      size_t nw = column_width("TASK", shown, [&](size_t i) {
        return summary.tasks[i].name.empty() ? 1 : summary.tasks[i].name.size();
      });
      size_t cw = column_width("COROUTINE", shown,
                               [&](size_t i) { return summary.tasks[i].coroutine.size(); });
      fmt::print(out_, "tasks (same method):\n  {:<{}} {:<{}} {:>7} {:>10} {:>10} {:>6}\n", "TASK",
                 nw, "COROUTINE", cw, "STEPS", "BUSY ms", "WORST ms", "STALLS");
      for (size_t i = 0; i < shown; ++i) {
        const TaskRow& t = summary.tasks[i];
        fmt::print(out_, "  {:<{}} {:<{}} {:>7} {:>10.1f} {:>10.1f} {:>6}\n",
                   t.name.empty() ? "?" : t.name, nw, t.coroutine, cw, t.steps, ms(t.busy_ns),
                   ms(t.worst_ns), t.stalls);
      }
      if (summary.tasks.size() > shown)
        fmt::print(out_, "  ... {} more tasks not shown (less busy)\n",
                   summary.tasks.size() - shown);
    }
    if (!summary.threads.empty()) {
      fmt::print(out_, "threads (ms):\n  {:<8} {:<16} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
                 "TID", "THREAD", "RUNNING", "RUNQUEUE", "FUTEX", "SLEEP", "IO", "OTHER",
                 "LOOP-IDLE");
      for (size_t i = 0; i < summary.threads.size() && i < kThreadLines; ++i) {
        const ThreadTimes& t = summary.threads[i];
        fmt::print(
            out_, "  {:<8} {:<16} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f}\n",
            t.tid, t.thread, ms(t.running_ns), ms(t.runqueue_ns), ms(t.futex_ns), ms(t.sleep_ns),
            ms(t.io_ns), ms(t.other_ns), ms(t.idle_ns));
      }
      print_threads_not_shown(summary, kThreadLines);
    }
    for (const auto& [map, count] : summary.map_full)
      if (count > 0)
        fmt::print(out_,
                   "lost {} updates of per-thread map {}: the target had more than {} live "
                   "threads at once; those threads' times and loops are missing\n",
                   count, map, summary.max_threads);
    if (summary.missed_switch_ins > 0)
      fmt::print(out_,
                 "{} switch-ins of busy loop threads were not seen by the scheduler probe "
                 "(heavy load); their on/off-CPU split comes from the scheduler's run-time "
                 "counter instead\n",
                 summary.missed_switch_ins);
    for (const auto& [kind, count] : summary.dropped)
      if (count > 0)
        fmt::print(out_,
                   "dropped {} {} records: results are incomplete; consider increasing "
                   "--ringbuf-size\n",
                   count, kind);
    fflush(out_);
    return ok_status();
  }

 private:
  static constexpr size_t kThreadLines = 10;
  static constexpr size_t kTableLines = 10;  // callbacks, tasks

  // "... N more threads not shown": the rows past `shown`, added up.
  void print_threads_not_shown(const Summary& summary, size_t shown) {
    size_t count = summary.threads_not_shown;
    ThreadTimes t = summary.threads_not_shown_times;
    for (size_t i = shown; i < summary.threads.size(); ++i, ++count)
      add_times(t, summary.threads[i]);
    if (count == 0) return;
    fmt::print(out_,
               "  {:<25} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f}\n"
               "  ({} threads not shown{}; --events has the top {})\n",
               fmt::format("... {} more threads", count), ms(t.running_ns), ms(t.runqueue_ns),
               ms(t.futex_ns), ms(t.sleep_ns), ms(t.io_ns), ms(t.other_ns), ms(t.idle_ns), count,
               summary.threads_exited
                   ? fmt::format("; {} threads exited while traced", summary.threads_exited)
                   : "",
               summary.threads.size());
  }

  static void add_times(ThreadTimes& a, const ThreadTimes& b) {
    a.running_ns += b.running_ns;
    a.runqueue_ns += b.runqueue_ns;
    a.futex_ns += b.futex_ns;
    a.sleep_ns += b.sleep_ns;
    a.io_ns += b.io_ns;
    a.other_ns += b.other_ns;
    a.idle_ns += b.idle_ns;
  }

  std::string wall_clock(uint64_t monotonic_ns) const {
    uint64_t ns = monotonic_ns + realtime_minus_monotonic_;
    time_t seconds = static_cast<time_t>(ns / 1000000000ull);
    tm local{};
    localtime_r(&seconds, &local);
    return fmt::format("{:02}:{:02}:{:02}.{:03}", local.tm_hour, local.tm_min, local.tm_sec,
                       (ns / 1000000ull) % 1000);
  }

  void print_stacks(const Stall& stall, size_t most) {
    for (size_t i = 0; i < stall.stacks.size() && i < most; ++i) {
      const WeightedStack& stack = stall.stacks[i];
      fmt::print(out_, "    {:.1f} ms {}:\n", stack.weight_us / 1000.0,
                 cpu_state_name(stack.state));
      for (auto it = stack.frames.rbegin(); it != stack.frames.rend(); ++it)
        fmt::print(out_, "        {}\n", frame_label(*it));
    }
  }

  FILE* out_;
  bool verbose_;
  uint64_t realtime_minus_monotonic_;
};

}  // namespace

std::unique_ptr<OutputSink> make_text_report(FILE* stream, bool verbose) {
  return std::make_unique<TextReport>(stream, verbose);
}

}  // namespace loopprof
