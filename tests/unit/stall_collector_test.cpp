// StallCollector's per-thread tables follow the live threads: records of a
// thread that then exits leave nothing behind (issue 8: memory under thread
// churn), whichever tables those records touched.
#include "collector/stall_collector.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>

#include "symbols/symbolizer.hpp"

namespace loopprof {
namespace {

template <typename Record>
void feed(StallCollector& collector, const Record& record) {
  collector.on_record(&record, sizeof(record));
}

TEST(StallCollector, ThreadExitEmptiesEveryPerThreadTable) {
  auto target = TargetProcess::open(getpid());
  ASSERT_TRUE(target.ok());
  auto process = ProcessSymbolizer::open(getpid(), {});
  ASSERT_TRUE(process.ok());
  auto kernel = KernelSymbolizer::create();
  StackResolver resolver(*kernel, *process.value(), nullptr, nullptr);
  StallCollector collector(target.value(), resolver, {}, 100 * 1000000ull);
  ASSERT_EQ(collector.thread_entries(), 0u);

  // Short-lived loop threads (TIDs no process has here): each goes off-CPU
  // in an I/O wait during a busy period, resumes, goes off-CPU again, exits.
  auto capture = std::make_unique<lp_capture_record>();
  for (uint32_t tid = 4000000; tid < 4000100; ++tid) {
    *capture = {};
    capture->type = LP_REC_CAPTURE;
    capture->kind = LP_CAPTURE_OFFCPU;
    capture->pid = static_cast<uint32_t>(getpid());
    capture->tid = tid;
    capture->seq = 1;
    capture->off_reason = LP_OFF_IO;
    feed(collector, *capture);
    lp_resume_record resume{.type = LP_REC_RESUME, .tid = tid, .seq = 1, .off_ns = 1000};
    feed(collector, resume);
    capture->seq = 2;
    feed(collector, *capture);
    ASSERT_GT(collector.thread_entries(), 0u);
    lp_thread_exit_record exit{.type = LP_REC_THREAD_EXIT, .tid = tid};
    feed(collector, exit);
    EXPECT_EQ(collector.thread_entries(), 0u) << "after the exit of thread " << tid;
  }
  EXPECT_EQ(collector.lifecycle().exits(), 100u);
}

}  // namespace
}  // namespace loopprof
