// Host launchers of the CUDA ht_leaf_pool / ht_pool kernels: plain pointers, no torch types, so that
// ht_pool_kernel.cu can be compile-checked with plain nvcc on a machine whose torch has no CUDA.
//
// Activations are node-major [K, B, R] (row-major). `leaves[n]` points to the contiguous [dims[n], R]
// leaf factor n; `modes` (N entries) and `offsets` (J + 1 entries) are device arrays with the meaning
// of the op schemas (ops/ht_pool.cpp). Every launcher enqueues on `stream`, never synchronises, and
// returns the first CUDA error. Out-of-range indices never stop a kernel: the smallest flat position
// b * N + n of a bad index goes to `*flag` (set to -1 by launch_init_flags of cuda_common.cuh;
// updated with flag_min).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace rankcore::ops::cuda {

// out[j, b, r] = prod_{k in group j} leaves[modes[k]][indices[b, modes[k]] * R + r].
template <typename T>
cudaError_t launch_ht_leaf_pool_forward(const T* const* leaves, const int64_t* dims, const int64_t* modes,
                                        const int64_t* offsets, const int64_t* indices, int64_t B, int64_t N, int64_t J,
                                        int64_t R, T* out, int64_t* flag, cudaStream_t stream);

// grads[m][i * R + r] += sum over items b with indices[b, m] = i of grad[j, b, r] * prod_{other k in
// group j} leaves[...]. Gradients must be zeroed by the caller. strip > 0: the columns are cut into strips
// of `strip` (kernels::ht_backward_strip) and each block accumulates its node's leaf gradients for one
// strip (max_group_rows * strip <= smem_elems elements, where max_group_rows is the largest sum of d over
// one node's leaves) in shared memory, then adds them to global memory once per block: no global atomic
// per item. strip = 0 (smem_elems = 0): global atomics directly (tables too large for shared memory).
template <typename T>
cudaError_t launch_ht_leaf_pool_backward(const T* grad, const T* const* leaves, const int64_t* dims,
                                         const int64_t* modes, const int64_t* offsets, const int64_t* indices,
                                         int64_t B, int64_t N, int64_t J, int64_t R, int64_t smem_elems, int64_t strip,
                                         T* const* grads, int64_t* flag, cudaStream_t stream);

// Largest shared buffer (elements of elem_size bytes) launch_ht_leaf_pool_backward may use on `device`.
cudaError_t ht_leaf_pool_smem_budget(int device, int64_t elem_size, int64_t* elems);

// out[j, b, r] = prod_{k in [offsets[j], offsets[j+1])} a[k, b, r]; a is [K, B, R], out [J, B, R].
template <typename T>
cudaError_t launch_ht_pool_forward(const T* a, const int64_t* offsets, int64_t J, int64_t B, int64_t R, T* out,
                                   cudaStream_t stream);

// grad_a[k, b, r] = grad[j, b, r] * prod_{k' != k in group j} a[k', b, r].
template <typename T>
cudaError_t launch_ht_pool_backward(const T* grad, const T* a, const int64_t* offsets, int64_t J, int64_t B, int64_t R,
                                    T* grad_a, cudaStream_t stream);

}  // namespace rankcore::ops::cuda
