// Per-element math of the rankcore::ht_leaf_pool / ht_pool family, shared by CPU and CUDA (torch-free).
//
// Product pooling h = prod_k x_k over a node's children; its backward needs, per child k, the
// product of the *other* children, formed as prefix * suffix by multiplication only (dividing the
// full product by x_k would give 0/0 = NaN at a zero child).
#pragma once

#include <cstdint>

#include "kernels/common.h"

namespace rankcore::kernels {

// acc[r] *= row[r] for r < width.
template <typename scalar_t>
HOST_DEVICE_INLINE void ht_mul_row(scalar_t* __restrict__ acc, const scalar_t* __restrict__ row, int64_t width) {
  for (int64_t r = 0; r < width; ++r) acc[r] *= row[r];
}

// out[r] = a[r] * b[r] (op = set) or out[r] += a[r] * b[r] (op = add).
template <bool kAdd, typename scalar_t>
HOST_DEVICE_INLINE void ht_mul_into(scalar_t* __restrict__ out, const scalar_t* __restrict__ a,
                                    const scalar_t* __restrict__ b, int64_t width) {
  for (int64_t r = 0; r < width; ++r) {
    if constexpr (kAdd) {
      out[r] += a[r] * b[r];
    } else {
      out[r] = a[r] * b[r];
    }
  }
}

// One column of a group of P children: vals[k] (k < P) -> out[k] = g * prod_{k' != k} vals[k'].
// out doubles as the suffix buffer, so no storage beyond it is needed.
template <typename scalar_t>
HOST_DEVICE_INLINE void ht_others_product(const scalar_t* vals, int64_t P, scalar_t g, scalar_t* out) {
  out[P - 1] = scalar_t(1);
  for (int64_t k = P - 1; k > 0; --k) out[k - 1] = out[k] * vals[k];
  scalar_t prefix = g;
  for (int64_t k = 0; k < P; ++k) {
    out[k] *= prefix;
    prefix *= vals[k];
  }
}

// Column strips of the CUDA leaf backward's shared-memory accumulation (ops/cuda/ht_pool_kernel.cu): the
// widest strip of the R columns whose [max_rows, strip] buffer fits `budget` elements, a multiple of 32
// when at least 32 wide (whole warps on consecutive columns). 0: not even one column fits (the tables are
// large, few items collide: global atomics). Unused by the CPU kernels.
HOST_DEVICE_INLINE int64_t ht_backward_strip(int64_t max_rows, int64_t R, int64_t budget) {
  if (R <= 0) return 1;
  if (max_rows * R <= budget) return R;
  const int64_t w = budget / max_rows;
  if (w < 1) return 0;
  return w >= 32 ? w / 32 * 32 : w;
}

}  // namespace rankcore::kernels
