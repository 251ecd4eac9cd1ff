#include "target/lock_graph.hpp"

#include <algorithm>
#include <set>

namespace loopprof {

std::vector<std::vector<pid_t>> find_deadlocks(const std::map<pid_t, pid_t>& waits_on) {
  std::vector<std::vector<pid_t>> cycles;
  std::set<pid_t> seen_in_cycle;
  for (const auto& [start, first_holder] : waits_on) {
    if (seen_in_cycle.count(start)) continue;
    // Follow the chain from `start`; it ends (no known holder), or loops.
    std::vector<pid_t> path{start};
    pid_t at = first_holder;
    while (path.size() <= waits_on.size()) {
      auto in_path = std::find(path.begin(), path.end(), at);
      if (in_path != path.end()) {
        std::vector<pid_t> cycle(in_path, path.end());
        if (!seen_in_cycle.count(cycle.front())) {
          std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
          seen_in_cycle.insert(cycle.begin(), cycle.end());
          cycles.push_back(std::move(cycle));
        }
        break;
      }
      auto next = waits_on.find(at);
      if (next == waits_on.end()) break;
      path.push_back(at);
      at = next->second;
    }
  }
  return cycles;
}

}  // namespace loopprof
