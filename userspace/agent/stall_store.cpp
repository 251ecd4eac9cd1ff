#include "agent/stall_store.hpp"

namespace loopprof::agent {

void StallStore::add(const Stall& stall, const ProcessLabels& labels,
                     std::chrono::steady_clock::time_point now) {
  stalls_.push_back(StoredStall{now, labels, stall});
  while (!stalls_.empty() && (stalls_.size() > max_ || now - stalls_.front().at > keep_))
    stalls_.pop_front();
}

std::vector<StoredStall> StallStore::since(std::chrono::steady_clock::time_point now,
                                           std::chrono::seconds window) const {
  std::vector<StoredStall> out;
  for (const StoredStall& s : stalls_)
    if (now - s.at <= window) out.push_back(s);
  return out;
}

std::vector<StoredStall> StallStore::between(std::chrono::steady_clock::time_point from,
                                             std::chrono::steady_clock::time_point until) const {
  std::vector<StoredStall> out;
  for (const StoredStall& s : stalls_)
    if (s.at > from && s.at <= until) out.push_back(s);
  return out;
}

}  // namespace loopprof::agent
