// rankcore::wis_degree_greedy — exact 1-WIS (depth L = 2) removal order.
//
//   wis_degree_greedy(rowptr, col, num_remove) -> removed [num_remove, 2] int64 (u < v, removal order)
//
// (rowptr, col) is the symmetric CSR of a simple undirected graph (no self-loops, sorted rows), as
// rankcore.Graph stores it. For L = 2 the singleton score is s_t = deg(t) + 1 (0 when isolated), and
// the greedy step that maximises the ascending-sorted score vector is the edge maximising
// (min(deg u, deg v), max(deg u, deg v)); ties go to the smallest (u, v) (DESIGN section 2).
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.def("wis_degree_greedy(Tensor rowptr, Tensor col, int num_remove) -> Tensor");
}
