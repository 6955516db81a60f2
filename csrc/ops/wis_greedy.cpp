// rankcore::wis_greedy — exact (L-1)-Walk Index Sparsification removal order (docs/definitions.md §2).
//
//   wis_greedy(rowptr, col, num_remove, depth, progress) -> (removed [num_remove, 2] int64 (u < v, in order),
//                                                            ids [num_remove] int64: each edge's rank in the
//                                                            (u, v) order of rankcore::undirected_edges)
//
// (rowptr, col) is the symmetric CSR of a simple undirected graph (rows sorted, no self-loops), as
// rankcore.Graph stores it. Each step removes the edge whose removal leaves the ascending-sorted vector of
// singleton scores s_t = (Â^L)_tt (0 for isolated t) lexicographically largest; ties go to the smallest
// (u, v). `progress` is a contiguous int64 CPU tensor of 1 or 2 elements: the op overwrites element 0
// with the number of steps done so far (a caller on another thread can poll it; the op runs without
// the GIL) and stops with a "rankcore cancelled:" error once element 1, when present, is non-zero
// (cpu/progress_slot.h). CPU only.
//   L = 2: s_t = deg(t) + 1, so the step maximises (min deg, max deg): a lazy max-heap (keys only fall).
//   L >= 3: an ordered set of per-candidate score deltas with local re-keying (cpu/wis_walk_engine.h).
// Guards (min_degree > 0, keep_connected; cpu/removal_guards.h): the greedy skips, for good, every candidate
// the guards forbid when it comes first, and is otherwise unchanged (same keys, same tie rule); it stops early
// when the guards forbid every edge left, so the outputs have num_remove rows or fewer.
#include "ops/wis_greedy.h"

#include <torch/library.h>

namespace rankcore::ops {

void check_wis_greedy_args(const at::Tensor& rowptr, const at::Tensor& col, int64_t depth, const at::Tensor& progress,
                           int64_t min_degree) {
  TORCH_CHECK_VALUE(min_degree >= 0, "wis_greedy: min_degree must be >= 0, got ", min_degree);
  check_csr_tensors(rowptr, col, "wis_greedy");
  TORCH_CHECK_VALUE(depth >= 2, "wis_greedy: depth must be >= 2, got ", depth);
  TORCH_CHECK_VALUE(progress.scalar_type() == at::kLong && (progress.numel() == 1 || progress.numel() == 2) &&
                        progress.is_contiguous() && progress.device().is_cpu(),
                    "wis_greedy: progress must be a contiguous int64 CPU tensor of 1 element (steps done) or 2 "
                    "(steps done, cancel flag)");
  // The edge lists are int32 (vertex ids and edge ids).
  TORCH_CHECK_VALUE(rowptr.numel() - 1 <= INT32_MAX,
                    "wis_greedy: graphs with more than 2^31 - 1 vertices are not supported");
  TORCH_CHECK_VALUE(col.numel() / 2 <= INT32_MAX, "wis_greedy: graphs with more than 2^31 - 1 edges are not supported");
}

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.def(
      "wis_greedy(Tensor rowptr, Tensor col, int num_remove, int depth, Tensor(a!) progress, int min_degree=0, "
      "bool keep_connected=False) -> (Tensor, Tensor)");
}

}  // namespace rankcore::ops
