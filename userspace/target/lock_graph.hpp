// Who waits on whom: threads blocked on a lock whose holder is known form a
// wait-for graph; a cycle in it is a deadlock. Pure logic (unit tested).
#pragma once

#include <sys/types.h>

#include <map>
#include <vector>

namespace loopprof {

// waits_on[tid] = the thread holding the lock `tid` waits for.
// Returns every cycle once, each starting at its smallest TID, in wait order
// (cycle[0] waits on cycle[1], ..., the last on cycle[0]).
std::vector<std::vector<pid_t>> find_deadlocks(const std::map<pid_t, pid_t>& waits_on);

}  // namespace loopprof
