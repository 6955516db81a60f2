// Launch and error-flag helpers shared by every CUDA kernel file (*_kernel.cu). Torch-free, like the
// kernel files themselves, so that they still compile with plain nvcc on a machine whose torch has no
// CUDA. (The torch side of the bindings shares ops/cuda/binding_common.h.)
//
// Error flags: kernels never stop on bad input. They record the smallest offending position in an
// int64 flag that starts at -1 (all bits set, the largest value as unsigned), with an unsigned
// atomicMin; the binding copies its flags to the host once and raises the CPU path's message.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace rankcore::ops::cuda {

using ull = unsigned long long;

inline constexpr int kWarpSize = 32;
inline constexpr int kBlockThreads = 256;  // threads per block of every 1-D launch (8 warps)

// Cap on the blocks of a 1-D grid; every kernel launched through blocks_for is a grid-stride loop, so
// larger problems only take more rounds. 65535 = 2^16 - 1 is the largest count that is a legal grid
// size in every dimension on every GPU (gridDim.x allows 2^31 - 1 since compute capability 3.0, but
// gridDim.y and .z still stop at 65535), so one cap serves all three: walk_count's long-row launch
// splits its grid.y by it too. (Three files had drifted to 65536, which is legal for grid.x only; at
// 256 threads a block the two caps differ by one block in 65536, only for launches beyond 16.7M
// threads, far more blocks than any GPU keeps resident, so the speed is the same.)
inline constexpr int64_t kMaxBlocks = 65535;

// Blocks of `block_threads` threads that cover `threads` threads, in [1, kMaxBlocks].
inline unsigned blocks_for(int64_t threads, int64_t block_threads = kBlockThreads) {
  const int64_t blocks = (threads + block_threads - 1) / block_threads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > kMaxBlocks ? kMaxBlocks : blocks));
}

// Records `value` in `*flag` when it is smaller than what the flag holds (-1 holds nothing yet).
__device__ __forceinline__ void flag_min(int64_t* flag, int64_t value) {
  atomicMin(reinterpret_cast<ull*>(flag), static_cast<ull>(value));
}

// Sets `count` flags to -1 ("nothing recorded"), enqueued on `stream`.
inline cudaError_t launch_init_flags(int64_t* flags, int64_t count, cudaStream_t stream) {
  return cudaMemsetAsync(flags, 0xff, sizeof(int64_t) * static_cast<size_t>(count), stream);
}

}  // namespace rankcore::ops::cuda
