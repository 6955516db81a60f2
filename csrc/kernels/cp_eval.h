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
HOST_DEVICE_INLINE void cp_mul_row(scalar_t* __restrict__ acc, const scalar_t* __restrict__ row, int64_t width) {
  for (int64_t r = 0; r < width; ++r) acc[r] *= row[r];
}

// grad[r] += g * prefix[r] * suffix[r]: one mode's gradient contribution of one batch item.
template <typename scalar_t>
HOST_DEVICE_INLINE void cp_add_grad(scalar_t* __restrict__ grad, scalar_t g, const scalar_t* __restrict__ prefix,
                                    const scalar_t* __restrict__ suffix, int64_t width) {
  for (int64_t r = 0; r < width; ++r) grad[r] += g * prefix[r] * suffix[r];
}

// ---------------------------------------------------------------------------------------------
// Lane layout of the CUDA kernels (one warp per batch item), here so that the CPU tests can check it
// (tests/ops/cpp/cp_warp_emulation.cpp replays the kernels' arithmetic lane by lane on the host).
//
// The 32 lanes of a warp form G mode groups of C column lanes (G * C = 32, lane = g * C + c). In
// round t (t < M = ceil(N / G)) group g handles mode n = t * G + g (nothing when n >= N). A lane
// keeps `rpl` running products in registers, for the columns r0 + c + C * j (j < rpl) of the current
// strip of C * rpl columns (strips cover R; coalesced: the C lanes of a group read consecutive
// columns of one factor row). Every factor row is read once per item and strip in the forward, twice
// in the backward.
//
// G is the smallest power of two with G * G >= N (so M <= G: the backward keeps round t's total in
// group t's registers, one value per column, and needs no per-mode storage), raised towards N / 8
// (about 8 modes per lane, so a long product is cut into 32 short independent ones) but at most 32.
struct CpTiling {
  int G;          // mode groups per warp
  int C;          // column lanes per group (32 / G)
  int rpl;        // columns per lane in one strip (a power of two <= rpl_max)
  int M;          // rounds: ceil(N / G) <= G
  int64_t strip;  // columns per strip: C * rpl
};

// N in [1, 1024], R >= 1, rpl_max a power of two.
HOST_DEVICE_INLINE CpTiling cp_tiling(int64_t N, int64_t R, int rpl_max) {
  int g_min = 1;
  while (static_cast<int64_t>(g_min) * g_min < N) g_min *= 2;
  int g_aim = 1;
  while (g_aim < 32 && static_cast<int64_t>(g_aim) * 8 < N) g_aim *= 2;
  CpTiling t{};
  t.G = g_min > g_aim ? g_min : g_aim;
  t.C = 32 / t.G;
  t.rpl = 1;
  while (t.rpl < rpl_max && static_cast<int64_t>(t.rpl) * t.C < R) t.rpl *= 2;
  t.M = static_cast<int>((N + t.G - 1) / t.G);
  t.strip = static_cast<int64_t>(t.C) * t.rpl;
  return t;
}

// One step of the division-free "product of all the others" butterfly over the mode groups: with
// `other` the partner's inclusive product, excl *= other and incl *= other. After the steps over the
// offsets C, 2C, ..., 16, incl is the product over every group and excl the product over every group
// but this lane's (exact zeros stay zeros: no division).
template <typename scalar_t>
HOST_DEVICE_INLINE void cp_excl_step(scalar_t& excl, scalar_t& incl, scalar_t other) {
  excl *= other;
  incl *= other;
}

}  // namespace rankcore::kernels
