// CUDA kernel of the CSR validation shared by the graph ops (torch-free: compile-checkable with plain
// nvcc): one thread per slot checks its range, order, self-loop and mirror entry, recording the first
// offending slot of each kind; the binding-side check is ops/cuda/csr_checks_cuda.h.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/sorted_sets.h"
#include "ops/cuda/csr_checks_kernel.cuh"
#include "ops/cuda/cuda_common.cuh"

namespace rankcore::ops::cuda {
namespace {

template <typename index_t>
__global__ void __launch_bounds__(kBlockThreads)
    check_symmetric_csr_kernel(const int64_t* __restrict__ rowptr, const index_t* __restrict__ col, int64_t n,
                               int64_t nnz, int64_t* __restrict__ flags) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < nnz; e += stride) {
    const int64_t u = kernels::row_of_slot(rowptr, n, e);
    const int64_t v = static_cast<int64_t>(col[e]);
    if (v < 0 || v >= n) {
      flag_min(flags + kCsrFlagBadRange, e);
      continue;
    }
    if (v == u) flag_min(flags + kCsrFlagSelfLoop, e);
    if (e > rowptr[u] && static_cast<int64_t>(col[e - 1]) >= v) flag_min(flags + kCsrFlagBadOrder, e);
    const int64_t b0 = rowptr[v], b1 = rowptr[v + 1];
    const int64_t p = kernels::lower_bound(col, b0, b1, static_cast<index_t>(u));
    if (p == b1 || static_cast<int64_t>(col[p]) != u) flag_min(flags + kCsrFlagNoMirror, e);
  }
}

template <typename index_t>
cudaError_t check_entry(const int64_t* rowptr, const index_t* col, int64_t n, int64_t nnz, int64_t* flags,
                        cudaStream_t stream) {
  cudaError_t err = launch_init_flags(flags, kCsrFlagCount, stream);
  if (err != cudaSuccess || nnz == 0) return err;
  check_symmetric_csr_kernel<index_t><<<blocks_for(nnz), kBlockThreads, 0, stream>>>(rowptr, col, n, nnz, flags);
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

}  // namespace rankcore::ops::cuda
