// Host launchers of the CUDA kernels behind rankcore::edge_common_neighbors and
// rankcore::closed_walk_counts (plain pointers, no torch types: graph_structure_kernel.cu compiles with
// plain nvcc). Every launcher enqueues on `stream`, never synchronises and returns the launch error.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace rankcore::ops::cuda {

// Validation flags of a symmetric CSR: each holds the smallest offending slot, or -1.
enum CsrFlag : int {
  kCsrFlagBadRange = 0,   // col[e] outside [0, n)
  kCsrFlagSelfLoop = 1,   // col[e] == row of e
  kCsrFlagBadOrder = 2,   // col[e - 1] >= col[e] within a row
  kCsrFlagNoMirror = 3,   // (u, v) present but (v, u) absent
  kCsrFlagCount = 4,
};

// Sets the flags to -1 and records, for the CSR (rowptr, col) of n rows and nnz entries, the first
// offending slot of each kind. rowptr must be valid (checked by the caller on the host).
cudaError_t launch_check_symmetric_csr(const int64_t* rowptr, const int32_t* col, int64_t n, int64_t nnz,
                                       int64_t* flags, cudaStream_t stream);
cudaError_t launch_check_symmetric_csr(const int64_t* rowptr, const int64_t* col, int64_t n, int64_t nnz,
                                       int64_t* flags, cudaStream_t stream);

// counts[e] = |row(u) ∩ row(col[e])| for every slot e = (u, v) of a validated symmetric CSR.
cudaError_t launch_edge_common_neighbors(const int64_t* rowptr, const int32_t* col, int64_t n, int64_t nnz,
                                         int64_t* counts, cudaStream_t stream);
cudaError_t launch_edge_common_neighbors(const int64_t* rowptr, const int64_t* col, int64_t n, int64_t nnz,
                                         int64_t* counts, cudaStream_t stream);

// Closed forms of (Â^L)_tt for L <= 3: 1 (L <= 1), deg + 1 (L = 2), and for L = 3
// 2·tri + 3·deg + 1 with 2·tri(t) = sum of common[e] over the slots of row t (common may be null for L < 3).
cudaError_t launch_closed_walks_closed_form(const int64_t* rowptr, const int64_t* common, int64_t n,
                                            int64_t length, int64_t* out, cudaStream_t stream);

// x (n x k, row-major, zero-filled by the caller): x[first + c, c] = 1 for c < k.
cudaError_t launch_one_hot_columns(int64_t* x, int64_t k, int64_t first, cudaStream_t stream);

// out[c] = sum_j a[j, c] * b[j, c] for the n x k row-major a and b (non-negative int64). A product or sum
// above INT64_MAX saturates and sets *overflow to 1 (the caller zeroes it).
cudaError_t launch_column_dots(const int64_t* a, const int64_t* b, int64_t n, int64_t k, int64_t* out,
                               int64_t* overflow, cudaStream_t stream);

}  // namespace rankcore::ops::cuda
