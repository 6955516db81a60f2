// CUDA kernels of the rankcore::ht_leaf_pool / ht_pool family (torch-free: compile-checkable with
// plain nvcc).
//
// One thread per output element (node j, item b, column r), consecutive threads on consecutive
// columns so that every row load is coalesced. A node's children (at most kMaxGroup) are read once
// into registers/local memory; the backward forms each child's "product of the others" with
// kernels::ht_others_product (prefix * suffix, no division).
//
// Leaf backward: grid.y is the node, so one block's items all scatter into the same few leaf rows
// (d = 8 for thousands of items). The block accumulates the node's leaf gradients in shared memory
// (shared atomics), for one strip of columns (grid.z) when all R columns do not fit, and flushes once
// with one global atomicAdd per non-zero element: no global atomic per item on a small table. Only
// when not even one column of the node's tables fits does it add to global memory directly (large d:
// few collisions).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/ht_pool.h"
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/ht_pool_kernel.cuh"

namespace rankcore::ops::cuda {
namespace {

constexpr int kMaxGroup = 64;  // = ops::kHtMaxGroup

template <typename T>
__global__ void leaf_pool_forward_kernel(const T* const* leaves, const int64_t* dims, const int64_t* modes,
                                         const int64_t* offsets, const int64_t* indices, int64_t B, int64_t N,
                                         int64_t J, int64_t R, T* out, int64_t* flag) {
  const int64_t total = J * B * R;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = e % R, jb = e / R, b = jb % B, j = jb / B;
    T acc = T(1);
    for (int64_t k = offsets[j]; k < offsets[j + 1]; ++k) {
      const int64_t m = modes[k], i = indices[b * N + m];
      if (!kernels::index_ok(i, dims[m])) {
        flag_min(flag, b * N + m);
        acc = T(0);
        break;
      }
      acc *= leaves[m][i * R + r];
    }
    out[e] = acc;
  }
}

template <typename T>
__global__ void leaf_pool_backward_kernel(const T* grad, const T* const* leaves, const int64_t* dims,
                                          const int64_t* modes, const int64_t* offsets, const int64_t* indices,
                                          int64_t B, int64_t N, int64_t R, int64_t smem_elems, int64_t strip,
                                          T* const* grads, int64_t* flag) {
  extern __shared__ unsigned char smem_raw[];
  T* smem = reinterpret_cast<T*>(smem_raw);
  const int64_t j = blockIdx.y, k0 = offsets[j], P = offsets[j + 1] - k0;
  // this block's columns: [r0, r0 + width) of strip blockIdx.z (all R without shared accumulation)
  const int64_t r0 = strip > 0 ? static_cast<int64_t>(blockIdx.z) * strip : 0;
  const int64_t width = strip > 0 ? (R - r0 < strip ? R - r0 : strip) : R;
  int64_t rows = 0;  // this node's leaf rows (shared buffer: leaf k's gradient at row offset base[k])
  for (int64_t k = 0; k < P; ++k) rows += dims[modes[k0 + k]];
  const bool use_smem = strip > 0 && rows * width <= smem_elems;
  if (use_smem) {
    for (int64_t e = threadIdx.x; e < rows * width; e += blockDim.x) smem[e] = T(0);
    __syncthreads();
  }
  T vals[kMaxGroup], others[kMaxGroup];
  const int64_t total = B * width;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t rr = e % width, r = r0 + rr, b = e / width;
    bool ok = true;
    for (int64_t k = 0; k < P; ++k) {
      const int64_t m = modes[k0 + k], i = indices[b * N + m];
      if (!kernels::index_ok(i, dims[m])) {
        if (blockIdx.z == 0) flag_min(flag, b * N + m);
        ok = false;
        break;
      }
      vals[k] = leaves[m][i * R + r];
    }
    if (!ok) continue;
    kernels::ht_others_product(vals, P, grad[(j * B + b) * R + r], others);
    int64_t base = 0;
    for (int64_t k = 0; k < P; ++k) {
      const int64_t m = modes[k0 + k], i = indices[b * N + m];
      if (use_smem) {
        atomicAdd(smem + (base + i) * width + rr, others[k]);  // shared memory only
      } else {
        atomicAdd(grads[m] + i * R + r, others[k]);
      }
      base += dims[m];
    }
  }
  if (use_smem) {
    __syncthreads();
    int64_t base = 0;
    for (int64_t k = 0; k < P; ++k) {
      const int64_t m = modes[k0 + k], size = dims[m] * width;
      for (int64_t e = threadIdx.x; e < size; e += blockDim.x) {
        const T v = smem[base * width + e];
        if (v != T(0)) atomicAdd(grads[m] + (e / width) * R + r0 + e % width, v);  // once per block
      }
      base += dims[m];
    }
  }
}

template <typename T>
__global__ void pool_forward_kernel(const T* a, const int64_t* offsets, int64_t J, int64_t B, int64_t R, T* out) {
  const int64_t BR = B * R, total = J * BR;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = e / BR, br = e % BR;
    T acc = a[offsets[j] * BR + br];
    for (int64_t k = offsets[j] + 1; k < offsets[j + 1]; ++k) acc *= a[k * BR + br];
    out[e] = acc;
  }
}

template <typename T>
__global__ void pool_backward_kernel(const T* grad, const T* a, const int64_t* offsets, int64_t J, int64_t B, int64_t R,
                                     T* grad_a) {
  const int64_t BR = B * R, total = J * BR;
  T vals[kMaxGroup], others[kMaxGroup];
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = e / BR, br = e % BR, k0 = offsets[j], P = offsets[j + 1] - k0;
    for (int64_t k = 0; k < P; ++k) vals[k] = a[(k0 + k) * BR + br];
    kernels::ht_others_product(vals, P, grad[e], others);
    for (int64_t k = 0; k < P; ++k) grad_a[(k0 + k) * BR + br] = others[k];
  }
}

}  // namespace

cudaError_t ht_leaf_pool_smem_budget(int device, int64_t elem_size, int64_t* elems) {
  int optin = 0;
  cudaError_t err = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  if (err != cudaSuccess) return err;
  *elems = static_cast<int64_t>(optin) / 2 / elem_size;  // half: two resident blocks per SM
  return cudaSuccess;
}

template <typename T>
cudaError_t launch_ht_leaf_pool_forward(const T* const* leaves, const int64_t* dims, const int64_t* modes,
                                        const int64_t* offsets, const int64_t* indices, int64_t B, int64_t N, int64_t J,
                                        int64_t R, T* out, int64_t* flag, cudaStream_t stream) {
  if (B == 0) return cudaSuccess;
  leaf_pool_forward_kernel<T><<<blocks_for(J * B * R), kBlockThreads, 0, stream>>>(leaves, dims, modes, offsets,
                                                                                   indices, B, N, J, R, out, flag);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_ht_leaf_pool_backward(const T* grad, const T* const* leaves, const int64_t* dims,
                                         const int64_t* modes, const int64_t* offsets, const int64_t* indices,
                                         int64_t B, int64_t N, int64_t J, int64_t R, int64_t smem_elems, int64_t strip,
                                         T* const* grads, int64_t* flag, cudaStream_t stream) {
  if (B == 0 || R == 0) return cudaSuccess;
  if (strip <= 0 || smem_elems <= 0) {
    strip = 0;
    smem_elems = 0;
  }
  const int64_t strips = strip > 0 ? (R + strip - 1) / strip : 1;
  if (strips > kMaxBlocks) return cudaErrorInvalidValue;  // the binding caps strips (strip >= 1 column)
  const int64_t width = strip > 0 ? (strip < R ? strip : R) : R;
  const size_t smem_bytes = static_cast<size_t>(smem_elems) * sizeof(T);
  auto kernel = leaf_pool_backward_kernel<T>;
  cudaError_t err =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem_bytes));
  if (err != cudaSuccess) return err;
  // With shared accumulation, fewer and longer blocks: each flushes its whole buffer once, so the global
  // adds per node and strip are at most 64 x its buffer, whatever B.
  const int64_t per_node = strip > 0 ? std::min<int64_t>(blocks_for(B * width), 64) : blocks_for(B * R);
  const dim3 grid(static_cast<unsigned>(per_node), static_cast<unsigned>(J), static_cast<unsigned>(strips));
  kernel<<<grid, kBlockThreads, smem_bytes, stream>>>(grad, leaves, dims, modes, offsets, indices, B, N, R, smem_elems,
                                                      strip, grads, flag);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_ht_pool_forward(const T* a, const int64_t* offsets, int64_t J, int64_t B, int64_t R, T* out,
                                   cudaStream_t stream) {
  if (B == 0 || R == 0) return cudaSuccess;
  pool_forward_kernel<T><<<blocks_for(J * B * R), kBlockThreads, 0, stream>>>(a, offsets, J, B, R, out);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_ht_pool_backward(const T* grad, const T* a, const int64_t* offsets, int64_t J, int64_t B, int64_t R,
                                    T* grad_a, cudaStream_t stream) {
  if (B == 0 || R == 0) return cudaSuccess;
  pool_backward_kernel<T><<<blocks_for(J * B * R), kBlockThreads, 0, stream>>>(grad, a, offsets, J, B, R, grad_a);
  return cudaGetLastError();
}

#define RANKCORE_HT_INSTANTIATE(T)                                                                                     \
  template cudaError_t launch_ht_leaf_pool_forward<T>(const T* const*, const int64_t*, const int64_t*, const int64_t*, \
                                                      const int64_t*, int64_t, int64_t, int64_t, int64_t, T*,          \
                                                      int64_t*, cudaStream_t);                                         \
  template cudaError_t launch_ht_leaf_pool_backward<T>(const T*, const T* const*, const int64_t*, const int64_t*,      \
                                                       const int64_t*, const int64_t*, int64_t, int64_t, int64_t,      \
                                                       int64_t, int64_t, int64_t, T* const*, int64_t*, cudaStream_t);  \
  template cudaError_t launch_ht_pool_forward<T>(const T*, const int64_t*, int64_t, int64_t, int64_t, T*,              \
                                                 cudaStream_t);                                                        \
  template cudaError_t launch_ht_pool_backward<T>(const T*, const T*, const int64_t*, int64_t, int64_t, int64_t, T*,   \
                                                  cudaStream_t);
RANKCORE_HT_INSTANTIATE(float)
RANKCORE_HT_INSTANTIATE(double)
#undef RANKCORE_HT_INSTANTIATE

}  // namespace rankcore::ops::cuda
