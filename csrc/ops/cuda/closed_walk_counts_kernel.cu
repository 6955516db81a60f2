// CUDA kernels of rankcore::closed_walk_counts (torch-free: compile-checkable with plain nvcc): the
// closed forms for L <= 3, the one-hot start columns and the saturating column dot products for
// L >= 4 (whose walk steps are walk_count's kernels).
#include <cuda_runtime.h>

#include <cstdint>

#include "ops/cuda/closed_walk_counts_kernel.cuh"
#include "ops/cuda/cuda_common.cuh"

namespace rankcore::ops::cuda {
namespace {

__global__ void __launch_bounds__(kBlockThreads)
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
__global__ void __launch_bounds__(kBlockThreads)
    column_dots_kernel(const int64_t* __restrict__ a, const int64_t* __restrict__ b, int64_t n, int64_t k,
                       int64_t* __restrict__ out, int64_t* __restrict__ overflow) {
  constexpr ull kMax = 0x7fffffffffffffffULL;
  __shared__ ull partial[kBlockThreads];
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
  for (int half = kBlockThreads / 2; half > 0; half /= 2) {
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

}  // namespace

cudaError_t launch_closed_walks_closed_form(const int64_t* rowptr, const int64_t* common, int64_t n, int64_t length,
                                            int64_t* out, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  closed_form_kernel<<<blocks_for(n), kBlockThreads, 0, stream>>>(rowptr, common, n, length, out);
  return cudaGetLastError();
}

cudaError_t launch_one_hot_columns(int64_t* x, int64_t k, int64_t first, cudaStream_t stream) {
  if (k == 0) return cudaSuccess;
  const auto blocks = static_cast<unsigned>((k + kBlockThreads - 1) / kBlockThreads);  // k <= 256: no cap needed
  one_hot_kernel<<<blocks, kBlockThreads, 0, stream>>>(x, k, first);
  return cudaGetLastError();
}

cudaError_t launch_column_dots(const int64_t* a, const int64_t* b, int64_t n, int64_t k, int64_t* out,
                               int64_t* overflow, cudaStream_t stream) {
  if (k == 0) return cudaSuccess;
  column_dots_kernel<<<static_cast<unsigned>(k), kBlockThreads, 0, stream>>>(a, b, n, k, out, overflow);
  return cudaGetLastError();
}

}  // namespace rankcore::ops::cuda
