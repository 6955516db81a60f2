// Splitting CSR rows into chunks of about equal work (entries + rows) for at::parallel_for: hubs make
// equal row counts badly unbalanced. Shared by walk_count and build_csr.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace rankcore::ops::cpu {

// Row boundaries [0 = b_0 <= b_1 <= ... <= b_c = n] such that every chunk holds about the same number of
// rows + entries (start[n] entries in all; start[j] + j is strictly increasing, so a binary search finds
// each boundary). About total / min_work chunks, at most max_per_thread per thread, at least one.
inline std::vector<int64_t> balanced_row_chunks(const int64_t* start, int64_t n, int64_t min_work,
                                                int64_t max_per_thread) {
  const int64_t total = start[n] + n;
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  const int64_t chunks = std::clamp<int64_t>(total / min_work, 1, max_per_thread * threads);
  std::vector<int64_t> bounds(chunks + 1, n);
  bounds[0] = 0;
  for (int64_t c = 1; c < chunks; ++c) {
    const int64_t goal = total * c / chunks;
    int64_t lo = 0, hi = n;  // the first row j with start[j] + j >= goal
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (start[mid] + mid < goal)
        lo = mid + 1;
      else
        hi = mid;
    }
    bounds[c] = std::max(lo, bounds[c - 1]);
  }
  return bounds;
}

}  // namespace rankcore::ops::cpu
