// rankcore::local_degree_exponents — the ranks of NetworKit's Local Degree score (definitions §2,
// python/rankcore/graph/sparsify.py) for a list of (owner i, neighbour j) pairs.
//
//   local_degree_exponents(owner, other, d_owner, d_other, num_rows, first_row) -> (positions, exponents)
//
// Every owner i of degree d ranks its neighbours j with deg(j) > d by degree, descending (equal degrees: smaller
// id first); rank r gets the exponent 1 - log(r) / log(d) (1 when d = 1). positions [P] int64: the input
// positions of the ranked pairs (d_other > d_owner), ordered by (owner, rank) (repeated pairs in input order);
// exponents [P] float64 in the same order. Owners of ranked pairs must lie in [first_row, first_row + num_rows) (a
// rank's own rows in the distributed score; [0, n) in one process). A counting sort by owner and one small sort per
// owner, O(P log d): the distributed Local Degree calls it on a rank's rows. CPU only.
//
//   local_degree_scores(rowptr, col, upper, mirror) -> scores [M] float64
//
// The Local Degree score of every edge of a simple undirected graph given as its symmetric CSR (rowptr int64, col
// int32 or int64) and the CSR slots of each edge's two entries (upper / mirror [M] int64, edge e = (u, v), u < v:
// rankcore::undirected_edges): the same ranking, done row by row on the CSR (no pair lists, no sort by owner), and
// each edge's exponent from the end that ranks it (the end of strictly smaller degree; 0 when the degrees are
// equal). The single-process Local Degree calls it. CPU only.
#include "ops/local_degree.h"

#include <torch/library.h>

#include "ops/csr_checks.h"

namespace rankcore::ops {

void check_local_degree_args(const at::Tensor& owner, const at::Tensor& other, const at::Tensor& d_owner,
                             const at::Tensor& d_other, int64_t num_rows, int64_t first_row) {
  for (const at::Tensor* t : {&owner, &other, &d_owner, &d_other}) {
    TORCH_CHECK_VALUE(t->device().is_cpu() && t->scalar_type() == at::kLong && t->dim() == 1,
                      "local_degree_exponents: owner, other, d_owner and d_other must be 1-D int64 CPU tensors, got ",
                      t->scalar_type(), " of shape ", t->sizes(), " on ", t->device());
    TORCH_CHECK_VALUE(t->numel() == owner.numel(),
                      "local_degree_exponents: owner, other, d_owner and d_other must "
                      "have one length, got ",
                      owner.numel(), " and ", t->numel());
  }
  TORCH_CHECK_VALUE(num_rows >= 0 && first_row >= 0,
                    "local_degree_exponents: num_rows and first_row must be >= 0, "
                    "got ",
                    num_rows, " and ", first_row);
}

void check_local_degree_scores_args(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& upper,
                                    const at::Tensor& mirror) {
  check_csr_tensors(rowptr, col, "local_degree_scores");
  TORCH_CHECK_VALUE(rowptr.device().is_cpu(), "local_degree_scores: CPU tensors only, got ", rowptr.device());
  for (const at::Tensor* t : {&upper, &mirror}) {
    TORCH_CHECK_VALUE(t->device().is_cpu() && t->scalar_type() == at::kLong && t->dim() == 1,
                      "local_degree_scores: upper and mirror must be 1-D int64 CPU tensors, got ", t->scalar_type(),
                      " of shape ", t->sizes(), " on ", t->device());
  }
  TORCH_CHECK_VALUE(upper.numel() == mirror.numel(), "local_degree_scores: upper and mirror must have one length, got ",
                    upper.numel(), " and ", mirror.numel());
}

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.def(
      "local_degree_exponents(Tensor owner, Tensor other, Tensor d_owner, Tensor d_other, int num_rows, "
      "int first_row) -> (Tensor, Tensor)");
  m.def("local_degree_scores(Tensor rowptr, Tensor col, Tensor upper, Tensor mirror) -> Tensor");
}

}  // namespace rankcore::ops
