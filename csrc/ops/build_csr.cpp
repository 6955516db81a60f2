// rankcore::build_csr — the normalised in-neighbour CSR of an edge_index (definitions §2).
//
//   build_csr(edge_index, num_nodes, symmetrize, require_undirected) -> (rowptr, col, undirected, slot)
//   build_csr_rows(edge_index, num_nodes, first_row, num_rows) -> (rowptr, col)
//
// edge_index is [2, m] int64 (row 0 source, row 1 target). Every id must lie in [0, num_nodes) (else
// ValueError naming the first bad column); self-loop columns are dropped, duplicates merged, and with
// symmetrize every reverse edge is added. rowptr int64 [n + 1] and col int32 [nnz] are the CSR (row j
// lists the sources of the edges i -> j, sorted); undirected is a 0-d bool tensor (every edge has its
// reverse); slot int64 [m] maps each input column to the CSR position of its edge (-1 for a self-loop
// column). With require_undirected and without symmetrize, a directed graph raises ValueError naming
// the first column (in input order) whose reverse edge is missing. CPU only.
//
// build_csr_rows is the same normalisation for the rows [first_row, first_row + num_rows) of a graph on
// num_nodes vertices (a torch.distributed rank's share, rankcore.distributed): every target must lie in the
// range and every source in [0, num_nodes) (else ValueError naming the first bad column); self-loops dropped,
// duplicates merged; rowptr int64 [num_rows + 1] over the range, col int32 sorted within each row. No
// symmetrize and no undirected flag: a rank holds one side of its edges (the caller checks symmetry globally).

#include "ops/build_csr.h"

#include <torch/library.h>

namespace rankcore::ops {

void check_build_csr_args(const at::Tensor& edge_index, int64_t num_nodes) {
  TORCH_CHECK_VALUE(edge_index.dim() == 2 && edge_index.size(0) == 2,
                    "build_csr: edge_index must have shape [2, m], got ", edge_index.sizes());
  TORCH_CHECK_TYPE(edge_index.scalar_type() == at::kLong, "build_csr: edge_index must be int64, got ",
                   edge_index.scalar_type());
  TORCH_CHECK_VALUE(num_nodes >= 0 && num_nodes <= INT32_MAX, "build_csr: num_nodes must be in [0, 2^31 - 1], got ",
                    num_nodes);
}

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.def(
      "build_csr(Tensor edge_index, int num_nodes, bool symmetrize, bool require_undirected) -> "
      "(Tensor, Tensor, Tensor, Tensor)");
  m.def("build_csr_rows(Tensor edge_index, int num_nodes, int first_row, int num_rows) -> (Tensor, Tensor)");
}

}  // namespace rankcore::ops
