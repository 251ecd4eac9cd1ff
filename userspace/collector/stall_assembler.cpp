#include "collector/stall_assembler.hpp"

#include <algorithm>
#include <cmath>

namespace loopprof {

namespace {

Frames marker(const char* name) {
  return Frames{Frame{.kind = FrameKind::truncated, .name = name}};
}

struct Share {
  const Frames* frames;
  CpuState state;
  double exact_us;
  uint64_t weight_us = 0;
};

// Integer microseconds per stack that add up exactly to total_us (largest
// remainder method), so folded weights sum to the stall time.
void apportion(std::vector<Share>& shares, uint64_t total_us) {
  uint64_t given = 0;
  for (auto& s : shares) {
    s.weight_us = static_cast<uint64_t>(std::floor(s.exact_us));
    given += s.weight_us;
  }
  std::vector<Share*> by_remainder;
  for (auto& s : shares) by_remainder.push_back(&s);
  std::stable_sort(by_remainder.begin(), by_remainder.end(), [](const Share* a, const Share* b) {
    return a->exact_us - std::floor(a->exact_us) > b->exact_us - std::floor(b->exact_us);
  });
  for (size_t i = 0; given < total_us && !by_remainder.empty(); i = (i + 1) % by_remainder.size()) {
    by_remainder[i]->weight_us++;
    given++;
  }
}

}  // namespace

Frames unsampled_on_cpu_frames() {
  return marker("[on-cpu, no sample]");
}
Frames uncaptured_off_cpu_frames() {
  return marker("[off-cpu, no stack]");
}

StallAssembler::BusyPeriod& StallAssembler::period(pid_t tid, uint64_t seq) {
  BusyPeriod& p = threads_[tid];
  if (p.seq != seq) p = BusyPeriod{.seq = seq};
  return p;
}

void StallAssembler::on_sample(pid_t tid, uint64_t seq, Frames frames) {
  period(tid, seq).samples[std::move(frames)]++;
}

void StallAssembler::on_switch_out(pid_t tid, uint64_t seq, uint64_t ts_ns, Frames frames) {
  period(tid, seq).open_off_cpu = OpenOffCpu{std::move(frames), ts_ns};
}

void StallAssembler::on_resume(pid_t tid, uint64_t seq, uint64_t off_ns) {
  BusyPeriod& p = period(tid, seq);
  if (!p.open_off_cpu) return;  // its switch-out was lost: counted as uncaptured
  p.off_cpu_ns[std::move(p.open_off_cpu->frames)] += off_ns;
  p.open_off_cpu.reset();
}

std::vector<WeightedStack> StallAssembler::weigh(const BusyPeriod& period, const StallTimes& times,
                                                 uint64_t open_off_ns) {
  const Frames unsampled = unsampled_on_cpu_frames();
  const Frames uncaptured = uncaptured_off_cpu_frames();
  std::vector<Share> shares;

  uint64_t sample_count = 0;
  for (const auto& [frames, count] : period.samples) sample_count += count;
  if (sample_count > 0) {
    for (const auto& [frames, count] : period.samples)
      shares.push_back({&frames, CpuState::on_cpu,
                        times.on_cpu_ns / 1000.0 * static_cast<double>(count) / sample_count});
  } else if (times.on_cpu_ns > 0) {
    shares.push_back({&unsampled, CpuState::on_cpu, times.on_cpu_ns / 1000.0});
  }

  uint64_t captured_off_ns = 0;
  for (const auto& [frames, ns] : period.off_cpu_ns) {
    shares.push_back({&frames, CpuState::off_cpu, ns / 1000.0});
    captured_off_ns += ns;
  }
  if (period.open_off_cpu && open_off_ns > 0) {
    shares.push_back({&period.open_off_cpu->frames, CpuState::off_cpu, open_off_ns / 1000.0});
    captured_off_ns += open_off_ns;
  }
  if (times.off_cpu_ns > captured_off_ns)
    shares.push_back(
        {&uncaptured, CpuState::off_cpu, (times.off_cpu_ns - captured_off_ns) / 1000.0});

  apportion(shares, times.duration_ns / 1000);

  // One entry per (stack, state): the same stack may be sampled and switched out.
  std::map<std::pair<Frames, CpuState>, uint64_t> merged;
  for (const auto& s : shares)
    if (s.weight_us > 0) merged[{*s.frames, s.state}] += s.weight_us;
  std::vector<WeightedStack> stacks;
  for (auto& [key, weight] : merged) stacks.push_back({key.first, weight, key.second});
  std::stable_sort(stacks.begin(), stacks.end(),
                   [](const auto& a, const auto& b) { return a.weight_us > b.weight_us; });
  return stacks;
}

Stall StallAssembler::finish(pid_t tid, const StallTimes& times) {
  Stall stall{.tid = tid,
              .seq = times.seq,
              .start_ns = times.start_ns,
              .duration_ns = times.duration_ns,
              .on_cpu_ns = times.on_cpu_ns,
              .off_cpu_ns = times.off_cpu_ns};
  auto it = threads_.find(tid);
  if (it != threads_.end() && it->second.seq == times.seq) {
    // The closing resume was seen, so no off-CPU interval is still open.
    BusyPeriod& p = it->second;
    p.open_off_cpu.reset();
    stall.stacks = weigh(p, times, 0);
    threads_.erase(it);
  } else {
    stall.stacks = weigh(BusyPeriod{}, times, 0);
  }
  return stall;
}

Stall StallAssembler::ongoing(pid_t tid, const StallTimes& times, uint64_t now_ns) const {
  Stall stall{.tid = tid,
              .seq = times.seq,
              .start_ns = times.start_ns,
              .duration_ns = times.duration_ns,
              .on_cpu_ns = times.on_cpu_ns,
              .off_cpu_ns = times.off_cpu_ns,
              .ongoing = true};
  auto it = threads_.find(tid);
  if (it != threads_.end() && it->second.seq == times.seq) {
    const BusyPeriod& p = it->second;
    uint64_t open_off_ns = 0;
    if (p.open_off_cpu && now_ns > p.open_off_cpu->since_ns)
      open_off_ns = now_ns - p.open_off_cpu->since_ns;
    stall.stacks = weigh(p, times, open_off_ns);
  } else {
    stall.stacks = weigh(BusyPeriod{}, times, 0);
  }
  return stall;
}

}  // namespace loopprof
