// rankcore::wis_greedy — exact (L-1)-Walk Index Sparsification removal order (DESIGN section 2).
//
//   wis_greedy(rowptr, col, num_remove, depth, progress) -> removed [num_remove, 2] int64 (u < v, in order)
//
// (rowptr, col) is the symmetric CSR of a simple undirected graph (rows sorted, no self-loops), as
// rankcore.Graph stores it. Each step removes the edge whose removal leaves the ascending-sorted vector of
// singleton scores s_t = (Â^L)_tt (0 for isolated t) lexicographically largest; ties go to the smallest
// (u, v). `progress` is a one-element int64 CPU tensor that the op overwrites with the number of steps
// done so far (a caller on another thread can poll it; the op runs without the GIL).
//   L = 2: s_t = deg(t) + 1, so the step maximises (min deg, max deg): a lazy max-heap (keys only fall).
//   L >= 3: an ordered set of per-candidate score deltas with local re-keying (cpu/wis_walk_engine.h).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.def("wis_greedy(Tensor rowptr, Tensor col, int num_remove, int depth, Tensor(a!) progress) -> Tensor");
}
