// rankcore::edge_common_neighbors — per-edge common-neighbour counts of an undirected graph.
//
//   edge_common_neighbors(rowptr, col) -> counts [nnz] int64
//
// (rowptr, col) is the symmetric CSR of a simple undirected graph (rows sorted, no duplicates, no
// self-loops), as rankcore.Graph stores it. counts[e] = |N(u) ∩ N(v)| for the slot e = (u, v), i.e.
// the number of triangles through the edge {u, v}; both slots of an edge get the same count. Summing
// a row and halving gives the triangle count of the vertex. Rows are intersected as sorted sets
// (merge, or binary search of the shorter row when the lengths differ a lot); nothing dense.
#include "ops/edge_common_neighbors.h"

#include <torch/library.h>

namespace rankcore::ops {

void check_edge_common_neighbors_args(const at::Tensor& rowptr, const at::Tensor& col) {
  check_csr_tensors(rowptr, col, "edge_common_neighbors");
}

TORCH_LIBRARY_FRAGMENT(rankcore, m) { m.def("edge_common_neighbors(Tensor rowptr, Tensor col) -> Tensor"); }

}  // namespace rankcore::ops
