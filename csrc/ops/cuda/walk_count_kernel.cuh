// Host launchers of the CUDA walk_count kernels: plain pointers, no torch types, so that
// walk_count_kernel.cu can be compile-checked with plain nvcc on a machine whose torch has no CUDA.
//
// Every launcher enqueues its work on `stream`, never synchronises, and returns cudaGetLastError()
// (or the first error of its CUDA calls) so the caller can check each launch.
//
// Errors found on the device are recorded in one int64 "flags" array of kWalkFlagCount entries
// (layout below); the caller copies it to the host once, after the last step. "First" entries
// hold the smallest offending position, or -1 (all bits set) when there is none: the kernels
// update them with an unsigned atomicMin, for which -1 is the largest value.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace rankcore::ops::cuda {

enum WalkFlag : int {
  kWalkFlagRowptrFirst = 0,    // rowptr[0]
  kWalkFlagRowptrLast = 1,     // rowptr[n]
  kWalkFlagBadRowptr = 2,      // first j with rowptr[j] > rowptr[j + 1], or -1
  kWalkFlagBadRowptrLo = 3,    // rowptr[j] at that j (filled by the finish launcher)
  kWalkFlagBadRowptrHi = 4,    // rowptr[j + 1] at that j (filled by the finish launcher)
  kWalkFlagNegativeStart = 5,  // first flat index of a negative int64 start value, or -1
  kWalkFlagBadCol = 6,         // first position e with col[e] outside [0, n), or -1
  kWalkFlagBadColValue = 7,    // col[e] at that e (filled by the finish launcher)
  kWalkFlagOverflowStep = 8,   // first step (walk length) whose int64 counts saturated, or -1
  kWalkFlagCount = 9,
};

// Rows with more than `threshold` entries (the hubs of a power-law graph) are not left to one tile of
// lanes, which would serialise on them: each is cut into chunks of kLongRowChunk entries, one block per
// chunk (in the same launch as the other rows) writes partial sums to `partial`, and the last chunk block
// of a row to finish (counted in `counters`) adds them, with the self-loop term, into y. `rows` (device)
// lists those rows; the default plan has none (threshold = INT64_MAX). `counters` (count entries) must be
// zero before the first step; every step leaves them zero again.
inline constexpr int64_t kLongRowThreshold = 1024;
inline constexpr int64_t kLongRowChunk = 1024;
struct LongRowPlan {
  const int64_t* rows = nullptr;  // device ids of the rows with more than `threshold` entries
  int64_t count = 0;
  int64_t threshold = INT64_MAX;
  int64_t max_chunks = 0;                  // ceil(longest row / kLongRowChunk)
  void* partial = nullptr;                 // device scratch of count * max_chunks * k 8-byte values
  unsigned long long* counters = nullptr;  // device, count entries, zero between steps
};

// Sets every flag to -1, records rowptr[0] and rowptr[n], finds the first decreasing rowptr entry
// and (when start_i64 is not null) the first negative start value (start_i64 has `start_numel`
// elements). rowptr has n + 1 entries.
cudaError_t launch_walk_count_prepare(const int64_t* rowptr, int64_t n, const int64_t* start_i64, int64_t start_numel,
                                      int64_t* flags, cudaStream_t stream);

// One step y[j, :] = x[j, :] + sum_{e in [rowptr[j], rowptr[j+1])} x[col[e], :] for an [n, k]
// row-major x and y (y must not alias x). col has nnz entries. Edges whose col is outside [0, n) are
// skipped and recorded in flags[kWalkFlagBadCol]; an int64 count that exceeds INT64_MAX is stored as
// INT64_MAX and `step` is recorded in flags[kWalkFlagOverflowStep]. Edge ranges are clamped to
// [0, nnz), so a malformed rowptr (reported by the prepare launcher) never reads out of bounds.
// One kernel launch per step (rows binned by degree inside it, long rows of `plan` included).
cudaError_t launch_walk_count_step(const int64_t* rowptr, const int32_t* col, int64_t nnz, const int64_t* x, int64_t* y,
                                   int64_t n, int64_t k, int64_t step, const LongRowPlan& plan, int64_t* flags,
                                   cudaStream_t stream);
cudaError_t launch_walk_count_step(const int64_t* rowptr, const int64_t* col, int64_t nnz, const int64_t* x, int64_t* y,
                                   int64_t n, int64_t k, int64_t step, const LongRowPlan& plan, int64_t* flags,
                                   cudaStream_t stream);
cudaError_t launch_walk_count_step(const int64_t* rowptr, const int32_t* col, int64_t nnz, const double* x, double* y,
                                   int64_t n, int64_t k, int64_t step, const LongRowPlan& plan, int64_t* flags,
                                   cudaStream_t stream);
cudaError_t launch_walk_count_step(const int64_t* rowptr, const int64_t* col, int64_t nnz, const double* x, double* y,
                                   int64_t n, int64_t k, int64_t step, const LongRowPlan& plan, int64_t* flags,
                                   cudaStream_t stream);

// Fills the "value" flags (kWalkFlagBadRowptrLo/Hi, kWalkFlagBadColValue) from the recorded
// positions, so that one host copy of `flags` carries everything the error messages need.
cudaError_t launch_walk_count_finish(const int64_t* rowptr, const int32_t* col, int64_t* flags, cudaStream_t stream);
cudaError_t launch_walk_count_finish(const int64_t* rowptr, const int64_t* col, int64_t* flags, cudaStream_t stream);

}  // namespace rankcore::ops::cuda
