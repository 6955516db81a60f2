// CUDA kernels of rankcore::walk_count (torch-free: compile-checkable with plain nvcc).
//
// Pull formulation over the in-neighbour CSR, as on the CPU: every output row is written by exactly
// one tile of lanes (or, for a long row, by the last of its chunk blocks), so there are no atomics on
// the output. One launch per step (the layout is in kernels/walk_count.h, replayed on the host by
// tests/ops/cpp/walk_step_emulation.cpp):
//   * columns: lane q of a tile handles V consecutive columns at (q % W) * V of a column block of
//     W * V columns (V = 4 / 2: 16-byte loads of int64 / float64 rows, when k is a multiple of V and
//     x, y are 16-byte aligned; V = 1 otherwise) and edge group g = q / W of G = L / W groups;
//   * rows: each block bins a segment of 256 rows by degree in shared memory (no host pass): short
//     rows go to tiles of Ls < 32 lanes (several rows per warp), mid-size rows (<= 256 entries) to one
//     warp, larger rows to the whole block (8 warps take the 32-edge chunks in turn, their sums added in
//     shared memory in warp order); rows of the cached long-row plan (> 1024 entries) are cut into
//     chunks of 1024, one block each after the segment blocks of the same grid, and the last chunk block
//     of a row to finish (a completion counter per row) adds the chunks' partial sums in chunk order.
// Within a tile, each lane loads one col entry of a chunk of L entries (coalesced), the tile broadcasts
// them with shuffles so that group g accumulates the edges t * G + g (t < W) of the chunk; the G partial
// sums are reduced with __shfl_down_sync (offsets L/2, ..., W) using Policy::add (the saturating uint64
// add is associative: it computes min(true sum, 2^63)), and the lanes of group 0 add the self-loop term
// x[j, c] and write y[j, c].
//
// Errors never stop a kernel: out-of-range col entries are skipped and their smallest position is
// recorded; a saturated int64 count is stored as INT64_MAX and the smallest saturating step is
// recorded; edge ranges are clamped to [0, nnz) so that a malformed rowptr (reported by the prepare
// kernel) cannot cause out-of-bounds reads. The host reads all flags once, after the last step.
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "kernels/walk_count.h"
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/walk_count_kernel.cuh"

namespace rankcore::ops::cuda {
namespace {

// ---------------------------------------------------------------------------------------------
// prepare: flags init + rowptr monotonicity + non-negative int64 start

__global__ void __launch_bounds__(kBlockThreads)
    walk_count_prepare_kernel(const int64_t* __restrict__ rowptr, int64_t n, const int64_t* __restrict__ start,
                              int64_t start_numel, int64_t* __restrict__ flags) {
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
__global__ void walk_count_finish_kernel(const int64_t* __restrict__ rowptr, const index_t* __restrict__ col,
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
// one step: a single launch (see the layout in kernels/walk_count.h)

// True when an earlier launch already recorded an error, so this step's result cannot be returned:
// a malformed rowptr or negative start (prepare), a bad col entry (found by step 1, which always runs
// in full) or an overflow at an earlier step. An overflow recorded by this same step (== step) does
// not count, so the smallest overflowing step and the smallest bad col position stay deterministic,
// and every block of one launch sees the same answer (only earlier launches wrote what it reads).
// Lets a long int64 walk that overflows early finish its remaining steps at almost no cost.
__device__ __forceinline__ bool walk_failed(const int64_t* flags, int64_t step, int64_t nnz) {
  const auto overflow_step = static_cast<ull>(flags[kWalkFlagOverflowStep]);
  return overflow_step < static_cast<ull>(step) || (step > 1 && flags[kWalkFlagBadCol] >= 0) ||
         flags[kWalkFlagBadRowptr] >= 0 || flags[kWalkFlagNegativeStart] >= 0 || flags[kWalkFlagRowptrFirst] != 0 ||
         flags[kWalkFlagRowptrLast] != nnz;
}

// V consecutive values at p (V * 8 bytes, 16-byte aligned when V > 1): 16-byte loads.
template <typename Policy, int V>
__device__ __forceinline__ void load_values(const typename Policy::value_t* p, typename Policy::acc_t (&v)[V]) {
  using value_t = typename Policy::value_t;
  if constexpr (V == 1) {
    v[0] = Policy::load(__ldg(p));
  } else {
#pragma unroll
    for (int h = 0; h < V / 2; ++h) {
      if constexpr (sizeof(value_t) == 8 && std::is_floating_point_v<value_t>) {
        const double2 d = __ldg(reinterpret_cast<const double2*>(p) + h);
        v[2 * h] = Policy::load(d.x);
        v[2 * h + 1] = Policy::load(d.y);
      } else {
        const longlong2 d = __ldg(reinterpret_cast<const longlong2*>(p) + h);
        v[2 * h] = Policy::load(static_cast<value_t>(d.x));
        v[2 * h + 1] = Policy::load(static_cast<value_t>(d.y));
      }
    }
  }
}

template <typename Policy, int V>
__device__ __forceinline__ void store_values(typename Policy::value_t* p, const typename Policy::acc_t (&a)[V]) {
  using value_t = typename Policy::value_t;
  if constexpr (V == 1) {
    p[0] = Policy::store(a[0]);
  } else {
#pragma unroll
    for (int h = 0; h < V / 2; ++h) {
      if constexpr (std::is_floating_point_v<value_t>) {
        reinterpret_cast<double2*>(p)[h] = make_double2(Policy::store(a[2 * h]), Policy::store(a[2 * h + 1]));
      } else {
        reinterpret_cast<longlong2*>(p)[h] = make_longlong2(static_cast<long long>(Policy::store(a[2 * h])),
                                                            static_cast<long long>(Policy::store(a[2 * h + 1])));
      }
    }
  }
}

template <typename Policy, typename index_t>
struct StepParams {
  const int64_t* rowptr;
  const index_t* col;
  int64_t nnz;
  const typename Policy::value_t* x;
  typename Policy::value_t* y;
  int64_t n, k, step, threshold;
  kernels::WalkLayout lay;
  kernels::WalkGrid grid;
  const int64_t* long_rows;
  int64_t max_chunks;
  typename Policy::acc_t* partial;
  ull* counters;
  int64_t* flags;
};

// Tile sums over the edges [e0, e1) of one row for the column block starting at cb: the tile (L lanes
// of one warp, `mask` its lanes, q the lane within it) reads the chunks at e0 + first * L, stepping by
// stride * L (first = 0, stride = 1 for a row owned by one tile; the warp index and kWalkWarps for a row
// owned by a block). Returns the lane's V sums, reduced over the tile's groups into the lanes of group 0.
template <typename Policy, typename index_t, int V, int W>
__device__ __forceinline__ void tile_sums(const StepParams<Policy, index_t>& p, int64_t e0, int64_t e1, int64_t cb,
                                          int L, int q, unsigned mask, int first, int stride,
                                          typename Policy::acc_t (&acc)[V]) {
  using value_t = typename Policy::value_t;
  const int G = L / W;
  const int g = kernels::walk_lane_group(q, W);
  const int64_t c = cb + kernels::walk_lane_column(q, W, V);
  const bool active = c < p.k;
#pragma unroll
  for (int v = 0; v < V; ++v) acc[v] = Policy::load(value_t(0));
  for (int64_t base = e0 + static_cast<int64_t>(first) * L; base < e1; base += static_cast<int64_t>(stride) * L) {
    index_t mine = -1;  // this lane's source of the chunk; -1: past the row or invalid
    const int64_t e = base + q;
    if (e < e1) {
      const index_t i = __ldg(p.col + e);
      if (i >= 0 && static_cast<int64_t>(i) < p.n) {
        mine = i;
      } else if (cb == 0) {
        flag_min(p.flags + kWalkFlagBadCol, e);
      }
    }
#pragma unroll
    for (int t = 0; t < W; ++t) {
      const index_t i = (L == 1) ? mine : __shfl_sync(mask, mine, kernels::walk_source_lane(t, g, G), L);
      if (active && i >= 0) {
        typename Policy::acc_t v[V];
        load_values<Policy, V>(p.x + static_cast<int64_t>(i) * p.k + c, v);
#pragma unroll
        for (int u = 0; u < V; ++u) acc[u] = Policy::add(acc[u], v[u]);
      }
    }
  }
  for (int off = L / 2; off >= W; off /= 2) {
#pragma unroll
    for (int u = 0; u < V; ++u) acc[u] = Policy::add(acc[u], __shfl_down_sync(mask, acc[u], off, L));
  }
}

// Adds the self-loop term x[j, c..] to the V sums, stores y[j, c..]; true when a count saturated.
template <typename Policy, typename index_t, int V>
__device__ __forceinline__ bool finish_row(const StepParams<Policy, index_t>& p, int64_t j, int64_t c,
                                           typename Policy::acc_t (&acc)[V]) {
  typename Policy::acc_t self[V];
  load_values<Policy, V>(p.x + j * p.k + c, self);
  bool overflow = false;
#pragma unroll
  for (int u = 0; u < V; ++u) {
    acc[u] = Policy::add(acc[u], self[u]);
    overflow |= Policy::overflowed(acc[u]);
  }
  store_values<Policy, V>(p.y + j * p.k + c, acc);
  return overflow;
}

// A row owned by one tile of L lanes (short or warp bin).
template <typename Policy, typename index_t, int V, int W>
__device__ __forceinline__ void tile_row(const StepParams<Policy, index_t>& p, int64_t j, int64_t e0, int64_t e1, int L,
                                         int q, unsigned mask) {
  for (int64_t cb = 0; cb < p.k; cb += W * V) {
    typename Policy::acc_t acc[V];
    tile_sums<Policy, index_t, V, W>(p, e0, e1, cb, L, q, mask, 0, 1, acc);
    const int64_t c = cb + kernels::walk_lane_column(q, W, V);
    bool overflow = false;
    if (kernels::walk_lane_group(q, W) == 0 && c < p.k) overflow = finish_row<Policy, index_t, V>(p, j, c, acc);
    if (__any_sync(mask, overflow) && q == 0) flag_min(p.flags + kWalkFlagOverflowStep, p.step);
  }
}

// The edges [e0, e1) summed by the whole block for the column block cb: every warp a tile of 32 lanes
// taking every kWalkWarps-th chunk, the warps' sums added in warp order in shared memory. On return the
// threads t < W hold the total (in acc) for the columns cb + t * V ...; `red` is the block's scratch.
template <typename Policy, typename index_t, int V, int W>
__device__ __forceinline__ void block_sums(const StepParams<Policy, index_t>& p, int64_t e0, int64_t e1, int64_t cb,
                                           typename Policy::acc_t* red, typename Policy::acc_t (&acc)[V]) {
  const int t = static_cast<int>(threadIdx.x);
  const int warp = t / kWarpSize, q = t % kWarpSize;
  tile_sums<Policy, index_t, V, W>(p, e0, e1, cb, kWarpSize, q, 0xffffffffu, warp, kernels::kWalkWarps, acc);
  if (q < W) {
#pragma unroll
    for (int u = 0; u < V; ++u) red[(warp * W + q) * V + u] = acc[u];
  }
  __syncthreads();
  if (t < W) {
#pragma unroll
    for (int u = 0; u < V; ++u) acc[u] = red[t * V + u];
    for (int w = 1; w < kernels::kWalkWarps; ++w) {
#pragma unroll
      for (int u = 0; u < V; ++u) acc[u] = Policy::add(acc[u], red[(w * W + t) * V + u]);
    }
  }
  __syncthreads();  // red is reused by the next call
}

template <typename Policy, typename index_t, int V, int W>
__global__ void __launch_bounds__(kBlockThreads) walk_count_step_kernel(const StepParams<Policy, index_t> p) {
  static_assert(kBlockThreads == kernels::kWalkBlockThreads && kBlockThreads == kernels::kWalkSegmentRows,
                "one row per thread when binning a segment");
  using acc_t = typename Policy::acc_t;
  __shared__ int lists[3][kernels::kWalkSegmentRows];  // row offsets within the segment, per bin
  __shared__ int counts[3];
  __shared__ acc_t red[kernels::kWalkWarps * W * V];
  __shared__ int last;

  if (walk_failed(p.flags, p.step, p.nnz)) return;  // uniform over the launch
  const int t = static_cast<int>(threadIdx.x);
  const int lane = t % kWarpSize, warp = t / kWarpSize;

  if (static_cast<int64_t>(blockIdx.x) < p.grid.seg_blocks) {
    const int Ls = p.lay.Ls;
    const int q = lane % Ls;
    const unsigned tile_mask = (Ls == kWarpSize) ? 0xffffffffu : (((1u << Ls) - 1u) << (lane - q));
    for (int64_t seg = blockIdx.x; seg < p.grid.num_segments; seg += p.grid.seg_blocks) {
      const int64_t row0 = seg * kernels::kWalkSegmentRows;
      if (t < 3) counts[t] = 0;
      __syncthreads();
      const int64_t j = row0 + t;
      if (j < p.n) {
        int64_t e0 = __ldg(p.rowptr + j), e1 = __ldg(p.rowptr + j + 1);
        e0 = e0 < 0 ? 0 : e0;
        e1 = e1 > p.nnz ? p.nnz : e1;
        const int bin = kernels::walk_bin(e1 - e0, p.lay, p.threshold);
        if (bin != kernels::kWalkBinLong) lists[bin][atomicAdd(&counts[bin], 1)] = t;
      }
      __syncthreads();
      // short rows: Ls-lane tiles, kBlockThreads / Ls rows at a time
      for (int i = t / Ls; i < counts[kernels::kWalkBinShort]; i += kBlockThreads / Ls) {
        const int64_t r = row0 + lists[kernels::kWalkBinShort][i];
        int64_t e0 = __ldg(p.rowptr + r), e1 = __ldg(p.rowptr + r + 1);
        e0 = e0 < 0 ? 0 : e0;
        e1 = e1 > p.nnz ? p.nnz : e1;
        tile_row<Policy, index_t, V, W>(p, r, e0, e1, Ls, q, tile_mask);
      }
      // mid-size rows: one warp each
      for (int i = warp; i < counts[kernels::kWalkBinWarp]; i += kernels::kWalkWarps) {
        const int64_t r = row0 + lists[kernels::kWalkBinWarp][i];
        int64_t e0 = __ldg(p.rowptr + r), e1 = __ldg(p.rowptr + r + 1);
        e0 = e0 < 0 ? 0 : e0;
        e1 = e1 > p.nnz ? p.nnz : e1;
        tile_row<Policy, index_t, V, W>(p, r, e0, e1, kWarpSize, lane, 0xffffffffu);
      }
      // large rows (up to the long-row threshold): the whole block each
      for (int i = 0; i < counts[kernels::kWalkBinBlock]; ++i) {
        const int64_t r = row0 + lists[kernels::kWalkBinBlock][i];
        int64_t e0 = __ldg(p.rowptr + r), e1 = __ldg(p.rowptr + r + 1);
        e0 = e0 < 0 ? 0 : e0;
        e1 = e1 > p.nnz ? p.nnz : e1;
        for (int64_t cb = 0; cb < p.k; cb += W * V) {
          acc_t acc[V];
          block_sums<Policy, index_t, V, W>(p, e0, e1, cb, red, acc);
          const int64_t c = cb + static_cast<int64_t>(t) * V;
          bool overflow = false;
          if (t < W && c < p.k) overflow = finish_row<Policy, index_t, V>(p, r, c, acc);
          if (overflow) flag_min(p.flags + kWalkFlagOverflowStep, p.step);
        }
      }
      __syncthreads();  // the lists are rewritten for the next segment
    }
    return;
  }

  // long rows: one block per chunk of kLongRowChunk entries; the last block of a row combines
  for (int64_t item = static_cast<int64_t>(blockIdx.x) - p.grid.seg_blocks; item < p.grid.long_items;
       item += p.grid.long_blocks) {
    const int64_t r = item / p.max_chunks, chunk = item % p.max_chunks;
    const int64_t j = p.long_rows[r];
    int64_t e0 = p.rowptr[j], e1 = p.rowptr[j + 1];
    e0 = e0 < 0 ? 0 : e0;
    e1 = e1 > p.nnz ? p.nnz : e1;
    const int64_t chunks = (e1 - e0 + kLongRowChunk - 1) / kLongRowChunk;
    if (chunk >= chunks) continue;  // uniform per block: this row has fewer chunks
    const int64_t c0 = e0 + chunk * kLongRowChunk;
    const int64_t c1 = c0 + kLongRowChunk < e1 ? c0 + kLongRowChunk : e1;
    for (int64_t cb = 0; cb < p.k; cb += W * V) {
      acc_t acc[V];
      block_sums<Policy, index_t, V, W>(p, c0, c1, cb, red, acc);
      const int64_t c = cb + static_cast<int64_t>(t) * V;
      if (t < W && c < p.k) {
#pragma unroll
        for (int u = 0; u < V; ++u) p.partial[(r * p.max_chunks + chunk) * p.k + c + u] = acc[u];
      }
    }
    __threadfence();  // the partial sums are visible device-wide before the count says so
    __syncthreads();
    if (t == 0) last = atomicAdd(p.counters + r, 1ull) == static_cast<ull>(chunks - 1);
    __syncthreads();
    if (last) {  // every chunk of row r is in `partial`: add them in chunk order (deterministic)
      __threadfence();
      bool overflow = false;
      for (int64_t c = t; c < p.k; c += kBlockThreads) {
        acc_t a = Policy::load(p.x[j * p.k + c]);
        for (int64_t ch = 0; ch < chunks; ++ch)
          a = Policy::add(a, __ldcg(p.partial + (r * p.max_chunks + ch) * p.k + c));
        overflow |= Policy::overflowed(a);
        p.y[j * p.k + c] = Policy::store(a);
      }
      if (overflow) flag_min(p.flags + kWalkFlagOverflowStep, p.step);
      if (t == 0) p.counters[r] = 0;  // ready for the next step
    }
    __syncthreads();  // `last` and `red` are reused by the next item
  }
}

template <typename Policy, typename index_t, int V>
cudaError_t launch_width(const StepParams<Policy, index_t>& p, cudaStream_t stream);

template <typename Policy, typename index_t, int V, int W>
cudaError_t launch_w(const StepParams<Policy, index_t>& p, cudaStream_t stream) {
  const int64_t blocks = p.grid.seg_blocks + p.grid.long_blocks;
  if (blocks == 0) return cudaSuccess;
  walk_count_step_kernel<Policy, index_t, V, W><<<static_cast<unsigned>(blocks), kBlockThreads, 0, stream>>>(p);
  return cudaGetLastError();
}

template <typename Policy, typename index_t, int V>
cudaError_t launch_width(const StepParams<Policy, index_t>& p, cudaStream_t stream) {
  switch (p.lay.W) {
    case 1:
      return launch_w<Policy, index_t, V, 1>(p, stream);
    case 2:
      return launch_w<Policy, index_t, V, 2>(p, stream);
    case 4:
      return launch_w<Policy, index_t, V, 4>(p, stream);
    case 8:
      return launch_w<Policy, index_t, V, 8>(p, stream);
    case 16:
      return launch_w<Policy, index_t, V, 16>(p, stream);
    default:
      return launch_w<Policy, index_t, V, 32>(p, stream);
  }
}

template <typename value_t, typename index_t>
cudaError_t step_entry(const int64_t* rowptr, const index_t* col, int64_t nnz, const value_t* x, value_t* y, int64_t n,
                       int64_t k, int64_t step, const LongRowPlan& plan, int64_t* flags, cudaStream_t stream) {
  using Policy = typename kernels::CountPolicy<value_t>::type;
  if (n == 0 || k == 0) return cudaSuccess;
  const bool has_long = plan.count > 0 && plan.max_chunks > 0;
  const bool aligned16 = reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0;
  StepParams<Policy, index_t> p{};
  p.rowptr = rowptr;
  p.col = col;
  p.nnz = nnz;
  p.x = x;
  p.y = y;
  p.n = n;
  p.k = k;
  p.step = step;
  p.threshold = has_long ? plan.threshold : INT64_MAX;
  p.lay = kernels::walk_layout(k, nnz, n, aligned16);
  p.grid = kernels::walk_grid(n, has_long ? plan.count : 0, has_long ? plan.max_chunks : 0, kMaxBlocks);
  p.long_rows = plan.rows;
  p.max_chunks = plan.max_chunks;
  p.partial = static_cast<typename Policy::acc_t*>(plan.partial);
  p.counters = plan.counters;
  p.flags = flags;
  if (has_long && (plan.partial == nullptr || plan.counters == nullptr)) return cudaErrorInvalidValue;
  switch (p.lay.V) {
    case 4:
      return launch_width<Policy, index_t, 4>(p, stream);
    case 2:
      return launch_width<Policy, index_t, 2>(p, stream);
    default:
      return launch_width<Policy, index_t, 1>(p, stream);
  }
}

template <typename index_t>
cudaError_t finish_entry(const int64_t* rowptr, const index_t* col, int64_t* flags, cudaStream_t stream) {
  walk_count_finish_kernel<index_t><<<1, 1, 0, stream>>>(rowptr, col, flags);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_walk_count_prepare(const int64_t* rowptr, int64_t n, const int64_t* start_i64, int64_t start_numel,
                                      int64_t* flags, cudaStream_t stream) {
  cudaError_t err = launch_init_flags(flags, kWalkFlagCount, stream);
  if (err != cudaSuccess) return err;
  const int64_t work = start_i64 != nullptr && start_numel > n ? start_numel : n;
  walk_count_prepare_kernel<<<static_cast<unsigned>(blocks_for(work)), kBlockThreads, 0, stream>>>(rowptr, n, start_i64,
                                                                                                   start_numel, flags);
  return cudaGetLastError();
}

cudaError_t launch_walk_count_step(const int64_t* rowptr, const int32_t* col, int64_t nnz, const int64_t* x, int64_t* y,
                                   int64_t n, int64_t k, int64_t step, const LongRowPlan& plan, int64_t* flags,
                                   cudaStream_t stream) {
  return step_entry<int64_t, int32_t>(rowptr, col, nnz, x, y, n, k, step, plan, flags, stream);
}

cudaError_t launch_walk_count_step(const int64_t* rowptr, const int64_t* col, int64_t nnz, const int64_t* x, int64_t* y,
                                   int64_t n, int64_t k, int64_t step, const LongRowPlan& plan, int64_t* flags,
                                   cudaStream_t stream) {
  return step_entry<int64_t, int64_t>(rowptr, col, nnz, x, y, n, k, step, plan, flags, stream);
}

cudaError_t launch_walk_count_step(const int64_t* rowptr, const int32_t* col, int64_t nnz, const double* x, double* y,
                                   int64_t n, int64_t k, int64_t step, const LongRowPlan& plan, int64_t* flags,
                                   cudaStream_t stream) {
  return step_entry<double, int32_t>(rowptr, col, nnz, x, y, n, k, step, plan, flags, stream);
}

cudaError_t launch_walk_count_step(const int64_t* rowptr, const int64_t* col, int64_t nnz, const double* x, double* y,
                                   int64_t n, int64_t k, int64_t step, const LongRowPlan& plan, int64_t* flags,
                                   cudaStream_t stream) {
  return step_entry<double, int64_t>(rowptr, col, nnz, x, y, n, k, step, plan, flags, stream);
}

cudaError_t launch_walk_count_finish(const int64_t* rowptr, const int32_t* col, int64_t* flags, cudaStream_t stream) {
  return finish_entry<int32_t>(rowptr, col, flags, stream);
}

cudaError_t launch_walk_count_finish(const int64_t* rowptr, const int64_t* col, int64_t* flags, cudaStream_t stream) {
  return finish_entry<int64_t>(rowptr, col, flags, stream);
}

}  // namespace rankcore::ops::cuda
