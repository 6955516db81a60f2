// Host launchers of the CUDA kernels behind rankcore::closed_walk_counts (plain pointers, no torch
// types: closed_walk_counts_kernel.cu compiles with plain nvcc); the walk steps of L >= 4 are
// walk_count's launchers (walk_count_kernel.cuh), the triangle counts of L = 3 edge_common_neighbors'.
// Every launcher enqueues on `stream`, never synchronises and returns the launch error.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace rankcore::ops::cuda {

// Closed forms of (Â^L)_tt for L <= 3: 1 (L <= 1), deg + 1 (L = 2), and for L = 3
// 2·tri + 3·deg + 1 with 2·tri(t) = sum of common[e] over the slots of row t (common may be null for L < 3).
cudaError_t launch_closed_walks_closed_form(const int64_t* rowptr, const int64_t* common, int64_t n, int64_t length,
                                            int64_t* out, cudaStream_t stream);

// x (n x k, row-major, zero-filled by the caller): x[first + c, c] = 1 for c < k.
cudaError_t launch_one_hot_columns(int64_t* x, int64_t k, int64_t first, cudaStream_t stream);

// out[c] = sum_j a[j, c] * b[j, c] for the n x k row-major a and b (non-negative int64). A product or sum
// above INT64_MAX saturates and sets *overflow to 1 (the caller zeroes it).
cudaError_t launch_column_dots(const int64_t* a, const int64_t* b, int64_t n, int64_t k, int64_t* out,
                               int64_t* overflow, cudaStream_t stream);

}  // namespace rankcore::ops::cuda
