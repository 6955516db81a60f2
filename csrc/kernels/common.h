// Macros shared by CPU (.cpp) and CUDA (.cu) code. Includes nothing from torch so that kernel files
// can be compile-checked with plain nvcc on a machine whose torch has no CUDA.
#pragma once

#if defined(__CUDACC__) || defined(__HIPCC__)
#define HOST_DEVICE_INLINE __host__ __device__ __forceinline__
#else
#define HOST_DEVICE_INLINE inline
#endif
