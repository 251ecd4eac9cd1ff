/* Log2 histogram buckets shared by loop_model.h and task_model.h. Plain C. */
#ifndef LOOPPROF_LP_HIST_H
#define LOOPPROF_LP_HIST_H

#include "loopprof.h"

#ifndef LP_INLINE
#define LP_INLINE static inline __attribute__((always_inline))
#endif

/* Bucket i holds [2^i, 2^(i+1)) microseconds; bucket 0 also holds < 1 us. */
LP_INLINE __u32 lp_hist_bucket(__u64 ns) {
  __u64 us = ns / 1000;
  __u32 b = 0;

  if (us >> 32) {
    us >>= 32;
    b += 32;
  }
  if (us >> 16) {
    us >>= 16;
    b += 16;
  }
  if (us >> 8) {
    us >>= 8;
    b += 8;
  }
  if (us >> 4) {
    us >>= 4;
    b += 4;
  }
  if (us >> 2) {
    us >>= 2;
    b += 2;
  }
  if (us >> 1) b += 1;
  return b < LP_HIST_BUCKETS ? b : LP_HIST_BUCKETS - 1;
}

#endif /* LOOPPROF_LP_HIST_H */
