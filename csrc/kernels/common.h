// Macros and index math shared by CPU (.cpp) and CUDA (.cu) code. Includes nothing from torch so that
// kernel files can be compile-checked with plain nvcc on a machine whose torch has no CUDA.
#pragma once

#include <cstdint>

#if defined(__CUDACC__) || defined(__HIPCC__)
#define HOST_DEVICE_INLINE __host__ __device__ __forceinline__
#else
#define HOST_DEVICE_INLINE inline
#endif

namespace rankcore::kernels {

// True when index i addresses a row of a table with d rows (a CP factor, an HT leaf).
HOST_DEVICE_INLINE bool index_ok(int64_t i, int64_t d) { return i >= 0 && i < d; }

}  // namespace rankcore::kernels
