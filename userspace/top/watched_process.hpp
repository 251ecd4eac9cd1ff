// One target process under `loopprof top`: its BPF session, symbolizers and
// stall collector, and what it feeds each interval.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "app/exec_follower.hpp"
#include "bpf/bpf_session.hpp"
#include "collector/stack_resolver.hpp"
#include "collector/stall_collector.hpp"
#include "node/node_support.hpp"
#include "python/python_support.hpp"
#include "symbols/symbolizer.hpp"
#include "target/target_process.hpp"
#include "top/loop_source.hpp"
#include "top/stall_gatherer.hpp"
#include "unwind/dwarf_unwinder.hpp"

namespace loopprof::top {

class WatchedProcess {
 public:
  // Opens, loads and attaches a session for `pid`; `kernel_symbols` is shared
  // by every process and must outlive this one.
  static Result<std::unique_ptr<WatchedProcess>> attach(pid_t pid, const SourceConfig& config,
                                                        const Features& features,
                                                        KernelSymbolizer& kernel_symbols);
  WatchedProcess(const WatchedProcess&) = delete;
  WatchedProcess& operator=(const WatchedProcess&) = delete;

  pid_t pid() const { return target_.pid(); }
  const std::string& command() const { return target_.command(); }
  int ring_fd() const { return session_->ring_epoll_fd(); }
  int exit_fd() const { return target_.exit_fd(); }
  bool exited() const { return target_.exited(); }

  Status consume() { return session_->consume(); }
  // Follows an exec of the target; once a second, new Python threads and
  // threads that exited. Returns a notice when the target executed another
  // program.
  std::string refresh();
  // Appends this process's loop threads now and the stalls since the last call.
  void collect(uint64_t now_ns, IntervalInput& into);

 private:
  WatchedProcess(TargetProcess target, const SourceConfig& config)
      : target_(std::move(target)), config_(config) {}

  TargetProcess target_;
  SourceConfig config_;
  std::unique_ptr<BpfSession> session_;
  std::unique_ptr<python::PythonSupport> python_;
  std::unique_ptr<ProcessSymbolizer> process_symbols_;
  std::unique_ptr<DwarfUnwinder> unwinder_;
  std::unique_ptr<StackResolver> resolver_;
  std::unique_ptr<node::NodeSupport> node_;
  StallGatherer gatherer_;
  std::unique_ptr<StallCollector> collector_;
  std::unique_ptr<ExecFollower> exec_follower_;
  uint64_t attach_ns_ = 0;
  std::chrono::steady_clock::time_point last_refresh_{};
};

}  // namespace loopprof::top
