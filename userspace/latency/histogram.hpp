// Log2 histograms as the kernel keeps them (bpf/task_model.h): bucket i holds
// [2^i, 2^(i+1)) microseconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace loopprof {

struct Log2Histogram {
  std::vector<uint64_t> counts;  // by bucket

  uint64_t total() const;
  // Upper bound (ns) of the bucket holding the p-th quantile (0 < p <= 1);
  // 0 when empty.
  uint64_t quantile_ns(double p) const;
  static uint64_t bucket_upper_ns(size_t bucket) { return (2ull << bucket) * 1000; }
};

}  // namespace loopprof
