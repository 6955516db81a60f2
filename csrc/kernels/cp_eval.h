// Per-element math of rankcore::cp_eval shared by the CPU and CUDA kernels (torch-free).
//
// W(i_1..i_N) = sum_r prod_n A_n[i_n, r]. Every column r is independent, so the kernels work on
// column strips: for one batch item and a strip of columns, the forward is a running product over the
// modes; the backward needs, for each mode n, prod_{m != n} A_m[i_m, r], which is (prefix over m < n)
// * (suffix over m > n). Both are formed by multiplication only, never by dividing the full product
// by A_n (a zero factor would give 0/0 = NaN, and tiny factors lose precision).
#pragma once

#include <cstdint>

#include "kernels/common.h"

namespace rankcore::kernels {

// acc[r] *= row[r] for r in [0, width): one mode's step of the running product.
template <typename scalar_t>
HOST_DEVICE_INLINE void cp_mul_row(scalar_t* __restrict__ acc, const scalar_t* __restrict__ row,
                                   int64_t width) {
  for (int64_t r = 0; r < width; ++r) acc[r] *= row[r];
}

// grad[r] += g * prefix[r] * suffix[r]: one mode's gradient contribution of one batch item.
template <typename scalar_t>
HOST_DEVICE_INLINE void cp_add_grad(scalar_t* __restrict__ grad, scalar_t g,
                                    const scalar_t* __restrict__ prefix,
                                    const scalar_t* __restrict__ suffix, int64_t width) {
  for (int64_t r = 0; r < width; ++r) grad[r] += g * prefix[r] * suffix[r];
}

}  // namespace rankcore::kernels
