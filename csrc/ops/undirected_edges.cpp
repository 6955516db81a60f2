// rankcore::undirected_edges — the canonical undirected edge list of a symmetric CSR, with both CSR slots
// of every edge.
//
//   undirected_edges(rowptr, col) -> (edges, upper, mirror)
//
// (rowptr, col) is the symmetric CSR of a simple undirected graph (as rankcore.Graph stores it; else
// ValueError). edges [M, 2] int64 lists every edge once as (u, v), u < v, sorted by (u, v): the order every
// removal order refers to. upper [M] int64 is the CSR slot of the entry (row u, col v) and mirror [M] int64
// the slot of (row v, col u), so a removal order given as edge ids maps onto the CSR, and through the
// input-column -> slot map onto the caller's columns, in O(nnz) with no sort or search. CPU only.

#include "ops/undirected_edges.h"

#include <torch/library.h>

#include "ops/csr_checks.h"

namespace rankcore::ops {

void check_undirected_edges_args(const at::Tensor& rowptr, const at::Tensor& col) {
  check_csr_tensors(rowptr, col, "undirected_edges");
  TORCH_CHECK_VALUE(rowptr.device().is_cpu(), "undirected_edges: the CSR must be on the CPU, got ", rowptr.device());
}

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.def("undirected_edges(Tensor rowptr, Tensor col) -> (Tensor, Tensor, Tensor)");
}

}  // namespace rankcore::ops
