// Per-element arithmetic of walk counting, shared by the CPU and CUDA kernels.
//
// One step of walk counting is y[j] = x[j] + sum_{i -> j} x[i] (the implicit self-loop of Â = A + I
// plus the in-neighbours). The only operation is addition, so two policies cover every dtype:
//   * ExactCount (int64): counts are non-negative, so we add them as uint64 and saturate at 2^63.
//     A saturated accumulator means the true count exceeds INT64_MAX. Saturation never wraps, so the
//     check is one compare per row at the end, and the inner loop stays branch-free (vectorisable).
//   * FloatCount (float64): plain IEEE addition, the approximate mode.
#pragma once

#include <cstdint>

#include "kernels/common.h"

namespace rankcore::kernels {

struct ExactCount {
  using value_t = int64_t;
  using acc_t = uint64_t;
  static constexpr acc_t kSaturated = acc_t(1) << 63;  // INT64_MAX + 1

  HOST_DEVICE_INLINE static acc_t load(value_t v) { return static_cast<acc_t>(v); }
  // Saturating add of two values <= kSaturated; a + b <= 2^64 - ... can reach 2^64 only when both are
  // saturated, which the (s < a) test catches as a wrap.
  HOST_DEVICE_INLINE static acc_t add(acc_t a, acc_t b) {
    const acc_t s = a + b;
    return (s < a || s > kSaturated) ? kSaturated : s;
  }
  HOST_DEVICE_INLINE static bool overflowed(acc_t a) { return a >= kSaturated; }
  HOST_DEVICE_INLINE static value_t store(acc_t a) {
    return static_cast<value_t>(a >= kSaturated ? kSaturated - 1 : a);
  }
};

struct FloatCount {
  using value_t = double;
  using acc_t = double;
  HOST_DEVICE_INLINE static acc_t load(value_t v) { return v; }
  HOST_DEVICE_INLINE static acc_t add(acc_t a, acc_t b) { return a + b; }
  HOST_DEVICE_INLINE static bool overflowed(acc_t) { return false; }
  HOST_DEVICE_INLINE static value_t store(acc_t a) { return a; }
};

template <typename T>
struct CountPolicy;
template <>
struct CountPolicy<int64_t> {
  using type = ExactCount;
};
template <>
struct CountPolicy<double> {
  using type = FloatCount;
};

// ---------------------------------------------------------------------------------------------
// Layout of the CUDA step kernel (csrc/ops/cuda/walk_count_kernel.cu), kept here so that
// tests/ops/cpp/walk_step_emulation.cpp replays the same index arithmetic on the host. The CPU kernel does
// not use any of this.
//
// Columns: each lane handles V consecutive columns (V = 4: two 16-byte loads of int64 / float64;
// V = 2: one 16-byte load; V = 1: one 8-byte load); V > 1 only for k >= 4 with k a multiple of V and
// 16-byte aligned x and y, so every lane's V values are one aligned vector. A column block is W lanes
// x V columns (W a power of two <= 32); k > 32 * V takes several column blocks.
// Rows: a block of kWalkBlockThreads threads takes a segment of kWalkSegmentRows rows, sorts them into
// bins by degree (in shared memory: no host pass) and processes each bin with its own tile size:
//   short  (deg <= short_max): a tile of Ls lanes (Ls < 32: 32 / Ls rows share a warp);
//   warp   (deg <= warp_max):  one warp;
//   block  (deg <= long threshold): the whole block (8 warps take the row's 32-edge chunks in turn);
//   long   (deg > long threshold, the cached LongRowPlan): chunks of kLongChunkEntries entries, one
//          block each, in the same launch; the last chunk block of a row to finish adds the partial sums.
// Within a tile of L lanes, lane q works on column offset (q % W) * V and edge group g = q / W of
// G = L / W groups; the tile reads L col entries per chunk (one per lane, coalesced) and group g
// accumulates the chunk's edges t * G + g for t < W (shuffled from the lane that read them).
inline constexpr int kWalkBlockThreads = 256;      // = ops::cuda::kBlockThreads
inline constexpr int kWalkSegmentRows = 256;       // rows binned per block iteration (one per thread)
inline constexpr int64_t kWalkWarpMaxEdges = 256;  // rows up to this many entries go to one warp
inline constexpr int kWalkWarps = kWalkBlockThreads / 32;

struct WalkLayout {
  int V = 1;               // columns per lane
  int W = 1;               // lanes per column block
  int Ls = 1;              // lanes of a short-row tile (W <= Ls <= 32)
  int64_t short_max = -1;  // deg <= short_max: short tile (-1: no short bin, Ls == 32)
  int64_t warp_max = kWalkWarpMaxEdges;
};

enum WalkBin : int { kWalkBinShort = 0, kWalkBinWarp = 1, kWalkBinBlock = 2, kWalkBinLong = 3 };

HOST_DEVICE_INLINE int walk_pow2_at_least(int64_t v, int cap) {
  int p = 1;
  while (p < cap && p < v) p *= 2;
  return p;
}

// aligned16: x and y both start on a 16-byte boundary.
HOST_DEVICE_INLINE int walk_vector_width(int64_t k, bool aligned16) {
  if (k < 4 || !aligned16) return 1;
  return (k % 4 == 0) ? 4 : (k % 2 == 0 ? 2 : 1);
}

HOST_DEVICE_INLINE WalkLayout walk_layout(int64_t k, int64_t nnz, int64_t n, bool aligned16) {
  WalkLayout lay;
  lay.V = walk_vector_width(k, aligned16);
  lay.W = walk_pow2_at_least((k + lay.V - 1) / lay.V, 32);
  const int64_t avg = n > 0 ? (nnz + n - 1) / n : 0;
  lay.Ls = lay.W * walk_pow2_at_least(avg, 32 / lay.W);  // enough groups for an average row in one chunk
  lay.short_max = lay.Ls < 32 ? 2 * static_cast<int64_t>(lay.Ls) : -1;
  lay.warp_max = kWalkWarpMaxEdges;
  return lay;
}

// long_threshold: rows with more entries are in the LongRowPlan (INT64_MAX when it has none).
HOST_DEVICE_INLINE int walk_bin(int64_t deg, const WalkLayout& lay, int64_t long_threshold) {
  if (deg > long_threshold) return kWalkBinLong;
  if (deg <= lay.short_max) return kWalkBinShort;
  if (deg <= lay.warp_max) return kWalkBinWarp;
  return kWalkBinBlock;
}

// Lane q of a tile: first column of its V within the column block, and its edge group.
HOST_DEVICE_INLINE int walk_lane_column(int q, int W, int V) { return (q % W) * V; }
HOST_DEVICE_INLINE int walk_lane_group(int q, int W) { return q / W; }
// The lane of a tile of G groups that read the t-th edge of group g in a chunk.
HOST_DEVICE_INLINE int walk_source_lane(int t, int g, int G) { return t * G + g; }

// Grid of the fused step launch: segment blocks first, then long-row chunk blocks; each part is a
// grid-stride loop capped at max_blocks blocks.
struct WalkGrid {
  int64_t seg_blocks = 0, num_segments = 0, long_blocks = 0, long_items = 0;
};
HOST_DEVICE_INLINE WalkGrid walk_grid(int64_t n, int64_t long_count, int64_t max_chunks, int64_t max_blocks) {
  WalkGrid gr;
  gr.num_segments = (n + kWalkSegmentRows - 1) / kWalkSegmentRows;
  gr.seg_blocks = gr.num_segments < max_blocks ? gr.num_segments : max_blocks;
  gr.long_items = long_count * max_chunks;
  gr.long_blocks = gr.long_items < max_blocks ? gr.long_items : max_blocks;
  return gr;
}

}  // namespace rankcore::kernels
