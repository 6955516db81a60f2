// rankcore::closed_walk_counts — s_t = (Â^L)_tt for every vertex t, Â = A + I.
//
//   closed_walk_counts(rowptr, col, length) -> counts [n] int64
//
// (rowptr, col) is the symmetric CSR of a simple undirected graph (as for edge_common_neighbors).
// counts[t] is the number of closed walks of length L at t on Â, exactly; an isolated vertex has 1
// (its self-loop walk; WIS scores it 0, which the caller applies). L = 2 and 3 use the closed forms
// deg + 1 and 2·tri + 3·deg + 1 (tri from sorted-row intersections); L >= 4 expands the walks from
// each vertex locally: (Â^L)_tt = <Â^a e_t, Â^b e_t> with a = floor(L/2), b = L - a, so only the
// ball of radius b around t is touched. int64 overflow raises an error starting with
// "rankcore overflow:" that names the length.
#include "ops/closed_walk_counts.h"

#include <torch/library.h>

namespace rankcore::ops {

void check_closed_walk_counts_args(const at::Tensor& rowptr, const at::Tensor& col, int64_t length) {
  check_csr_tensors(rowptr, col, "closed_walk_counts");
  TORCH_CHECK_VALUE(length >= 0, "closed_walk_counts: length must be >= 0, got ", length);
}

TORCH_LIBRARY_FRAGMENT(rankcore, m) { m.def("closed_walk_counts(Tensor rowptr, Tensor col, int length) -> Tensor"); }

}  // namespace rankcore::ops
