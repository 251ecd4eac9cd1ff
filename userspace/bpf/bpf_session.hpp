// The BPF side for a set of watched processes (one for `loopprof -p`, many
// for the agent): skeleton lifecycle (open -> configure -> load -> attach),
// the watched set, the ring buffer, and the per-thread state maps.
// Destroying the session detaches everything.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bpf/abi.hpp"
#include "bpf/features.hpp"
#include "core/error.hpp"

struct loopprof_bpf;
struct bpf_link;
struct bpf_object;
struct ring_buffer;

namespace loopprof {

struct SessionConfig {
  uint64_t threshold_ns = 100'000'000;
  uint32_t sample_hz = 199;  // 0 = no CPU sampling
  // CPU samples only once a busy period has lasted this long (0: all).
  uint64_t sample_min_busy_ns = 0;
  uint32_t ringbuf_bytes = 8u << 20;
  uint32_t max_threads = 8192;
  uint32_t max_processes = 1024;  // the watched set's capacity
  // Discovery: poll-family waits of unwatched processes are announced
  // (LP_REC_ANNOUNCE), at most once per interval per process.
  bool discover = false;
  uint64_t announce_interval_ns = 10'000'000'000;
  // Precise mode: a uprobe pair on this function of this ELF, in this
  // process, times every callback step (empty: off).
  pid_t step_pid = 0;
  std::string step_binary;
  std::string step_symbol;
};

// Called for every ring-buffer record, in order.
using RecordHandler = std::function<void(const void* data, size_t size)>;

class BpfSession {
 public:
  // Opens the skeleton and applies the configuration; nothing is in the kernel yet.
  static Result<std::unique_ptr<BpfSession>> open(const SessionConfig& config,
                                                  const Features& features);
  ~BpfSession();
  BpfSession(const BpfSession&) = delete;
  BpfSession& operator=(const BpfSession&) = delete;

  // For runtime support that adds its own configuration between open and load.
  struct bpf_object* object();
  Status load();
  Status attach(RecordHandler handler);

  // Readable when records are waiting; consume() hands them to the handler.
  int ring_epoll_fd() const;
  Status consume();

  // Adds a process to the watched set (its threads are traced from now on).
  Status watch(pid_t pid);
  // Removes it, and the state of its threads.
  void unwatch(pid_t pid);

  // Loop threads of every watched process (key: tid; the value has the pid).
  std::vector<std::pair<pid_t, lp_thread>> threads() const;
  // The loop threads whose busy period may have reached the threshold, for
  // a caller that checks for ongoing stalls every `tick_ns`. A scan of the
  // whole map visits every bucket of a map sized for max_threads (65536 in
  // the agent) however few threads it holds, and one lookup per thread per
  // tick added up too: so the map is scanned at most once per
  // kFullScanInterval, and in between a thread is looked up only from a
  // tick before its busy period could reach the threshold (idle when last
  // seen: threshold - tick later). A thread that starts looping shows at the
  // next scan; stall records come as stalls end, whatever this returns.
  std::vector<std::pair<pid_t, lp_thread>> threads_polled(uint64_t now_ns, uint64_t tick_ns);
  static constexpr std::chrono::milliseconds kFullScanInterval{1000};
  // Time accounting and histograms of every watched thread seen so far.
  std::vector<std::pair<pid_t, lp_task_stats>> task_stats() const;
  // Inserts state for a thread not yet known to the BPF side; false if it
  // is known already (or the map is full).
  bool seed_thread(pid_t tid, const lp_thread& state);
  std::map<std::string, uint64_t> dropped() const;
  // Updates lost because a per-thread map was full (map name -> count): more
  // live threads at once than max_threads.
  std::map<std::string, uint64_t> map_full() const;
  // Switch-ins of busy loop threads the sched_switch program did not see,
  // repaired from the scheduler's run-time counter (lp_catch_up_switch_in).
  uint64_t missed_switch_ins() const { return drop_count(LP_MISSED_SWITCH_IN); }
  uint32_t max_threads() const { return config_.max_threads; }
  size_t attached_programs() const { return links_.size(); }

 private:
  BpfSession(loopprof_bpf* skel, SessionConfig config) : skel_(skel), config_(config) {}
  Status attach_programs();
  Status attach_cpu_sampler();
  Status attach_step_probes();
  uint64_t drop_count(uint32_t key) const;

  loopprof_bpf* skel_;
  SessionConfig config_;
  std::vector<bpf_link*> links_;
  ring_buffer* ring_ = nullptr;
  RecordHandler handler_;
  struct Polled {
    __u32 tid = 0;
    uint64_t due_ns = 0;  // look it up again from then on
  };
  std::vector<Polled> polled_;  // threads_polled(): found by the last full scan
  std::chrono::steady_clock::time_point last_full_scan_{};
};

}  // namespace loopprof
