// rankcore::walk_count — k simultaneous walk-count vectors through Â = A + I.
//
//   walk_count(rowptr, col, start, length) -> counts
//
// (rowptr, col) is the *in-neighbour* CSR of the graph: row j lists the sources i of the edges i -> j,
// without self-loops (the self-loop of Â is implicit). start is [n, k] (vertex-major, so one vertex's
// k counts are contiguous). One step computes y[j, :] = x[j, :] + sum_{i in row j} x[i, :]; after
// `length` steps, counts[j, c] = sum_i start[i, c] * (Â^length)[i, j].
// int64 is exact: an overflow raises an error whose message starts with "rankcore overflow:" and names
// the walk length that overflowed. float64 is the approximate mode.
// Layout (CPU): counts has start's layout, row-major or column-major (start the transpose of a contiguous
// [k, n], k, n > 1); CUDA returns row-major. rankcore.ops' fake implementation follows the same rule.
#include "ops/walk_count.h"

#include <torch/library.h>

namespace rankcore::ops {

void check_walk_count_args(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& start, int64_t length) {
  TORCH_CHECK_VALUE(length >= 0, "walk_count: length must be >= 0, got ", length);
  check_csr_tensors(rowptr, col, "walk_count");
  TORCH_CHECK_VALUE(start.dim() == 2, "walk_count: start must be 2-D [num_nodes, k], got shape ", start.sizes());
  TORCH_CHECK_TYPE(start.scalar_type() == at::kLong || start.scalar_type() == at::kDouble,
                   "walk_count: start must be int64 (exact) or float64, got ", start.scalar_type());
  TORCH_CHECK_VALUE(start.size(0) == rowptr.numel() - 1, "walk_count: start has ", start.size(0),
                    " rows but rowptr describes ", rowptr.numel() - 1, " vertices");
  TORCH_CHECK_VALUE(start.device() == rowptr.device(), "walk_count: rowptr, col and start must be on one device, got ",
                    rowptr.device(), ", ", col.device(), ", ", start.device());
}

void check_walk_count_plan_args(const at::Tensor& rowptr, const at::Tensor& long_rows, int64_t max_chunks) {
  TORCH_CHECK_TYPE(long_rows.scalar_type() == at::kLong, "walk_count_planned: long_rows must be int64, got ",
                   long_rows.scalar_type());
  TORCH_CHECK_VALUE(long_rows.dim() == 1, "walk_count_planned: long_rows must be 1-D, got shape ", long_rows.sizes());
  TORCH_CHECK_VALUE(long_rows.device() == rowptr.device(), "walk_count_planned: long_rows is on ", long_rows.device(),
                    " but rowptr is on ", rowptr.device());
  TORCH_CHECK_VALUE(max_chunks >= 0 && (long_rows.numel() == 0 || max_chunks > 0),
                    "walk_count_planned: max_chunks must be >= 0, and > 0 when there are long rows; got ", max_chunks,
                    " for ", long_rows.numel(), " long rows");
}

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.def("walk_count(Tensor rowptr, Tensor col, Tensor start, int length) -> Tensor");
  // CUDA only: walk_count with the long-row plan (rows with more than 1024 entries, and
  // ceil(longest / 1024)) given by the caller; rankcore.ops.walk_count caches it per graph.
  m.def(
      "walk_count_planned(Tensor rowptr, Tensor col, Tensor start, int length, Tensor long_rows, "
      "int max_chunks) -> Tensor");
}

}  // namespace rankcore::ops
