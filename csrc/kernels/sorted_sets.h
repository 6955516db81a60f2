// Sorted-set primitives shared by CPU and CUDA code (CSR rows are sorted, duplicate-free sets).
#pragma once

#include <cstdint>

#include "kernels/common.h"

namespace rankcore::kernels {

// First position p in [lo, hi) with a[p] >= x (hi when none); a is ascending.
template <typename T>
HOST_DEVICE_INLINE int64_t lower_bound(const T* a, int64_t lo, int64_t hi, T x) {
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (a[mid] < x) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// Row of CSR slot e: the r with rowptr[r] <= e < rowptr[r + 1] (rowptr has n + 1 entries, e < rowptr[n]).
HOST_DEVICE_INLINE int64_t row_of_slot(const int64_t* rowptr, int64_t n, int64_t e) {
  int64_t lo = 0, hi = n;  // invariant: rowptr[lo] <= e < rowptr[hi]
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (rowptr[mid] <= e) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

}  // namespace rankcore::kernels
