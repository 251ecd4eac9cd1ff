// Loops already busy when loopprof attaches: the moment people reach for
// the tool is when the service is hung, and a loop stuck before attach never
// enters its wait, so the kernel side alone would never see it. Every thread
// is inspected once (target/live_threads.hpp); a loop thread outside its
// loop's wait is seeded in the BPF `threads` map as busy since the best
// provable lower bound (its time off CPU per the scheduler, else attach), and
// its stacks of that moment are handed to the collector, so it is reported as
// an ongoing stall within about the threshold, marked began-before-attach.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "bpf/bpf_session.hpp"
#include "collector/stall_collector.hpp"
#include "symbols/symbolizer.hpp"
#include "target/target_process.hpp"
#include "unwind/dwarf_unwinder.hpp"

namespace loopprof {

// Returns how many loop threads were seeded busy. Warnings go to stderr.
size_t seed_busy_loops(pid_t pid, BpfSession& session, StallCollector& collector,
                       KernelSymbolizer& kernel, ProcessSymbolizer& process,
                       DwarfUnwinder* unwinder, uint64_t now_ns, bool verbose);

// Threads blocked in a poll-family call at attach are seeded as "in the
// loop's wait", so their first busy period is measured from its start.
// Returns how many such threads there are.
size_t seed_waiting_threads(const TargetProcess& target, BpfSession& session);

// For stalls that begin after attach and wait on a lock: looks at the target's
// live threads (never stopping it, as dump does) for the lock's holder and a
// deadlock. `unwinder` may be null, or change, while the collector runs.
StallCollector::LockInspector lock_inspector(pid_t pid, KernelSymbolizer& kernel,
                                             ProcessSymbolizer& process,
                                             const std::unique_ptr<DwarfUnwinder>& unwinder);

}  // namespace loopprof
