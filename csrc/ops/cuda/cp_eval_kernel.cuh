// Host launchers of the CUDA cp_eval kernels: plain pointers, no torch types, so that
// cp_eval_kernel.cu can be compile-checked with plain nvcc on a machine whose torch has no CUDA.
//
// The factor list reaches the kernels as device arrays: `factors[n]` points to the contiguous
// [dims[n], R] factor n (dims may differ between modes), `grads[n]` to its [dims[n], R] gradient.
// Every launcher enqueues its work on `stream`, never synchronises, and returns the first CUDA error.
//
// Out-of-range indices never stop a kernel: the item is skipped and the smallest flat position
// b * N + n of a bad index is recorded in `*flag` (set to -1 by launch_init_flags of cuda_common.cuh;
// updated with flag_min). The caller copies the flag to the host once and raises the error.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace rankcore::ops::cuda {

// out[b] = sum_r prod_n factors[n][indices[b, n] * R + r] for b < B; indices is [B, N] row-major.
cudaError_t launch_cp_eval_forward(const float* const* factors, const int64_t* dims, const int64_t* indices, int64_t B,
                                   int64_t N, int64_t R, float* out, int64_t* flag, cudaStream_t stream);
cudaError_t launch_cp_eval_forward(const double* const* factors, const int64_t* dims, const int64_t* indices, int64_t B,
                                   int64_t N, int64_t R, double* out, int64_t* flag, cudaStream_t stream);

// Plans the shared-memory accumulation of the backward on `device`: fills smem_offset_host[n] (N
// entries) with the offset of mode n's gradient in a block's shared buffer, or -1 for modes whose
// gradient is accumulated straight into global memory. Modes are taken smallest first (small d means
// many items hit the same rows, which is where global atomics would serialise). Writes the buffer
// size in elements to *smem_elems.
cudaError_t plan_cp_eval_backward_smem(const int64_t* dims_host, int64_t N, int64_t R, int64_t elem_size, int device,
                                       int64_t* smem_offset_host, int64_t* smem_elems);

// grads[n][i * R + r] += sum_{b : indices[b, n] = i} grad[b] * prod_{m != n} factors[m][indices[b, m] * R + r].
// The gradients must be zeroed by the caller. smem_offset (device, N entries) and smem_elems come
// from plan_cp_eval_backward_smem.
cudaError_t launch_cp_eval_backward(const float* grad, const float* const* factors, const int64_t* dims,
                                    const int64_t* smem_offset, int64_t smem_elems, const int64_t* indices, int64_t B,
                                    int64_t N, int64_t R, float* const* grads, int64_t* flag, cudaStream_t stream);
cudaError_t launch_cp_eval_backward(const double* grad, const double* const* factors, const int64_t* dims,
                                    const int64_t* smem_offset, int64_t smem_elems, const int64_t* indices, int64_t B,
                                    int64_t N, int64_t R, double* const* grads, int64_t* flag, cudaStream_t stream);

}  // namespace rankcore::ops::cuda
