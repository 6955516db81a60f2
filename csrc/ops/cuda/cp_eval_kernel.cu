// CUDA kernels of rankcore::cp_eval (torch-free: compile-checkable with plain nvcc).
//
// Both kernels give each batch item a tile of L lanes of one warp (L = the smallest power of two
// >= R, at most 32; 32 / L items per warp), with lane q handling columns q, q + L, ... so that the
// loads of a factor row are coalesced. Loops over items are warp-uniform (every lane of a warp runs
// the same number of rounds) because the forward ends each item with a tile shuffle reduction.
//
// Forward: per column a running product over the N modes, then the tile sums its columns.
//
// Backward: for mode n a column needs prefix(n) * suffix(n) = prod_{m<n} * prod_{m>n}. Storing all N
// suffixes per lane would need N registers; instead a first pass (downwards) keeps the suffix at
// every segment boundary (segments of kSeg modes, at most kMaxOrder / kSeg checkpoints), and a
// second pass (upwards) rebuilds the kSeg suffixes of one segment from its checkpoint and sweeps the
// segment with the running prefix. Three factor reads per mode, multiplications only (zeros give
// exact zeros, never NaN).
// The per-item contributions go into the factor gradients: modes chosen by the planner accumulate in
// a block-wide shared-memory copy of their gradient (shared atomics), flushed to global memory with
// one atomicAdd per non-zero element at the end of the block; the others use global atomics
// directly (large d: few collisions).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "kernels/cp_eval.h"
#include "ops/cuda/cp_eval_kernel.cuh"
#include "ops/cuda/cuda_common.cuh"

namespace rankcore::ops::cuda {
namespace {

constexpr int kSeg = 32;                  // modes per backward segment
constexpr int kMaxOrder = 1024;           // = ops::kCpMaxOrder
constexpr int kMaxSegs = kMaxOrder / kSeg;

int tile_lanes(int64_t R) {
  int L = 1;
  while (L < R && L < kWarpSize) L *= 2;
  return L;
}

// Grid-stride bookkeeping shared by both kernels: this lane's tile and lane within the tile, and the
// first item of this warp's tiles in the first round.
struct Tiling {
  int lane, tile_in_warp, tiles_per_warp;
  int64_t first, stride;  // first item of the warp in round 0; items per round over the grid
  __device__ Tiling(int L) {
    lane = threadIdx.x % L;
    tiles_per_warp = kWarpSize / L;
    tile_in_warp = (threadIdx.x % kWarpSize) / L;
    const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarpSize;
    const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.x / kWarpSize;
    first = warp * tiles_per_warp;
    stride = warps * tiles_per_warp;
  }
};

template <typename T>
__global__ void __launch_bounds__(kBlockThreads)
    cp_forward_kernel(const T* const* __restrict__ factors, const int64_t* __restrict__ dims,
                      const int64_t* __restrict__ indices, int64_t B, int N, int64_t R, int L,
                      T* __restrict__ out, int64_t* __restrict__ flag) {
  const Tiling t(L);
  for (int64_t base = t.first; base < B; base += t.stride) {  // warp-uniform
    const int64_t b = base + t.tile_in_warp;
    T sum = 0;
    if (b < B) {
      const int64_t* ib = indices + b * N;
      for (int64_t r = t.lane; r < R; r += L) {
        T p = 1;
        int n = 0;
        for (; n < N; ++n) {
          const int64_t i = ib[n];
          if (!kernels::index_ok(i, dims[n])) break;
          p *= factors[n][i * R + r];
        }
        if (n < N) {  // same indices for every lane of the tile: all of them stop here
          if (r == 0) flag_min(flag, b * N + n);
          sum = 0;
          break;
        }
        sum += p;
      }
    }
    for (int off = L / 2; off > 0; off /= 2) sum += __shfl_down_sync(0xffffffffu, sum, off, L);
    if (b < B && t.lane == 0) out[b] = sum;
  }
}

template <typename T>
__global__ void __launch_bounds__(kBlockThreads)
    cp_backward_kernel(const T* __restrict__ grad, const T* const* __restrict__ factors,
                       const int64_t* __restrict__ dims, const int64_t* __restrict__ smem_offset,
                       int64_t smem_elems, const int64_t* __restrict__ indices, int64_t B, int N,
                       int64_t R, int L, T* const* __restrict__ grads, int64_t* __restrict__ flag) {
  extern __shared__ unsigned char smem_raw[];
  T* sh = reinterpret_cast<T*>(smem_raw);
  for (int64_t e = threadIdx.x; e < smem_elems; e += blockDim.x) sh[e] = T(0);
  __syncthreads();

  const Tiling t(L);
  const int segs = (N + kSeg - 1) / kSeg;
  for (int64_t base = t.first; base < B; base += t.stride) {
    const int64_t b = base + t.tile_in_warp;
    if (b >= B) continue;
    const int64_t* ib = indices + b * N;
    const T g = grad[b];
    for (int64_t r = t.lane; r < R; r += L) {
      // Pass 1 (downwards): checkpoint[j] = prod of modes >= the end of segment j; checks indices.
      T checkpoint[kMaxSegs];
      T s = 1;
      bool ok = true;
      for (int j = segs - 1; j >= 0 && ok; --j) {
        checkpoint[j] = s;
        const int lo = j * kSeg, hi = min(N, lo + kSeg);
        for (int m = hi - 1; m >= lo; --m) {
          const int64_t i = ib[m];
          if (!kernels::index_ok(i, dims[m])) {
            if (r == 0) flag_min(flag, b * N + m);
            ok = false;
            break;
          }
          s *= factors[m][i * R + r];
        }
      }
      if (!ok) break;  // uniform over the tile (same indices)
      // Pass 2 (upwards): suffixes of one segment from its checkpoint, then the prefix sweep.
      T p = 1;
      for (int j = 0; j < segs; ++j) {
        const int lo = j * kSeg, hi = min(N, lo + kSeg);
        T suffix[kSeg];
        T u = checkpoint[j];
        for (int m = hi - 1; m >= lo; --m) {
          suffix[m - lo] = u;
          u *= factors[m][ib[m] * R + r];
        }
        for (int m = lo; m < hi; ++m) {
          const int64_t i = ib[m];
          const T a = factors[m][i * R + r];
          const T contrib = g * p * suffix[m - lo];
          const int64_t off = smem_offset[m];
          if (off >= 0) {
            atomicAdd(sh + off + i * R + r, contrib);
          } else {
            atomicAdd(grads[m] + i * R + r, contrib);
          }
          p *= a;
        }
      }
    }
  }

  if (smem_elems == 0) return;
  __syncthreads();
  for (int m = 0; m < N; ++m) {
    const int64_t off = smem_offset[m];
    if (off < 0) continue;
    const int64_t size = dims[m] * R;
    for (int64_t e = threadIdx.x; e < size; e += blockDim.x) {
      const T v = sh[off + e];
      if (v != T(0)) atomicAdd(grads[m] + e, v);
    }
  }
}

int64_t grid_for(int64_t B, int L, int max_resident_blocks) {
  const int64_t items_per_block = kBlockThreads / L;
  int64_t blocks = (B + items_per_block - 1) / items_per_block;
  if (max_resident_blocks > 0) blocks = std::min<int64_t>(blocks, max_resident_blocks);
  return std::clamp<int64_t>(blocks, 1, kMaxBlocks);
}

template <typename T>
cudaError_t forward(const T* const* factors, const int64_t* dims, const int64_t* indices, int64_t B,
                    int64_t N, int64_t R, T* out, int64_t* flag, cudaStream_t stream) {
  if (B == 0) return cudaSuccess;
  const int L = tile_lanes(R);
  cp_forward_kernel<T><<<static_cast<unsigned>(grid_for(B, L, 0)), kBlockThreads, 0, stream>>>(
      factors, dims, indices, B, static_cast<int>(N), R, L, out, flag);
  return cudaGetLastError();
}

template <typename T>
cudaError_t backward(const T* grad, const T* const* factors, const int64_t* dims, const int64_t* smem_offset,
                     int64_t smem_elems, const int64_t* indices, int64_t B, int64_t N, int64_t R,
                     T* const* grads, int64_t* flag, cudaStream_t stream) {
  if (B == 0) return cudaSuccess;
  const int L = tile_lanes(R);
  const size_t smem_bytes = static_cast<size_t>(smem_elems) * sizeof(T);
  auto kernel = cp_backward_kernel<T>;
  cudaError_t err = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(smem_bytes));
  if (err != cudaSuccess) return err;
  // With a shared buffer, launch only the blocks that are resident at once: each block flushes its
  // whole buffer once, so more blocks would only add flush traffic.
  int resident = 0;
  if (smem_elems > 0) {
    int device = 0, sms = 0, per_sm = 0;
    if ((err = cudaGetDevice(&device)) != cudaSuccess) return err;
    if ((err = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device)) != cudaSuccess) return err;
    if ((err = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kBlockThreads, smem_bytes)) !=
        cudaSuccess) {
      return err;
    }
    resident = std::max(1, sms * per_sm);
  }
  kernel<<<static_cast<unsigned>(grid_for(B, L, resident)), kBlockThreads, smem_bytes, stream>>>(
      grad, factors, dims, smem_offset, smem_elems, indices, B, static_cast<int>(N), R, L, grads, flag);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_cp_eval_forward(const float* const* factors, const int64_t* dims, const int64_t* indices,
                                   int64_t B, int64_t N, int64_t R, float* out, int64_t* flag,
                                   cudaStream_t stream) {
  return forward(factors, dims, indices, B, N, R, out, flag, stream);
}
cudaError_t launch_cp_eval_forward(const double* const* factors, const int64_t* dims, const int64_t* indices,
                                   int64_t B, int64_t N, int64_t R, double* out, int64_t* flag,
                                   cudaStream_t stream) {
  return forward(factors, dims, indices, B, N, R, out, flag, stream);
}

cudaError_t plan_cp_eval_backward_smem(const int64_t* dims_host, int64_t N, int64_t R, int64_t elem_size,
                                       int device, int64_t* smem_offset_host, int64_t* smem_elems) {
  int optin = 0;
  cudaError_t err = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  if (err != cudaSuccess) return err;
  // Half the per-block maximum leaves room for two resident blocks per SM.
  const int64_t budget = static_cast<int64_t>(optin) / 2 / elem_size;
  std::vector<int64_t> order(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), int64_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return dims_host[a] < dims_host[b]; });
  int64_t used = 0;
  for (int64_t n = 0; n < N; ++n) smem_offset_host[n] = -1;
  for (const int64_t n : order) {
    const int64_t size = dims_host[n] * R;
    if (used + size > budget) break;  // sorted ascending: nothing later fits either
    smem_offset_host[n] = used;
    used += size;
  }
  *smem_elems = used;
  return cudaSuccess;
}

cudaError_t launch_cp_eval_backward(const float* grad, const float* const* factors, const int64_t* dims,
                                    const int64_t* smem_offset, int64_t smem_elems, const int64_t* indices,
                                    int64_t B, int64_t N, int64_t R, float* const* grads, int64_t* flag,
                                    cudaStream_t stream) {
  return backward(grad, factors, dims, smem_offset, smem_elems, indices, B, N, R, grads, flag, stream);
}
cudaError_t launch_cp_eval_backward(const double* grad, const double* const* factors, const int64_t* dims,
                                    const int64_t* smem_offset, int64_t smem_elems, const int64_t* indices,
                                    int64_t B, int64_t N, int64_t R, double* const* grads, int64_t* flag,
                                    cudaStream_t stream) {
  return backward(grad, factors, dims, smem_offset, smem_elems, indices, B, N, R, grads, flag, stream);
}

}  // namespace rankcore::ops::cuda
