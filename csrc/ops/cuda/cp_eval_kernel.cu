// CUDA kernels of rankcore::cp_eval (torch-free: compile-checkable with plain nvcc).
//
// One warp per batch item, laid out by kernels::cp_tiling (csrc/kernels/cp_eval.h): G mode groups of
// C column lanes; in round t group g multiplies in mode t * G + g, and each lane keeps `RPL` running
// products (columns c, c + C, ... of the current strip) in registers. The loops over items are
// warp-uniform (grid-stride over warps), so every shuffle has the full mask.
//
// Forward: each lane multiplies its rounds' rows, a butterfly over the groups (xor offsets C .. 16)
// multiplies the G partial products, and the C lanes of group 0 sum the columns.
//
// Backward: d out / d A_n[i_n, r] = prod_{m != n} A_m[i_m, r] = (rounds before t) * (the other
// groups in round t) * (rounds after t), all by multiplication (zeros give exact zeros, never NaN):
//   pass 1 forms each round's total with a butterfly and group t keeps round t's total (M <= G);
//          an exclusive suffix scan over the groups turns those into "product of the rounds after t";
//   pass 2 re-reads each round's rows, a butterfly gives every lane the product of the other groups
//          (kernels::cp_excl_step), the suffix of round t comes from group t by one shuffle, and the
//          running prefix of the earlier rounds is one more multiply per round.
// No per-mode storage, no local memory (the register arrays are indexed by unrolled constants only).
// The contributions go into the factor gradients: modes chosen by the planner accumulate in a
// block-wide shared-memory copy of their gradient (shared atomics: the hot rows of small-d modes
// never reach global memory per item), flushed with one global atomicAdd per non-zero element when the
// block ends (the grid is the resident blocks, so each block flushes once); the other modes (large d:
// few collisions) use global atomics directly.
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

constexpr unsigned kFull = 0xffffffffu;
constexpr int kWarpsPerBlock = kBlockThreads / kWarpSize;

template <typename T>
constexpr int rpl_max() {
  return sizeof(T) == 4 ? 16 : 8;
}

struct WarpPos {
  int lane, c, g;
  int64_t warp, warps;
  __device__ explicit WarpPos(int C) {
    lane = static_cast<int>(threadIdx.x) % kWarpSize;
    c = lane % C;
    g = lane / C;
    warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarpSize;
    warps = static_cast<int64_t>(gridDim.x) * blockDim.x / kWarpSize;
  }
};

// True (on every lane) when one of item b's indices is out of range; records the smallest flat
// position b * N + n of a bad index in *flag.
__device__ __forceinline__ bool item_bad(const int64_t* __restrict__ ib, const int64_t* __restrict__ dims, int64_t b,
                                         int N, int G, int M, const WarpPos& w, int64_t* flag) {
  bool bad = false;
  if (w.c == 0) {
    for (int t = 0; t < M; ++t) {
      const int n = t * G + w.g;
      if (n < N && !kernels::index_ok(__ldg(ib + n), __ldg(dims + n))) {
        flag_min(flag, b * N + n);
        bad = true;
        break;  // later modes of this lane have larger positions
      }
    }
  }
  return __any_sync(kFull, bad);
}

// a[j] = factors[n][i_n * R + r0 + c + C * j], or 1 where there is no such mode or column.
template <typename T, int RPL>
__device__ __forceinline__ void load_row(const T* const* __restrict__ factors, const int64_t* __restrict__ ib, int n,
                                         int N, int64_t R, int64_t r0, int C, int c, T (&a)[RPL], int64_t& row_off) {
  row_off = -1;
  if (n < N) row_off = __ldg(ib + n) * R;
  const T* row = n < N ? factors[n] + row_off : nullptr;
#pragma unroll
  for (int j = 0; j < RPL; ++j) {
    const int64_t r = r0 + c + static_cast<int64_t>(C) * j;
    a[j] = (row != nullptr && r < R) ? __ldg(row + r) : T(1);
  }
}

template <typename T, int RPL>
__global__ void __launch_bounds__(kBlockThreads)
    cp_forward_kernel(const T* const* __restrict__ factors, const int64_t* __restrict__ dims,
                      const int64_t* __restrict__ indices, int64_t B, int N, int64_t R, int G, int C,
                      T* __restrict__ out, int64_t* __restrict__ flag) {
  const WarpPos w(C);
  const int M = (N + G - 1) / G;
  const int64_t strip = static_cast<int64_t>(C) * RPL;
  for (int64_t b = w.warp; b < B; b += w.warps) {  // warp-uniform
    const int64_t* ib = indices + b * N;
    if (item_bad(ib, dims, b, N, G, M, w, flag)) {
      if (w.lane == 0) out[b] = T(0);  // an error is raised; the value is never returned
      continue;
    }
    T sum = 0;
    for (int64_t r0 = 0; r0 < R; r0 += strip) {
      T acc[RPL];
#pragma unroll
      for (int j = 0; j < RPL; ++j) acc[j] = T(1);
      for (int t = 0; t < M; ++t) {
        T a[RPL];
        int64_t row_off;
        load_row<T, RPL>(factors, ib, t * G + w.g, N, R, r0, C, w.c, a, row_off);
#pragma unroll
        for (int j = 0; j < RPL; ++j) acc[j] *= a[j];
      }
      for (int off = C; off < kWarpSize; off *= 2) {
#pragma unroll
        for (int j = 0; j < RPL; ++j) acc[j] *= __shfl_xor_sync(kFull, acc[j], off);
      }
#pragma unroll
      for (int j = 0; j < RPL; ++j) {
        if (r0 + w.c + static_cast<int64_t>(C) * j < R) sum += acc[j];
      }
    }
    for (int off = C / 2; off > 0; off /= 2) sum += __shfl_xor_sync(kFull, sum, off);  // within group 0's lanes
    if (w.lane == 0) out[b] = sum;
  }
}

template <typename T, int RPL>
__global__ void __launch_bounds__(kBlockThreads)
    cp_backward_kernel(const T* __restrict__ grad, const T* const* __restrict__ factors,
                       const int64_t* __restrict__ dims, const int64_t* __restrict__ smem_offset, int64_t smem_elems,
                       const int64_t* __restrict__ indices, int64_t B, int N, int64_t R, int G, int C,
                       T* const* __restrict__ grads, int64_t* __restrict__ flag) {
  extern __shared__ unsigned char smem_raw[];
  T* sh = reinterpret_cast<T*>(smem_raw);
  for (int64_t e = threadIdx.x; e < smem_elems; e += blockDim.x) sh[e] = T(0);
  __syncthreads();

  const WarpPos w(C);
  const int M = (N + G - 1) / G;
  const int64_t strip = static_cast<int64_t>(C) * RPL;
  for (int64_t b = w.warp; b < B; b += w.warps) {  // warp-uniform
    const int64_t* ib = indices + b * N;
    if (item_bad(ib, dims, b, N, G, M, w, flag)) continue;
    const T gb = grad[b];
    for (int64_t r0 = 0; r0 < R; r0 += strip) {
      // Pass 1: round totals; group g keeps round g's (1 when round g does not exist).
      T suf[RPL];
#pragma unroll
      for (int j = 0; j < RPL; ++j) suf[j] = T(1);
      for (int t = 0; t < M; ++t) {
        T a[RPL];
        int64_t row_off;
        load_row<T, RPL>(factors, ib, t * G + w.g, N, R, r0, C, w.c, a, row_off);
        for (int off = C; off < kWarpSize; off *= 2) {
#pragma unroll
          for (int j = 0; j < RPL; ++j) a[j] *= __shfl_xor_sync(kFull, a[j], off);
        }
        if (w.g == t) {
#pragma unroll
          for (int j = 0; j < RPL; ++j) suf[j] = a[j];
        }
      }
      // Inclusive suffix scan over the groups (prod over groups >= g), then shift by one group:
      // suf = prod of the totals of the rounds after g.
      for (int d = 1; d < G; d *= 2) {
#pragma unroll
        for (int j = 0; j < RPL; ++j) {
          const T v = __shfl_down_sync(kFull, suf[j], d * C);
          if (w.g + d < G) suf[j] *= v;
        }
      }
#pragma unroll
      for (int j = 0; j < RPL; ++j) {
        const T v = __shfl_down_sync(kFull, suf[j], C);
        suf[j] = (w.g + 1 < G) ? v : T(1);
      }
      // Pass 2: prefix (earlier rounds) * other groups of this round * suffix (later rounds).
      T pre[RPL];
#pragma unroll
      for (int j = 0; j < RPL; ++j) pre[j] = T(1);
      for (int t = 0; t < M; ++t) {
        const int n = t * G + w.g;
        T incl[RPL], excl[RPL];
        int64_t row_off;
        load_row<T, RPL>(factors, ib, n, N, R, r0, C, w.c, incl, row_off);
#pragma unroll
        for (int j = 0; j < RPL; ++j) excl[j] = T(1);
        for (int off = C; off < kWarpSize; off *= 2) {
#pragma unroll
          for (int j = 0; j < RPL; ++j) kernels::cp_excl_step(excl[j], incl[j], __shfl_xor_sync(kFull, incl[j], off));
        }
        T* dst = nullptr;
        if (n < N) {
          const int64_t off = __ldg(smem_offset + n);
          dst = (off >= 0 ? sh + off : grads[n]) + row_off;
        }
#pragma unroll
        for (int j = 0; j < RPL; ++j) {
          const T s = __shfl_sync(kFull, suf[j], t * C + w.c);  // group t holds the suffix after round t
          const int64_t r = r0 + w.c + static_cast<int64_t>(C) * j;
          if (dst != nullptr && r < R) atomicAdd(dst + r, gb * pre[j] * excl[j] * s);
          pre[j] *= incl[j];
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

int64_t grid_for(int64_t B, int max_resident_blocks) {
  int64_t blocks = (B + kWarpsPerBlock - 1) / kWarpsPerBlock;  // one warp per item
  if (max_resident_blocks > 0) blocks = std::min<int64_t>(blocks, max_resident_blocks);
  return std::clamp<int64_t>(blocks, 1, kMaxBlocks);
}

template <typename T, int RPL>
cudaError_t forward_rpl(const T* const* factors, const int64_t* dims, const int64_t* indices, int64_t B, int64_t N,
                        int64_t R, const kernels::CpTiling& tl, T* out, int64_t* flag, cudaStream_t stream) {
  cp_forward_kernel<T, RPL><<<static_cast<unsigned>(grid_for(B, 0)), kBlockThreads, 0, stream>>>(
      factors, dims, indices, B, static_cast<int>(N), R, tl.G, tl.C, out, flag);
  return cudaGetLastError();
}

template <typename T>
cudaError_t forward(const T* const* factors, const int64_t* dims, const int64_t* indices, int64_t B, int64_t N,
                    int64_t R, T* out, int64_t* flag, cudaStream_t stream) {
  if (B == 0) return cudaSuccess;
  const kernels::CpTiling tl = kernels::cp_tiling(N, R, rpl_max<T>());
  switch (tl.rpl) {
    case 1:
      return forward_rpl<T, 1>(factors, dims, indices, B, N, R, tl, out, flag, stream);
    case 2:
      return forward_rpl<T, 2>(factors, dims, indices, B, N, R, tl, out, flag, stream);
    case 4:
      return forward_rpl<T, 4>(factors, dims, indices, B, N, R, tl, out, flag, stream);
    case 8:
      return forward_rpl<T, 8>(factors, dims, indices, B, N, R, tl, out, flag, stream);
    default:
      if constexpr (rpl_max<T>() >= 16)
        return forward_rpl<T, 16>(factors, dims, indices, B, N, R, tl, out, flag, stream);
      return cudaErrorInvalidValue;
  }
}

template <typename T, int RPL>
cudaError_t backward_rpl(const T* grad, const T* const* factors, const int64_t* dims, const int64_t* smem_offset,
                         int64_t smem_elems, const int64_t* indices, int64_t B, int64_t N, int64_t R,
                         const kernels::CpTiling& tl, T* const* grads, int64_t* flag, cudaStream_t stream) {
  const size_t smem_bytes = static_cast<size_t>(smem_elems) * sizeof(T);
  auto kernel = cp_backward_kernel<T, RPL>;
  cudaError_t err =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem_bytes));
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
  kernel<<<static_cast<unsigned>(grid_for(B, resident)), kBlockThreads, smem_bytes, stream>>>(
      grad, factors, dims, smem_offset, smem_elems, indices, B, static_cast<int>(N), R, tl.G, tl.C, grads, flag);
  return cudaGetLastError();
}

template <typename T>
cudaError_t backward(const T* grad, const T* const* factors, const int64_t* dims, const int64_t* smem_offset,
                     int64_t smem_elems, const int64_t* indices, int64_t B, int64_t N, int64_t R, T* const* grads,
                     int64_t* flag, cudaStream_t stream) {
  if (B == 0) return cudaSuccess;
  const kernels::CpTiling tl = kernels::cp_tiling(N, R, rpl_max<T>());
#define RC_CP_BWD(K) \
  backward_rpl<T, K>(grad, factors, dims, smem_offset, smem_elems, indices, B, N, R, tl, grads, flag, stream)
  switch (tl.rpl) {
    case 1:
      return RC_CP_BWD(1);
    case 2:
      return RC_CP_BWD(2);
    case 4:
      return RC_CP_BWD(4);
    case 8:
      return RC_CP_BWD(8);
    default:
      if constexpr (rpl_max<T>() >= 16) return RC_CP_BWD(16);
      return cudaErrorInvalidValue;
  }
#undef RC_CP_BWD
}

}  // namespace

cudaError_t launch_cp_eval_forward(const float* const* factors, const int64_t* dims, const int64_t* indices, int64_t B,
                                   int64_t N, int64_t R, float* out, int64_t* flag, cudaStream_t stream) {
  return forward(factors, dims, indices, B, N, R, out, flag, stream);
}
cudaError_t launch_cp_eval_forward(const double* const* factors, const int64_t* dims, const int64_t* indices, int64_t B,
                                   int64_t N, int64_t R, double* out, int64_t* flag, cudaStream_t stream) {
  return forward(factors, dims, indices, B, N, R, out, flag, stream);
}

cudaError_t plan_cp_eval_backward_smem(const int64_t* dims_host, int64_t N, int64_t R, int64_t elem_size, int device,
                                       int64_t* smem_offset_host, int64_t* smem_elems) {
  int optin = 0;
  cudaError_t err = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  if (err != cudaSuccess) return err;
  // Half the per-block maximum leaves room for two resident blocks per SM.
  const int64_t budget = static_cast<int64_t>(optin) / 2 / elem_size;
  std::vector<int64_t> order(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), int64_t(0));
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return dims_host[a] < dims_host[b]; });
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
                                    const int64_t* smem_offset, int64_t smem_elems, const int64_t* indices, int64_t B,
                                    int64_t N, int64_t R, float* const* grads, int64_t* flag, cudaStream_t stream) {
  return backward(grad, factors, dims, smem_offset, smem_elems, indices, B, N, R, grads, flag, stream);
}
cudaError_t launch_cp_eval_backward(const double* grad, const double* const* factors, const int64_t* dims,
                                    const int64_t* smem_offset, int64_t smem_elems, const int64_t* indices, int64_t B,
                                    int64_t N, int64_t R, double* const* grads, int64_t* flag, cudaStream_t stream) {
  return backward(grad, factors, dims, smem_offset, smem_elems, indices, B, N, R, grads, flag, stream);
}

}  // namespace rankcore::ops::cuda
