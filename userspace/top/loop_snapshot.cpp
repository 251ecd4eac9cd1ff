#include "top/loop_snapshot.hpp"

namespace loopprof::top {

LoopSnapshot loop_snapshot(pid_t pid, pid_t tid, std::string thread, const lp_thread& state,
                           uint64_t now_ns, uint64_t attach_ns) {
  LoopSnapshot s{.pid = pid,
                 .tid = tid,
                 .thread = std::move(thread),
                 .iterations = state.iterations,
                 .busy_ns = state.busy_total_ns,
                 .idle_ns = state.idle_total_ns,
                 .max_busy_ns = state.max_busy_ns};
  s.busy_hist.assign(std::begin(state.busy_hist), std::end(state.busy_hist));
  __u64 elapsed = 0, on_cpu = 0, off_cpu = 0;
  if (lp_busy_so_far(&state, now_ns, &elapsed, &on_cpu, &off_cpu)) {
    s.open_busy_ns = elapsed;
    s.busy_ns += elapsed;
  } else if (state.in_wait == LP_IN_LOOP_WAIT) {
    uint64_t since = state.wait_start_ns ? state.wait_start_ns : attach_ns;
    if (now_ns > since) s.idle_ns += now_ns - since;
  }
  return s;
}

bool shows_as_loop(const lp_thread& state, uint64_t now_ns, uint64_t threshold_ns) {
  if (state.loop_family == LP_WAIT_NONE) return false;
  if (state.iterations > 1 || state.stalls > 0 || state.in_wait == LP_IN_LOOP_WAIT) return true;
  __u64 elapsed = 0, on_cpu = 0, off_cpu = 0;
  return lp_busy_so_far(&state, now_ns, &elapsed, &on_cpu, &off_cpu) && elapsed >= threshold_ns;
}

}  // namespace loopprof::top
