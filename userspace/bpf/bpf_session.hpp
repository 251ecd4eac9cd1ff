// The BPF side for one target: skeleton lifecycle (open -> configure -> load
// -> attach), the ring buffer, and the per-thread state map. Destroying the
// session detaches everything.
#pragma once

#include <sys/types.h>

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
  pid_t pid = 0;
  uint64_t threshold_ns = 100'000'000;
  uint32_t sample_hz = 199;  // 0 = no CPU sampling
  uint32_t ringbuf_bytes = 8u << 20;
  uint32_t max_threads = 8192;
  // Precise mode: a uprobe pair on this function of this ELF times every
  // callback step (empty: off).
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

  std::vector<std::pair<pid_t, lp_thread>> threads() const;
  // Time accounting and histograms of every thread of the target seen so far.
  std::vector<std::pair<pid_t, lp_task_stats>> task_stats() const;
  // Inserts state for a thread not yet known to the BPF side.
  void seed_thread(pid_t tid, const lp_thread& state);
  std::map<std::string, uint64_t> dropped() const;
  // Updates lost because a per-thread map was full (map name -> count): more
  // live threads at once than max_threads.
  std::map<std::string, uint64_t> map_full() const;
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
};

}  // namespace loopprof
