// CPU implementation of rankcore::edge_common_neighbors (see ops/edge_common_neighbors.cpp).
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include "ops/cpu/sorted_intersection.h"
#include "ops/edge_common_neighbors.h"

namespace rankcore::ops {
namespace {

template <typename index_t>
at::Tensor edge_common_neighbors_impl(const at::Tensor& rowptr_t, const at::Tensor& col_t) {
  const int64_t n = rowptr_t.numel() - 1;
  const int64_t* rowptr = rowptr_t.data_ptr<int64_t>();
  const index_t* col = col_t.data_ptr<index_t>();
  check_host_simple_symmetric(rowptr, col, n, "edge_common_neighbors");
  at::Tensor counts = at::empty({col_t.numel()}, rowptr_t.options());
  cpu::edge_common_neighbors_host(rowptr, col, n, counts.data_ptr<int64_t>());
  return counts;
}

at::Tensor edge_common_neighbors_cpu(const at::Tensor& rowptr, const at::Tensor& col) {
  check_edge_common_neighbors_args(rowptr, col);
  const at::Tensor rowptr_c = rowptr.contiguous(), col_c = col.contiguous();
  check_host_rowptr(rowptr_c.data_ptr<int64_t>(), rowptr_c.numel() - 1, col_c.numel(), "edge_common_neighbors");
  return AT_DISPATCH_INDEX_TYPES(col_c.scalar_type(), "edge_common_neighbors_cpu",
                                 [&] { return edge_common_neighbors_impl<index_t>(rowptr_c, col_c); });
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) { m.impl("edge_common_neighbors", &edge_common_neighbors_cpu); }

}  // namespace rankcore::ops
