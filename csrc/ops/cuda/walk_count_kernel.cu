// CUDA kernels of rankcore::walk_count (torch-free: compile-checkable with plain nvcc).
//
// Pull formulation over the in-neighbour CSR, as on the CPU: every output row is written by exactly
// one tile of lanes, so there are no atomics on the output. A tile is L lanes of one warp
// (L = 32: one warp per row; L < 32: 32 / L rows per warp, for graphs whose rows are short).
//
// Within a tile, the k columns are processed in blocks of a compile-time width W (32, 16, ..., 1):
// lane q of the tile handles column c = q % W of the block and edge group g = q / W of G = L / W
// groups. The tile walks the row's edges L at a time: each lane loads one col entry (coalesced),
// then the tile broadcasts them with shuffles so that group g accumulates the edges g, g + G, ...
// of the chunk; a gather therefore reads W contiguous values of one source row per group
// (coalesced). The G partial sums are reduced with __shfl_down_sync (offsets L/2, ..., W) using
// Policy::add (the saturating uint64 add is associative: it computes min(true sum, 2^63)), and the
// lanes of group 0 add the self-loop term x[j, c] and write y[j, c].
//
// k >= 32 uses W = 32 for the first 32 * floor(k / 32) columns; the remaining k % 32 columns (or all
// of them when k < 32) use the smallest power-of-two W >= k % 32, masking the surplus lanes.
//
// Errors never stop a kernel: out-of-range col entries are skipped and their smallest position is
// recorded; a saturated int64 count is stored as INT64_MAX and the smallest saturating step is
// recorded; edge ranges are clamped to [0, nnz) so that a malformed rowptr (reported by the prepare
// kernel) cannot cause out-of-bounds reads. The host reads all flags once, after the last step.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/walk_count.h"
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/walk_count_kernel.cuh"

namespace rankcore::ops::cuda {
namespace {

// ---------------------------------------------------------------------------------------------
// prepare: flags init + rowptr monotonicity + non-negative int64 start

__global__ void __launch_bounds__(kBlockThreads)
    walk_count_prepare_kernel(const int64_t* __restrict__ rowptr, int64_t n,
                              const int64_t* __restrict__ start, int64_t start_numel,
                              int64_t* __restrict__ flags) {
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  if (first == 0) {
    flags[kWalkFlagRowptrFirst] = rowptr[0];
    flags[kWalkFlagRowptrLast] = rowptr[n];
  }
  for (int64_t j = first; j < n; j += stride) {
    if (__ldg(rowptr + j) > __ldg(rowptr + j + 1)) flag_min(flags + kWalkFlagBadRowptr, j);
  }
  if (start != nullptr) {
    for (int64_t t = first; t < start_numel; t += stride) {
      if (__ldg(start + t) < 0) flag_min(flags + kWalkFlagNegativeStart, t);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// finish: copy the offending values next to their positions (single thread)

template <typename index_t>
__global__ void walk_count_finish_kernel(const int64_t* __restrict__ rowptr,
                                         const index_t* __restrict__ col,
                                         int64_t* __restrict__ flags) {
  const int64_t j = flags[kWalkFlagBadRowptr];
  if (j >= 0) {
    flags[kWalkFlagBadRowptrLo] = rowptr[j];
    flags[kWalkFlagBadRowptrHi] = rowptr[j + 1];
  }
  const int64_t e = flags[kWalkFlagBadCol];
  if (e >= 0) flags[kWalkFlagBadColValue] = static_cast<int64_t>(col[e]);
}

// ---------------------------------------------------------------------------------------------
// one step

template <typename Policy, typename index_t>
struct StepArgs {
  const int64_t* rowptr;
  const index_t* col;
  int64_t nnz;
  const typename Policy::value_t* x;
  typename Policy::value_t* y;
  int64_t n;
  int64_t k;
  int64_t step;
  int64_t threshold;  // rows longer than this are left to the long-row kernels
  int64_t* flags;
  cudaStream_t stream;
};

// True when an earlier launch already recorded an error, so this step's result cannot be returned:
// a malformed rowptr or negative start (prepare), a bad col entry (found by step 1, which always runs
// in full) or an overflow at an earlier step. An overflow recorded by this same step (== step) does
// not count, so the smallest overflowing step and the smallest bad col position stay deterministic.
// Lets a long int64 walk that overflows early finish its remaining steps at almost no cost.
__device__ __forceinline__ bool walk_failed(const int64_t* flags, int64_t step, int64_t nnz) {
  const auto overflow_step = static_cast<ull>(flags[kWalkFlagOverflowStep]);
  return overflow_step < static_cast<ull>(step) || (step > 1 && flags[kWalkFlagBadCol] >= 0) ||
         flags[kWalkFlagBadRowptr] >= 0 || flags[kWalkFlagNegativeStart] >= 0 ||
         flags[kWalkFlagRowptrFirst] != 0 || flags[kWalkFlagRowptrLast] != nnz;
}

template <typename Policy, typename index_t, int W, int L>
__global__ void __launch_bounds__(kBlockThreads)
    walk_count_step_kernel(const int64_t* __restrict__ rowptr, const index_t* __restrict__ col,
                           int64_t nnz, const typename Policy::value_t* __restrict__ x,
                           typename Policy::value_t* __restrict__ y, int64_t n, int64_t k,
                           int64_t col_begin, int64_t col_end, int64_t step, int64_t threshold,
                           int64_t* flags) {
  static_assert(W >= 1 && W <= L && L <= kWarpSize, "bad tile shape");
  static_assert(L % W == 0 && kWarpSize % L == 0, "tile shape must be powers of two");
  using value_t = typename Policy::value_t;
  using acc_t = typename Policy::acc_t;
  constexpr int G = L / W;  // edge groups per tile

  const int lane = static_cast<int>(threadIdx.x) % kWarpSize;
  const int q = lane % L;      // lane within the tile
  const int c_off = q % W;     // column within the block
  const int g = q / W;         // edge group
  const unsigned mask =
      (L == kWarpSize) ? 0xffffffffu : (((1u << (L % kWarpSize)) - 1u) << (lane - q));

  if (walk_failed(flags, step, nnz)) return;  // the result will be an error anyway

  const int64_t tile = (static_cast<int64_t>(blockIdx.x) * kBlockThreads + threadIdx.x) / L;
  const int64_t num_tiles = static_cast<int64_t>(gridDim.x) * (kBlockThreads / L);

  for (int64_t j = tile; j < n; j += num_tiles) {  // uniform within a tile
    int64_t e0 = __ldg(rowptr + j);
    int64_t e1 = __ldg(rowptr + j + 1);
    e0 = e0 < 0 ? 0 : e0;
    e1 = e1 > nnz ? nnz : e1;
    if (e1 - e0 > threshold) continue;  // a long row: split across blocks by the long-row kernels
    for (int64_t cb = col_begin; cb < col_end; cb += W) {
      const int64_t c = cb + c_off;
      const bool active = c < col_end;
      acc_t acc = Policy::load(value_t(0));
      for (int64_t base = e0; base < e1; base += L) {
        // Each lane fetches one source of the chunk; -1 marks "no edge" (past the row or invalid).
        index_t mine = -1;
        const int64_t e = base + q;
        if (e < e1) {
          const index_t i = __ldg(col + e);
          if (i >= 0 && static_cast<int64_t>(i) < n) {
            mine = i;
          } else if (cb == col_begin) {
            flag_min(flags + kWalkFlagBadCol, e);
          }
        }
#pragma unroll
        for (int t = 0; t < W; ++t) {
          index_t i;
          if constexpr (L == 1) {
            i = mine;
          } else {
            i = __shfl_sync(mask, mine, t * G + g, L);
          }
          if (active && i >= 0) {
            acc = Policy::add(acc, Policy::load(__ldg(x + static_cast<int64_t>(i) * k + c)));
          }
        }
      }
      if constexpr (G > 1) {
#pragma unroll
        for (int off = L / 2; off >= W; off /= 2) {
          acc = Policy::add(acc, __shfl_down_sync(mask, acc, off, L));
        }
      }
      bool overflow = false;
      if (g == 0 && active) {
        acc = Policy::add(acc, Policy::load(__ldg(x + j * k + c)));
        overflow = Policy::overflowed(acc);
        y[j * k + c] = Policy::store(acc);
      }
      if constexpr (L == 1) {
        if (overflow) flag_min(flags + kWalkFlagOverflowStep, step);
      } else {
        if (__any_sync(mask, overflow) && q == 0) flag_min(flags + kWalkFlagOverflowStep, step);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// long rows: one block per chunk of kLongRowChunk entries of a long row writes partial sums, then one
// thread per (long row, column) adds the chunks and the self-loop term.

template <typename Policy, typename index_t, int W>
__global__ void __launch_bounds__(kBlockThreads)
    walk_count_long_partial_kernel(const int64_t* __restrict__ rowptr, const index_t* __restrict__ col,
                                   int64_t nnz, const typename Policy::value_t* __restrict__ x,
                                   typename Policy::acc_t* __restrict__ partial, int64_t n, int64_t k,
                                   const int64_t* __restrict__ rows, int64_t row_offset, int64_t max_chunks,
                                   int64_t step, int64_t* flags) {
  using value_t = typename Policy::value_t;
  using acc_t = typename Policy::acc_t;
  constexpr int G = kBlockThreads / W;  // edge groups per block
  __shared__ acc_t smem[kBlockThreads];
  if (walk_failed(flags, step, nnz)) return;  // uniform per block
  const int64_t r = row_offset + blockIdx.y;
  const int64_t chunk = blockIdx.x;
  const int64_t j = rows[r];
  int64_t e0 = rowptr[j], e1 = rowptr[j + 1];
  e0 = e0 < 0 ? 0 : e0;
  e1 = e1 > nnz ? nnz : e1;
  const int64_t c0 = e0 + chunk * kLongRowChunk;
  if (c0 >= e1) return;  // uniform per block: this row has fewer chunks
  const int64_t c1 = c0 + kLongRowChunk < e1 ? c0 + kLongRowChunk : e1;
  const int c_off = static_cast<int>(threadIdx.x) % W;
  const int g = static_cast<int>(threadIdx.x) / W;
  for (int64_t cb = 0; cb < k; cb += W) {
    const int64_t c = cb + c_off;
    const bool active = c < k;
    acc_t acc = Policy::load(value_t(0));
    for (int64_t e = c0 + g; e < c1; e += G) {
      const index_t i = __ldg(col + e);
      if (i >= 0 && static_cast<int64_t>(i) < n) {
        if (active) acc = Policy::add(acc, Policy::load(__ldg(x + static_cast<int64_t>(i) * k + c)));
      } else if (cb == 0 && c_off == 0) {
        flag_min(flags + kWalkFlagBadCol, e);
      }
    }
    smem[threadIdx.x] = acc;
    __syncthreads();
#pragma unroll
    for (int half = G / 2; half >= 1; half /= 2) {
      if (g < half) smem[threadIdx.x] = Policy::add(smem[threadIdx.x], smem[threadIdx.x + half * W]);
      __syncthreads();
    }
    if (g == 0 && active) partial[(r * max_chunks + chunk) * k + c] = smem[c_off];
    __syncthreads();
  }
}

template <typename Policy>
__global__ void __launch_bounds__(kBlockThreads)
    walk_count_long_combine_kernel(const int64_t* __restrict__ rowptr, int64_t nnz,
                                   const typename Policy::value_t* __restrict__ x,
                                   const typename Policy::acc_t* __restrict__ partial,
                                   typename Policy::value_t* __restrict__ y, int64_t k,
                                   const int64_t* __restrict__ rows, int64_t count, int64_t max_chunks,
                                   int64_t step, int64_t* flags) {
  using acc_t = typename Policy::acc_t;
  if (walk_failed(flags, step, nnz)) return;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < count * k; t += stride) {
    const int64_t r = t / k, c = t % k;
    const int64_t j = rows[r];
    int64_t e0 = rowptr[j], e1 = rowptr[j + 1];
    e0 = e0 < 0 ? 0 : e0;
    e1 = e1 > nnz ? nnz : e1;
    const int64_t chunks = (e1 - e0 + kLongRowChunk - 1) / kLongRowChunk;
    acc_t acc = Policy::load(x[j * k + c]);
    for (int64_t ch = 0; ch < chunks; ++ch) acc = Policy::add(acc, partial[(r * max_chunks + ch) * k + c]);
    if (Policy::overflowed(acc)) flag_min(flags + kWalkFlagOverflowStep, step);
    y[j * k + c] = Policy::store(acc);
  }
}

template <typename Policy, typename index_t, int W>
cudaError_t launch_long_partial(const StepArgs<Policy, index_t>& a, const LongRowPlan& plan) {
  auto* partial = static_cast<typename Policy::acc_t*>(plan.partial);
  for (int64_t r0 = 0; r0 < plan.count; r0 += kMaxBlocks) {  // grid.y holds at most kMaxBlocks rows
    const int64_t rows = plan.count - r0 < kMaxBlocks ? plan.count - r0 : kMaxBlocks;
    const dim3 grid(static_cast<unsigned>(plan.max_chunks), static_cast<unsigned>(rows));
    walk_count_long_partial_kernel<Policy, index_t, W><<<grid, kBlockThreads, 0, a.stream>>>(
        a.rowptr, a.col, a.nnz, a.x, partial, a.n, a.k, plan.rows, r0, plan.max_chunks, a.step, a.flags);
    const cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) return err;
  }
  return cudaSuccess;
}

template <typename Policy, typename index_t>
cudaError_t launch_long_rows(const StepArgs<Policy, index_t>& a, const LongRowPlan& plan) {
  if (plan.count == 0 || a.k == 0) return cudaSuccess;
  cudaError_t err;
  if (a.k >= 32) {
    err = launch_long_partial<Policy, index_t, 32>(a, plan);
  } else if (a.k > 8) {
    err = launch_long_partial<Policy, index_t, 16>(a, plan);  // k in (8, 32): 16 wide, two passes above 16
  } else if (a.k > 2) {
    err = launch_long_partial<Policy, index_t, 4>(a, plan);
  } else {
    err = launch_long_partial<Policy, index_t, 1>(a, plan);
  }
  if (err != cudaSuccess) return err;
  walk_count_long_combine_kernel<Policy><<<static_cast<unsigned>(blocks_for(plan.count * a.k)), kBlockThreads, 0,
                                           a.stream>>>(a.rowptr, a.nnz, a.x,
                                                       static_cast<const typename Policy::acc_t*>(plan.partial),
                                                       a.y, a.k, plan.rows, plan.count, plan.max_chunks, a.step,
                                                       a.flags);
  return cudaGetLastError();
}

// Launches the kernel for the columns [col_begin, col_end) with the smallest tile L >= lanes.
template <typename Policy, typename index_t, int W, int L = W>
cudaError_t launch_tiles(const StepArgs<Policy, index_t>& a, int64_t col_begin, int64_t col_end,
                         int lanes) {
  if constexpr (L < kWarpSize) {
    if (lanes > L) return launch_tiles<Policy, index_t, W, 2 * L>(a, col_begin, col_end, lanes);
  }
  const int64_t blocks = blocks_for(a.n * L);
  walk_count_step_kernel<Policy, index_t, W, L>
      <<<static_cast<unsigned>(blocks), kBlockThreads, 0, a.stream>>>(
          a.rowptr, a.col, a.nnz, a.x, a.y, a.n, a.k, col_begin, col_end, a.step, a.threshold, a.flags);
  return cudaGetLastError();
}

// Lanes per row for a block of width W: enough edge groups for an average row in one chunk
// (G = next power of two >= ceil(nnz / n)), at most a whole warp.
int lanes_for(int width, int64_t nnz, int64_t n) {
  const int64_t avg = n > 0 ? (nnz + n - 1) / n : 0;
  int groups = 1;
  while (groups < kWarpSize / width && groups < avg) groups *= 2;
  return width * groups;
}

template <typename Policy, typename index_t>
cudaError_t launch_step(const StepArgs<Policy, index_t>& a) {
  if (a.n == 0 || a.k == 0) return cudaSuccess;
  const int64_t full = (a.k / kWarpSize) * kWarpSize;
  if (full > 0) {
    const cudaError_t err = launch_tiles<Policy, index_t, 32>(a, 0, full, kWarpSize);
    if (err != cudaSuccess) return err;
  }
  const int64_t rem = a.k - full;
  if (rem == 0) return cudaSuccess;
  if (rem > 16) return launch_tiles<Policy, index_t, 32>(a, full, a.k, kWarpSize);
  if (rem > 8) return launch_tiles<Policy, index_t, 16>(a, full, a.k, lanes_for(16, a.nnz, a.n));
  if (rem > 4) return launch_tiles<Policy, index_t, 8>(a, full, a.k, lanes_for(8, a.nnz, a.n));
  if (rem > 2) return launch_tiles<Policy, index_t, 4>(a, full, a.k, lanes_for(4, a.nnz, a.n));
  if (rem > 1) return launch_tiles<Policy, index_t, 2>(a, full, a.k, lanes_for(2, a.nnz, a.n));
  return launch_tiles<Policy, index_t, 1>(a, full, a.k, lanes_for(1, a.nnz, a.n));
}

template <typename value_t, typename index_t>
cudaError_t step_entry(const int64_t* rowptr, const index_t* col, int64_t nnz, const value_t* x,
                       value_t* y, int64_t n, int64_t k, int64_t step, const LongRowPlan& plan,
                       int64_t* flags, cudaStream_t stream) {
  using Policy = typename kernels::CountPolicy<value_t>::type;
  const int64_t threshold = plan.count > 0 ? plan.threshold : INT64_MAX;
  const StepArgs<Policy, index_t> a{rowptr, col, nnz, x, y, n, k, step, threshold, flags, stream};
  const cudaError_t err = launch_step<Policy, index_t>(a);
  if (err != cudaSuccess) return err;
  return launch_long_rows<Policy, index_t>(a, plan);
}

template <typename index_t>
cudaError_t finish_entry(const int64_t* rowptr, const index_t* col, int64_t* flags,
                         cudaStream_t stream) {
  walk_count_finish_kernel<index_t><<<1, 1, 0, stream>>>(rowptr, col, flags);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_walk_count_prepare(const int64_t* rowptr, int64_t n, const int64_t* start_i64,
                                      int64_t start_numel, int64_t* flags, cudaStream_t stream) {
  cudaError_t err = launch_init_flags(flags, kWalkFlagCount, stream);
  if (err != cudaSuccess) return err;
  const int64_t work = start_i64 != nullptr && start_numel > n ? start_numel : n;
  walk_count_prepare_kernel<<<static_cast<unsigned>(blocks_for(work)), kBlockThreads, 0, stream>>>(
      rowptr, n, start_i64, start_numel, flags);
  return cudaGetLastError();
}

cudaError_t launch_walk_count_step(const int64_t* rowptr, const int32_t* col, int64_t nnz,
                                   const int64_t* x, int64_t* y, int64_t n, int64_t k, int64_t step,
                                   const LongRowPlan& plan, int64_t* flags, cudaStream_t stream) {
  return step_entry<int64_t, int32_t>(rowptr, col, nnz, x, y, n, k, step, plan, flags, stream);
}

cudaError_t launch_walk_count_step(const int64_t* rowptr, const int64_t* col, int64_t nnz,
                                   const int64_t* x, int64_t* y, int64_t n, int64_t k, int64_t step,
                                   const LongRowPlan& plan, int64_t* flags, cudaStream_t stream) {
  return step_entry<int64_t, int64_t>(rowptr, col, nnz, x, y, n, k, step, plan, flags, stream);
}

cudaError_t launch_walk_count_step(const int64_t* rowptr, const int32_t* col, int64_t nnz,
                                   const double* x, double* y, int64_t n, int64_t k, int64_t step,
                                   const LongRowPlan& plan, int64_t* flags, cudaStream_t stream) {
  return step_entry<double, int32_t>(rowptr, col, nnz, x, y, n, k, step, plan, flags, stream);
}

cudaError_t launch_walk_count_step(const int64_t* rowptr, const int64_t* col, int64_t nnz,
                                   const double* x, double* y, int64_t n, int64_t k, int64_t step,
                                   const LongRowPlan& plan, int64_t* flags, cudaStream_t stream) {
  return step_entry<double, int64_t>(rowptr, col, nnz, x, y, n, k, step, plan, flags, stream);
}

cudaError_t launch_walk_count_finish(const int64_t* rowptr, const int32_t* col, int64_t* flags,
                                     cudaStream_t stream) {
  return finish_entry<int32_t>(rowptr, col, flags, stream);
}

cudaError_t launch_walk_count_finish(const int64_t* rowptr, const int64_t* col, int64_t* flags,
                                     cudaStream_t stream) {
  return finish_entry<int64_t>(rowptr, col, flags, stream);
}

}  // namespace rankcore::ops::cuda
