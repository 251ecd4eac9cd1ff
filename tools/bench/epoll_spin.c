/* epoll_spin: the cheapest possible event loop, to price a profiler's
 * per-iteration cost. It calls epoll_wait(epfd, ..., timeout) back to back on
 * an epoll fd with one idle pipe registered, and prints ns per iteration.
 *
 *   epoll_spin [-n ITERATIONS] [-t TIMEOUT_MS] [-w]
 *   epoll_spin -i
 *
 * -n  iterations (default 1000000); each is one epoll_wait syscall.
 * -t  epoll_wait timeout in ms (default 0: returns at once, nothing is ready).
 * -w  print "ready PID" on stdout, then wait for a line on stdin before the
 *     timed loop, so a profiler can attach first.
 * -i  idle: a sleeping loop (epoll_wait with a 1 s timeout, forever); used as
 *     the profiler's target when measuring the cost to other processes.
 *
 * Output (stdout, last line):
 *   "ns_per_iter=<wall> cpu_ns_per_iter=<cpu> preempted=<k> iterations=<n>"
 * cpu is this thread's CPU time (user + system, which includes the BPF
 * programs that tracepoints run in its context): steadier than wall time on
 * a shared machine, where other processes take the CPU away. preempted is
 * the number of involuntary context switches during the timed loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"

struct spin_options {
  long iterations;
  int timeout_ms;
  int wait_for_go;
  int idle;
};

static void usage(const char* prog) {
  fprintf(stderr, "usage: %s [-n ITERATIONS] [-t TIMEOUT_MS] [-w] | -i\n", prog);
}

static int parse_options(int argc, char** argv, struct spin_options* opt) {
  opt->iterations = 1000000;
  opt->timeout_ms = 0;
  opt->wait_for_go = 0;
  opt->idle = 0;
  int c;
  while ((c = getopt(argc, argv, "n:t:wih")) != -1) {
    switch (c) {
      case 'n':
        opt->iterations = strtol(optarg, NULL, 10);
        break;
      case 't':
        opt->timeout_ms = (int)strtol(optarg, NULL, 10);
        break;
      case 'w':
        opt->wait_for_go = 1;
        break;
      case 'i':
        opt->idle = 1;
        break;
      default:
        usage(argv[0]);
        return -1;
    }
  }
  if (opt->iterations <= 0) {
    fprintf(stderr, "epoll_spin: -n must be positive\n");
    return -1;
  }
  return 0;
}

/* An epoll fd watching the read end of a pipe nobody writes to. */
static int make_idle_epoll(int pipe_fds[2]) {
  if (pipe(pipe_fds) != 0) {
    fprintf(stderr, "epoll_spin: failed to create pipe: %s\n", strerror(errno));
    return -1;
  }
  int epfd = epoll_create1(0);
  if (epfd < 0) {
    fprintf(stderr, "epoll_spin: failed to create epoll fd: %s\n", strerror(errno));
    return -1;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = pipe_fds[0]};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, pipe_fds[0], &ev) != 0) {
    fprintf(stderr, "epoll_spin: failed to register pipe: %s\n", strerror(errno));
    return -1;
  }
  return epfd;
}

static int wait_for_go_line(void) {
  printf("ready %d\n", (int)getpid());
  fflush(stdout);
  char line[64];
  if (fgets(line, sizeof(line), stdin) == NULL) {
    fprintf(stderr, "epoll_spin: stdin closed before the go line\n");
    return -1;
  }
  return 0;
}

int main(int argc, char** argv) {
  struct spin_options opt;
  if (parse_options(argc, argv, &opt) != 0) return 2;

  int pipe_fds[2];
  int epfd = make_idle_epoll(pipe_fds);
  if (epfd < 0) return 1;
  struct epoll_event events[8];

  if (opt.idle) {
    for (;;) epoll_wait(epfd, events, 8, 1000);
  }

  if (opt.wait_for_go && wait_for_go_line() != 0) return 1;

  double start = clock_ns(CLOCK_MONOTONIC);
  double cpu_start = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  long preempted_start = preemptions();
  for (long i = 0; i < opt.iterations; i++) {
    if (epoll_wait(epfd, events, 8, opt.timeout_ms) < 0 && errno != EINTR) {
      fprintf(stderr, "epoll_spin: epoll_wait failed: %s\n", strerror(errno));
      return 1;
    }
  }
  double cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
  long preempted = preemptions() - preempted_start;
  double elapsed = clock_ns(CLOCK_MONOTONIC) - start;

  double n = (double)opt.iterations;
  printf("ns_per_iter=%.1f cpu_ns_per_iter=%.1f preempted=%ld iterations=%ld\n", elapsed / n,
         cpu / n, preempted, opt.iterations);
  return 0;
}
