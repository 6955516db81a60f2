// Host launcher of the CUDA kernel that validates the symmetric CSR of a simple undirected graph on the
// device (plain pointers, no torch types: csr_checks_kernel.cu compiles with plain nvcc). The binding
// side, with the error messages, is ops/cuda/csr_checks_cuda.h.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace rankcore::ops::cuda {

// Validation flags of a symmetric CSR: each holds the smallest offending slot, or -1.
enum CsrFlag : int {
  kCsrFlagBadRange = 0,  // col[e] outside [0, n)
  kCsrFlagSelfLoop = 1,  // col[e] == row of e
  kCsrFlagBadOrder = 2,  // col[e - 1] >= col[e] within a row
  kCsrFlagNoMirror = 3,  // (u, v) present but (v, u) absent
  kCsrFlagCount = 4,
};

// Sets the flags to -1 and records, for the CSR (rowptr, col) of n rows and nnz entries, the first
// offending slot of each kind. rowptr must be valid (checked by the caller on the host). Enqueues on
// `stream`, never synchronises, returns the launch error.
cudaError_t launch_check_symmetric_csr(const int64_t* rowptr, const int32_t* col, int64_t n, int64_t nnz,
                                       int64_t* flags, cudaStream_t stream);
cudaError_t launch_check_symmetric_csr(const int64_t* rowptr, const int64_t* col, int64_t n, int64_t nnz,
                                       int64_t* flags, cudaStream_t stream);

}  // namespace rankcore::ops::cuda
