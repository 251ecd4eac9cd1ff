/* bystander: a process that is NOT profiled, doing cheap operations in a
 * loop and printing ns per operation. Run it with and without a profiler
 * attached to some other process to see what the profiler costs everyone
 * else (system-wide tracepoints and samplers filter by PID inside the BPF
 * program, so every process still pays for the hook and the filter).
 *
 *   bystander [-n OPS] [-m MODE]
 *
 * Modes (default getppid):
 *   getppid   one trivial syscall per op: prices syscall entry/exit hooks
 *             (raw_tp sys_enter/sys_exit fire for every syscall of everyone).
 *   epoll     epoll_wait(timeout 0) on an idle epoll fd: the very tracepoints
 *             a poll-family profiler attaches, taken by a process it does not
 *             watch.
 *   pipe      write 1 byte to a pipe and read it back: two syscalls, no
 *             context switch.
 *   pingpong  1-byte round trip with a child process over two pipes: two
 *             context switches per op, prices sched_switch hooks.
 *
 * Output (stdout, last line):
 *   "ns_per_op=<wall> cpu_ns_per_op=<cpu> preempted=<k> ops=<n> mode=<mode>"
 * cpu is this process's main thread CPU time (pingpong: the child's is not
 * included); preempted is its involuntary context switches during the run. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"

static int fail(const char* what) {
  fprintf(stderr, "bystander: failed to %s: %s\n", what, strerror(errno));
  return -1;
}

static int run_getppid(long ops) {
  for (long i = 0; i < ops; i++) getppid();
  return 0;
}

static int run_epoll(long ops) {
  int fds[2];
  if (pipe(fds) != 0) return fail("create pipe");
  int epfd = epoll_create1(0);
  if (epfd < 0) return fail("create epoll fd");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[0]};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fds[0], &ev) != 0) return fail("register pipe");
  struct epoll_event out[8];
  for (long i = 0; i < ops; i++) {
    if (epoll_wait(epfd, out, 8, 0) < 0) return fail("epoll_wait");
  }
  return 0;
}

static int run_pipe(long ops) {
  int fds[2];
  if (pipe(fds) != 0) return fail("create pipe");
  char byte = 'x';
  for (long i = 0; i < ops; i++) {
    if (write(fds[1], &byte, 1) != 1) return fail("write pipe");
    if (read(fds[0], &byte, 1) != 1) return fail("read pipe");
  }
  return 0;
}

/* The child echoes every byte until the parent closes its end. */
static void echo_child(int in_fd, int out_fd) {
  char byte;
  while (read(in_fd, &byte, 1) == 1) {
    if (write(out_fd, &byte, 1) != 1) _exit(1);
  }
  _exit(0);
}

static int run_pingpong(long ops) {
  int to_child[2], to_parent[2];
  if (pipe(to_child) != 0 || pipe(to_parent) != 0) return fail("create pipes");
  pid_t child = fork();
  if (child < 0) return fail("fork");
  if (child == 0) {
    close(to_child[1]);
    close(to_parent[0]);
    echo_child(to_child[0], to_parent[1]);
  }
  close(to_child[0]);
  close(to_parent[1]);
  char byte = 'x';
  for (long i = 0; i < ops; i++) {
    if (write(to_child[1], &byte, 1) != 1) return fail("write to child");
    if (read(to_parent[0], &byte, 1) != 1) return fail("read from child");
  }
  close(to_child[1]);
  waitpid(child, NULL, 0);
  return 0;
}

struct bystander_mode {
  const char* name;
  int (*run)(long ops);
};

static const struct bystander_mode kModes[] = {
    {"getppid", run_getppid},
    {"epoll", run_epoll},
    {"pipe", run_pipe},
    {"pingpong", run_pingpong},
};

int main(int argc, char** argv) {
  long ops = 1000000;
  const char* mode_name = "getppid";
  int c;
  while ((c = getopt(argc, argv, "n:m:h")) != -1) {
    switch (c) {
      case 'n':
        ops = strtol(optarg, NULL, 10);
        break;
      case 'm':
        mode_name = optarg;
        break;
      default:
        fprintf(stderr, "usage: %s [-n OPS] [-m getppid|epoll|pipe|pingpong]\n", argv[0]);
        return 2;
    }
  }
  if (ops <= 0) {
    fprintf(stderr, "bystander: -n must be positive\n");
    return 2;
  }
  const struct bystander_mode* mode = NULL;
  for (size_t i = 0; i < sizeof(kModes) / sizeof(kModes[0]); i++) {
    if (strcmp(kModes[i].name, mode_name) == 0) mode = &kModes[i];
  }
  if (mode == NULL) {
    fprintf(stderr, "bystander: unknown mode '%s'\n", mode_name);
    return 2;
  }

  double start = clock_ns(CLOCK_MONOTONIC);
  double cpu_start = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  long preempted_start = preemptions();
  if (mode->run(ops) != 0) return 1;
  double cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
  long preempted = preemptions() - preempted_start;
  double elapsed = clock_ns(CLOCK_MONOTONIC) - start;

  printf("ns_per_op=%.1f cpu_ns_per_op=%.1f preempted=%ld ops=%ld mode=%s\n", elapsed / (double)ops,
         cpu / (double)ops, preempted, ops, mode->name);
  return 0;
}
