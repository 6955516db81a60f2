// CUDA kernels of rankcore::edge_common_neighbors and rankcore::closed_walk_counts (torch-free).
//
// Common neighbours: one warp per CSR slot (u, v). The lanes take the entries of the shorter of the two
// sorted rows and binary-search them in the longer one, then the warp sums its hits. Each undirected
// edge is intersected once (slot with u < v) and written to both of its slots. Rows are sorted sets,
// so no hashing and no scratch memory; a hub next to a leaf costs one search, not a merge over the hub.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/sorted_sets.h"
#include "ops/cuda/graph_structure_kernel.cuh"

namespace rankcore::ops::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 65536;
using ull = unsigned long long;

int64_t blocks_for(int64_t threads) {
  int64_t blocks = (threads + kThreads - 1) / kThreads;
  return blocks < 1 ? 1 : (blocks > kMaxBlocks ? kMaxBlocks : blocks);
}

__device__ __forceinline__ void flag_min(int64_t* flags, int slot, int64_t value) {
  atomicMin(reinterpret_cast<ull*>(flags + slot), static_cast<ull>(value));  // -1 is the largest
}

template <typename index_t>
__global__ void __launch_bounds__(kThreads)
    check_symmetric_csr_kernel(const int64_t* __restrict__ rowptr, const index_t* __restrict__ col, int64_t n,
                               int64_t nnz, int64_t* __restrict__ flags) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < nnz; e += stride) {
    const int64_t u = kernels::row_of_slot(rowptr, n, e);
    const int64_t v = static_cast<int64_t>(col[e]);
    if (v < 0 || v >= n) {
      flag_min(flags, kCsrFlagBadRange, e);
      continue;
    }
    if (v == u) flag_min(flags, kCsrFlagSelfLoop, e);
    if (e > rowptr[u] && static_cast<int64_t>(col[e - 1]) >= v) flag_min(flags, kCsrFlagBadOrder, e);
    const int64_t b0 = rowptr[v], b1 = rowptr[v + 1];
    const int64_t p = kernels::lower_bound(col, b0, b1, static_cast<index_t>(u));
    if (p == b1 || static_cast<int64_t>(col[p]) != u) flag_min(flags, kCsrFlagNoMirror, e);
  }
}

template <typename index_t>
__global__ void __launch_bounds__(kThreads)
    edge_common_neighbors_kernel(const int64_t* __restrict__ rowptr, const index_t* __restrict__ col, int64_t n,
                                 int64_t nnz, int64_t* __restrict__ counts) {
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int64_t num_warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t e = warp; e < nnz; e += num_warps) {  // uniform per warp
    const int64_t v = static_cast<int64_t>(col[e]);
    int64_t u = 0;
    if (lane == 0) u = kernels::row_of_slot(rowptr, n, e);
    u = __shfl_sync(0xffffffffu, u, 0);
    if (v < u) continue;  // written by the slot (v, u)
    int64_t s0 = rowptr[u], s1 = rowptr[u + 1], l0 = rowptr[v], l1 = rowptr[v + 1];
    if (s1 - s0 > l1 - l0) {  // search the shorter row's entries in the longer row
      int64_t t = s0;
      s0 = l0, l0 = t;
      t = s1;
      s1 = l1, l1 = t;
    }
    unsigned hits = 0;
    for (int64_t i = s0 + lane; i < s1; i += kWarp) {
      const index_t x = col[i];
      const int64_t p = kernels::lower_bound(col, l0, l1, x);
      hits += (p < l1 && col[p] == x);
    }
    hits = __reduce_add_sync(0xffffffffu, hits);
    if (lane == 0) {
      counts[e] = hits;
      const int64_t rev = kernels::lower_bound(col, rowptr[v], rowptr[v + 1], static_cast<index_t>(u));
      counts[rev] = hits;
    }
  }
}

__global__ void __launch_bounds__(kThreads)
    closed_form_kernel(const int64_t* __restrict__ rowptr, const int64_t* __restrict__ common, int64_t n,
                       int64_t length, int64_t* __restrict__ out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < n; t += stride) {
    const int64_t deg = rowptr[t + 1] - rowptr[t];
    if (length <= 1) {
      out[t] = 1;
    } else if (length == 2) {
      out[t] = deg + 1;
    } else {
      int64_t twice_tri = 0;
      for (int64_t e = rowptr[t]; e < rowptr[t + 1]; ++e) twice_tri += common[e];
      out[t] = twice_tri + 3 * deg + 1;
    }
  }
}

__global__ void one_hot_kernel(int64_t* __restrict__ x, int64_t k, int64_t first) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c < k) x[(first + c) * k + c] = 1;
}

// One block per column; thread partial sums, then a shared-memory tree. Saturating at INT64_MAX.
__global__ void __launch_bounds__(kThreads)
    column_dots_kernel(const int64_t* __restrict__ a, const int64_t* __restrict__ b, int64_t n, int64_t k,
                       int64_t* __restrict__ out, int64_t* __restrict__ overflow) {
  constexpr ull kMax = 0x7fffffffffffffffULL;
  __shared__ ull partial[kThreads];
  const int64_t c = blockIdx.x;
  ull sum = 0;
  bool over = false;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const ull x = static_cast<ull>(a[j * k + c]), y = static_cast<ull>(b[j * k + c]);
    const ull lo = x * y;
    if (__umul64hi(x, y) != 0 || lo > kMax) {
      over = true;
      sum = kMax;
    } else {
      sum += lo;  // both <= 2^63 - 1: no wrap in 64 bits
      if (sum > kMax) {
        over = true;
        sum = kMax;
      }
    }
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) {
      ull s = partial[threadIdx.x] + partial[threadIdx.x + half];
      if (s > kMax) {
        s = kMax;
        over = true;
      }
      partial[threadIdx.x] = s;
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) out[c] = static_cast<int64_t>(partial[0]);
  if (over) *overflow = 1;
}

template <typename index_t>
cudaError_t check_entry(const int64_t* rowptr, const index_t* col, int64_t n, int64_t nnz, int64_t* flags,
                        cudaStream_t stream) {
  cudaError_t err = cudaMemsetAsync(flags, 0xff, sizeof(int64_t) * kCsrFlagCount, stream);
  if (err != cudaSuccess || nnz == 0) return err;
  check_symmetric_csr_kernel<index_t>
      <<<static_cast<unsigned>(blocks_for(nnz)), kThreads, 0, stream>>>(rowptr, col, n, nnz, flags);
  return cudaGetLastError();
}

template <typename index_t>
cudaError_t common_entry(const int64_t* rowptr, const index_t* col, int64_t n, int64_t nnz, int64_t* counts,
                         cudaStream_t stream) {
  if (nnz == 0) return cudaSuccess;
  edge_common_neighbors_kernel<index_t>
      <<<static_cast<unsigned>(blocks_for(nnz * kWarp)), kThreads, 0, stream>>>(rowptr, col, n, nnz, counts);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_check_symmetric_csr(const int64_t* rowptr, const int32_t* col, int64_t n, int64_t nnz,
                                       int64_t* flags, cudaStream_t stream) {
  return check_entry(rowptr, col, n, nnz, flags, stream);
}
cudaError_t launch_check_symmetric_csr(const int64_t* rowptr, const int64_t* col, int64_t n, int64_t nnz,
                                       int64_t* flags, cudaStream_t stream) {
  return check_entry(rowptr, col, n, nnz, flags, stream);
}
cudaError_t launch_edge_common_neighbors(const int64_t* rowptr, const int32_t* col, int64_t n, int64_t nnz,
                                         int64_t* counts, cudaStream_t stream) {
  return common_entry(rowptr, col, n, nnz, counts, stream);
}
cudaError_t launch_edge_common_neighbors(const int64_t* rowptr, const int64_t* col, int64_t n, int64_t nnz,
                                         int64_t* counts, cudaStream_t stream) {
  return common_entry(rowptr, col, n, nnz, counts, stream);
}

cudaError_t launch_closed_walks_closed_form(const int64_t* rowptr, const int64_t* common, int64_t n,
                                            int64_t length, int64_t* out, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  closed_form_kernel<<<static_cast<unsigned>(blocks_for(n)), kThreads, 0, stream>>>(rowptr, common, n, length,
                                                                                     out);
  return cudaGetLastError();
}

cudaError_t launch_one_hot_columns(int64_t* x, int64_t k, int64_t first, cudaStream_t stream) {
  if (k == 0) return cudaSuccess;
  one_hot_kernel<<<static_cast<unsigned>((k + kThreads - 1) / kThreads), kThreads, 0, stream>>>(x, k, first);
  return cudaGetLastError();
}

cudaError_t launch_column_dots(const int64_t* a, const int64_t* b, int64_t n, int64_t k, int64_t* out,
                               int64_t* overflow, cudaStream_t stream) {
  if (k == 0) return cudaSuccess;
  column_dots_kernel<<<static_cast<unsigned>(k), kThreads, 0, stream>>>(a, b, n, k, out, overflow);
  return cudaGetLastError();
}

}  // namespace rankcore::ops::cuda
