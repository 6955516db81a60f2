// Host launcher of the CUDA kernel behind rankcore::edge_common_neighbors (plain pointers, no torch
// types: edge_common_neighbors_kernel.cu compiles with plain nvcc). Enqueues on `stream`, never
// synchronises, returns the launch error.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace rankcore::ops::cuda {

// counts[e] = |row(u) ∩ row(col[e])| for every slot e = (u, v) of a validated symmetric CSR.
cudaError_t launch_edge_common_neighbors(const int64_t* rowptr, const int32_t* col, int64_t n, int64_t nnz,
                                         int64_t* counts, cudaStream_t stream);
cudaError_t launch_edge_common_neighbors(const int64_t* rowptr, const int64_t* col, int64_t n, int64_t nnz,
                                         int64_t* counts, cudaStream_t stream);

}  // namespace rankcore::ops::cuda
