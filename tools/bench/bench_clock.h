/* Timing helpers shared by the benchmark programs. */
#ifndef LOOPPROF_BENCH_CLOCK_H
#define LOOPPROF_BENCH_CLOCK_H

#include <sys/resource.h>
#include <time.h>

/* Involuntary context switches of the calling thread so far: how often
 * something preempted it (a profiler's own wakeups show up here). */
static inline long preemptions(void) {
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  return ru.ru_nivcsw;
}

static inline double clock_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#endif
