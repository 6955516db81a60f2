// CPU implementation of rankcore::closed_walk_counts (see ops/closed_walk_counts.cpp).
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include "ops/closed_walk_counts.h"
#include "ops/cpu/closed_walks_host.h"

namespace rankcore::ops {
namespace {

template <typename index_t>
at::Tensor closed_walk_counts_impl(const at::Tensor& rowptr_t, const at::Tensor& col_t, int64_t length) {
  const int64_t n = rowptr_t.numel() - 1;
  const int64_t* rowptr = rowptr_t.data_ptr<int64_t>();
  const index_t* col = col_t.data_ptr<index_t>();
  check_host_simple_symmetric(rowptr, col, n, "closed_walk_counts");
  at::Tensor out_t = at::empty({n}, rowptr_t.options());
  int64_t* out = out_t.data_ptr<int64_t>();

  const bool ok = cpu::closed_walk_counts_host(rowptr, col, n, length, out);
  TORCH_CHECK(ok, kOverflowPrefix, " closed walk counts of length ", length, " exceed the int64 range (2^63 - 1)");
  return out_t;
}

at::Tensor closed_walk_counts_cpu(const at::Tensor& rowptr, const at::Tensor& col, int64_t length) {
  check_closed_walk_counts_args(rowptr, col, length);
  const at::Tensor rowptr_c = rowptr.contiguous(), col_c = col.contiguous();
  check_host_rowptr(rowptr_c.data_ptr<int64_t>(), rowptr_c.numel() - 1, col_c.numel(), "closed_walk_counts");
  return AT_DISPATCH_INDEX_TYPES(col_c.scalar_type(), "closed_walk_counts_cpu",
                                 [&] { return closed_walk_counts_impl<index_t>(rowptr_c, col_c, length); });
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) { m.impl("closed_walk_counts", &closed_walk_counts_cpu); }

}  // namespace rankcore::ops
