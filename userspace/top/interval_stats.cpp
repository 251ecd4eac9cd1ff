#include "top/interval_stats.hpp"

#include <algorithm>
#include <cstddef>
#include <set>

#include "latency/histogram.hpp"
#include "output/sink.hpp"

namespace loopprof::top {

namespace {

uint64_t minus(uint64_t a, uint64_t b) {
  return a > b ? a - b : 0;
}

// The frames from the root down to the culprit (as stall_culprit() picks
// it): CPU samples that differ only below the culprit add up in one row.
Frames through_culprit(const Frames& frames) {
  auto deepest = [&](auto wanted) {
    for (size_t i = frames.size(); i-- > 0;)
      if (wanted(frames[i])) return i + 1;
    return size_t{0};
  };
  size_t end = deepest([](const Frame& f) { return f.kind == FrameKind::python; });
  if (!end)
    end = deepest([](const Frame& f) { return f.kind == FrameKind::native && !f.name.empty(); });
  if (!end) end = frames.size();
  return Frames(frames.begin(), frames.begin() + static_cast<std::ptrdiff_t>(end));
}

}  // namespace

TopFrame IntervalAggregator::next(uint64_t now_ns, const std::vector<LoopSnapshot>& loops,
                                  const std::vector<Stall>& stalls) {
  TopFrame frame{.now_ns = now_ns, .interval_ns = minus(now_ns, last_ns_), .window_ns = window_ns_};
  for (const Stall& stall : stalls) remember(stall, now_ns);
  std::erase_if(recent_,
                [&](const auto& entry) { return now_ns - entry.second.seen_ns >= window_ns_; });
  // The rate covers the part of the window loopprof has watched.
  uint64_t covered = std::min(window_ns_, minus(now_ns, start_ns_));
  covered = std::max<uint64_t>({covered, frame.interval_ns, 1});

  std::map<ThreadKey, LoopSnapshot> current;
  for (const LoopSnapshot& loop : loops) {
    std::vector<const Stall*> ended;
    std::set<uint64_t> seqs;
    for (const Stall& stall : stalls)
      if (stall.pid == loop.pid && stall.tid == loop.tid) {
        seqs.insert(stall.seq);
        if (!stall.ongoing) ended.push_back(&stall);
      }
    LoopRow row = row_for(loop, ended);
    row.stalls = seqs.size();
    uint64_t in_window = 0;
    for (const auto& [key, brief] : recent_) {
      if (brief.pid != loop.pid || brief.tid != loop.tid) continue;
      ++in_window;
      if (!row.has_worst || brief.duration_ns > row.worst.duration_ns) {
        row.worst = brief;
        row.has_worst = true;
      }
    }
    row.stalls_per_minute = static_cast<double>(in_window) * 60e9 / static_cast<double>(covered);
    frame.loops.push_back(std::move(row));
    current[{loop.pid, loop.tid}] = loop;
  }
  previous_ = std::move(current);
  std::sort(frame.loops.begin(), frame.loops.end(), [](const LoopRow& a, const LoopRow& b) {
    return std::pair(a.pid, a.tid) < std::pair(b.pid, b.tid);
  });

  if (!stalls.empty()) {
    last_stacks_ = heaviest_stacks(stalls);
    last_stacks_ns_ = now_ns;
  }
  frame.stacks = last_stacks_;
  frame.stacks_ns = last_stacks_ns_;
  last_ns_ = now_ns;
  return frame;
}

LoopRow IntervalAggregator::row_for(const LoopSnapshot& now,
                                    const std::vector<const Stall*>& ended) const {
  // Counters start at zero: a thread seen for the first time, or whose
  // counters went back (a new thread with a reused tid), diffs against zero.
  static const LoopSnapshot kZero{};
  const LoopSnapshot* base = &kZero;
  if (auto it = previous_.find({now.pid, now.tid});
      it != previous_.end() && it->second.iterations <= now.iterations)
    base = &it->second;

  LoopRow row{.pid = now.pid,
              .tid = now.tid,
              .thread = now.thread,
              .iterations = minus(now.iterations, base->iterations),
              .open_busy_ns = now.open_busy_ns};
  Log2Histogram lag;
  lag.counts.resize(now.busy_hist.size());
  size_t highest = 0;
  for (size_t i = 0; i < now.busy_hist.size(); ++i) {
    uint64_t before = i < base->busy_hist.size() ? base->busy_hist[i] : 0;
    lag.counts[i] = minus(now.busy_hist[i], before);
    if (lag.counts[i]) highest = i;
  }
  row.lag_p50_ns = lag.quantile_ns(0.5);
  row.lag_p99_ns = lag.quantile_ns(0.99);
  if (lag.total() > 0) {
    if (now.max_busy_ns > base->max_busy_ns) {
      row.lag_max_ns = now.max_busy_ns;  // a new record: exact
    } else if (!ended.empty()) {
      // Every busy period at or above the threshold is a stall: the longest
      // stall is the longest busy period.
      for (const Stall* stall : ended)
        row.lag_max_ns = std::max(row.lag_max_ns, stall->duration_ns);
    } else {
      row.lag_max_ns = Log2Histogram::bucket_upper_ns(highest);
      if (base->max_busy_ns) row.lag_max_ns = std::min(row.lag_max_ns, base->max_busy_ns);
      row.lag_max_exact = false;
    }
  }
  if (now.open_busy_ns > row.lag_max_ns) {
    row.lag_max_ns = now.open_busy_ns;
    row.lag_max_exact = true;
  }
  uint64_t busy = minus(now.busy_ns, base->busy_ns);
  uint64_t idle = minus(now.idle_ns, base->idle_ns);
  row.utilization = busy + idle ? static_cast<double>(busy) / static_cast<double>(busy + idle) : 0;
  return row;
}

void IntervalAggregator::remember(const Stall& stall, uint64_t now_ns) {
  StallBrief& brief = recent_[{stall.pid, stall.tid, stall.seq}];
  // A final report replaces the ongoing ones of the same busy period; an
  // ongoing one never replaces a final one.
  if (brief.seen_ns && !brief.ongoing && stall.ongoing) return;
  brief = StallBrief{.pid = stall.pid,
                     .tid = stall.tid,
                     .seq = stall.seq,
                     .duration_ns = stall.duration_ns,
                     .ongoing = stall.ongoing,
                     .culprit = stall_culprit(stall),
                     .cause = main_cause(stall.breakdown),
                     .seen_ns = now_ns};
}

std::vector<StackRow> IntervalAggregator::heaviest_stacks(const std::vector<Stall>& stalls) const {
  std::map<std::tuple<pid_t, pid_t, CpuState, Frames>, StackRow> merged;
  for (const Stall& stall : stalls)
    for (const WeightedStack& stack : stall.stacks) {
      Frames frames = through_culprit(stack.frames);
      StackRow& row = merged[{stall.pid, stall.tid, stack.state, frames}];
      if (row.weight_ns == 0) {
        row = StackRow{.pid = stall.pid,
                       .tid = stall.tid,
                       .thread = stall.thread,
                       .state = stack.state,
                       .frames = std::move(frames)};
      }
      row.weight_ns += stack.weight_us * 1000;
    }
  std::vector<StackRow> rows;
  for (auto& [key, row] : merged)
    if (row.weight_ns > 0) rows.push_back(std::move(row));
  std::stable_sort(rows.begin(), rows.end(),
                   [](const StackRow& a, const StackRow& b) { return a.weight_ns > b.weight_ns; });
  if (rows.size() > kStacksKept) rows.resize(kStacksKept);
  return rows;
}

}  // namespace loopprof::top
