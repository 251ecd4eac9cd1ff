#include "collector/pending_samples.hpp"

#include <cstring>
#include <utility>

namespace loopprof {

bool PendingSamples::keep(const lp_capture_record& record, std::span<const uint8_t> deeper) {
  Period& period = threads_[static_cast<pid_t>(record.tid)];
  if (period.seq != record.seq) {
    recycle(period.samples);
    period.seq = record.seq;
  }
  if (period.samples.size() >= kMaxPerPeriod) return false;
  Sample copy;
  if (!spare_.empty()) {
    copy = std::move(spare_.back());
    spare_.pop_back();
  } else {
    copy.record = std::make_unique<lp_capture_record>();
  }
  std::memcpy(copy.record.get(), &record, sizeof(record));
  copy.deeper.assign(deeper.begin(), deeper.end());
  period.samples.push_back(std::move(copy));
  return true;
}

std::vector<PendingSamples::Sample> PendingSamples::take(pid_t tid, uint64_t seq) {
  auto it = threads_.find(tid);
  if (it == threads_.end() || it->second.seq != seq) return {};
  std::vector<Sample> out = std::move(it->second.samples);
  threads_.erase(it);
  return out;
}

void PendingSamples::drop(pid_t tid, uint64_t seq) {
  auto it = threads_.find(tid);
  if (it == threads_.end() || it->second.seq != seq) return;
  recycle(it->second.samples);
  threads_.erase(it);
}

void PendingSamples::forget(pid_t tid) {
  auto it = threads_.find(tid);
  if (it == threads_.end()) return;
  recycle(it->second.samples);
  threads_.erase(it);
}

size_t PendingSamples::kept() const {
  size_t n = 0;
  for (const auto& [tid, period] : threads_) n += period.samples.size();
  return n;
}

void PendingSamples::recycle(std::vector<Sample>& samples) {
  for (Sample& s : samples)
    if (spare_.size() < kMaxSpare) spare_.push_back(std::move(s));
  samples.clear();
}

}  // namespace loopprof
