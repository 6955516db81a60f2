// Closed-walk counts (Â^L)_tt and triangle counts on a validated symmetric CSR, shared by the
// closed_walk_counts op and by exact WIS (which scores with them).
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include "ops/cpu/local_walks.h"
#include "ops/cpu/sorted_intersection.h"
#include "ops/cpu/wis_score.h"

namespace rankcore::ops::cpu {

// tri[t] = number of triangles at t, from the per-edge common-neighbour counts (each triangle at t is
// seen from both of its edges at t).
template <typename index_t>
std::vector<int64_t> triangle_counts_host(const int64_t* rowptr, const index_t* col, int64_t n) {
  std::vector<int64_t> common(static_cast<size_t>(rowptr[n]));
  edge_common_neighbors_host(rowptr, col, n, common.data());
  std::vector<int64_t> tri(static_cast<size_t>(n));
  at::parallel_for(0, n, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      int64_t twice = 0;
      for (int64_t e = rowptr[t]; e < rowptr[t + 1]; ++e) twice += common[e];
      tri[t] = twice / 2;
    }
  });
  return tri;
}

// out[t] = (Â^L)_tt (1 for an isolated t). Returns false when an int64 count overflowed (out is then
// unusable). L <= 3 use the closed forms; L >= 4 expands the walks of each vertex locally.
template <typename index_t>
bool closed_walk_counts_host(const int64_t* rowptr, const index_t* col, int64_t n, int64_t length, int64_t* out) {
  if (length <= 2) {  // Â^0 = I, Â_tt = 1, (Â^2)_tt = deg + 1
    for (int64_t t = 0; t < n; ++t) out[t] = length == 2 ? closed_walks_l2(rowptr[t + 1] - rowptr[t]) : 1;
    return true;
  }
  if (length == 3) {  // (Â^3)_tt = 2·tri(t) + 3·deg(t) + 1; cannot overflow (tri < n^2 / 2)
    const std::vector<int64_t> tri = triangle_counts_host(rowptr, col, n);
    for (int64_t t = 0; t < n; ++t) out[t] = closed_walks_l3(rowptr[t + 1] - rowptr[t], tri[t]);
    return true;
  }
  if (length >= 64) {
    // A vertex with an edge {t, u} has (Â^L)_tt >= (J^L)_11 = 2^(L-1) >= 2^63 (J = the all-ones 2 x 2
    // block of Â on {t, u}): every such count overflows, whatever the graph. Isolated vertices have 1.
    if (rowptr[n] > 0) return false;
    for (int64_t t = 0; t < n; ++t) out[t] = 1;
    return true;
  }
  // L >= 4: costs vary wildly (hubs), so threads take small blocks of vertices from a shared counter
  // instead of one fixed range each.
  constexpr int64_t kBlock = 64;
  const int64_t num_blocks = (n + kBlock - 1) / kBlock;
  std::atomic<int64_t> next_block{0};
  std::atomic<bool> overflow{false};
  at::parallel_for(0, at::get_num_threads(), 1, [&](int64_t, int64_t) {
    LocalWalkExpander expander(n);
    auto neighbors = [&](int64_t i, auto&& f) {
      for (int64_t e = rowptr[i]; e < rowptr[i + 1]; ++e) f(static_cast<int64_t>(col[e]));
    };
    for (int64_t blk = next_block++; blk < num_blocks && !overflow.load(std::memory_order_relaxed);
         blk = next_block++) {
      for (int64_t t = blk * kBlock; t < std::min(n, (blk + 1) * kBlock); ++t) {
        out[t] = expander.closed_walks(t, length, neighbors);
      }
      if (expander.overflow()) overflow = true;
    }
  });
  return !overflow.load();
}

}  // namespace rankcore::ops::cpu
