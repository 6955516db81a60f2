// CUDA kernel of rankcore::edge_common_neighbors (torch-free: compile-checkable with plain nvcc).
//
// One warp per CSR slot (u, v). The lanes take the entries of the shorter of the two sorted rows and
// binary-search them in the longer one, then the warp sums its hits. Each undirected edge is
// intersected once (slot with u < v) and written to both of its slots. Rows are sorted sets, so no
// hashing and no scratch memory; a hub next to a leaf costs one search, not a merge over the hub.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/sorted_sets.h"
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/edge_common_neighbors_kernel.cuh"

namespace rankcore::ops::cuda {
namespace {

template <typename index_t>
__global__ void __launch_bounds__(kBlockThreads)
    edge_common_neighbors_kernel(const int64_t* __restrict__ rowptr, const index_t* __restrict__ col, int64_t n,
                                 int64_t nnz, int64_t* __restrict__ counts) {
  const int lane = static_cast<int>(threadIdx.x) % kWarpSize;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarpSize;
  const int64_t num_warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / kWarpSize);
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
    for (int64_t i = s0 + lane; i < s1; i += kWarpSize) {
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

template <typename index_t>
cudaError_t common_entry(const int64_t* rowptr, const index_t* col, int64_t n, int64_t nnz, int64_t* counts,
                         cudaStream_t stream) {
  if (nnz == 0) return cudaSuccess;
  edge_common_neighbors_kernel<index_t>
      <<<blocks_for(nnz * kWarpSize), kBlockThreads, 0, stream>>>(rowptr, col, n, nnz, counts);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_edge_common_neighbors(const int64_t* rowptr, const int32_t* col, int64_t n, int64_t nnz,
                                         int64_t* counts, cudaStream_t stream) {
  return common_entry(rowptr, col, n, nnz, counts, stream);
}
cudaError_t launch_edge_common_neighbors(const int64_t* rowptr, const int64_t* col, int64_t n, int64_t nnz,
                                         int64_t* counts, cudaStream_t stream) {
  return common_entry(rowptr, col, n, nnz, counts, stream);
}

}  // namespace rankcore::ops::cuda
