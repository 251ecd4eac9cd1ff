#include "latency/histogram.hpp"

#include <cmath>

namespace loopprof {

uint64_t Log2Histogram::total() const {
  uint64_t n = 0;
  for (uint64_t c : counts) n += c;
  return n;
}

uint64_t Log2Histogram::quantile_ns(double p) const {
  uint64_t n = total();
  if (n == 0) return 0;
  auto rank = static_cast<uint64_t>(std::ceil(p * static_cast<double>(n)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= rank) return bucket_upper_ns(i);
  }
  return bucket_upper_ns(counts.size() - 1);
}

}  // namespace loopprof
