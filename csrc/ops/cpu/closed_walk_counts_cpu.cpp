// CPU implementation of rankcore::closed_walk_counts (see ops/closed_walk_counts.cpp).
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <atomic>
#include <vector>

#include "ops/cpu/local_walks.h"
#include "ops/cpu/sorted_intersection.h"
#include "ops/csr_checks.h"
#include "ops/graph_structure.h"
#include "ops/walk_count.h"

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

  if (length <= 2) {  // Â^0 = I, Â_tt = 1, (Â^2)_tt = deg + 1
    for (int64_t t = 0; t < n; ++t) out[t] = length == 2 ? rowptr[t + 1] - rowptr[t] + 1 : 1;
    return out_t;
  }
  if (length == 3) {  // (Â^3)_tt = 2·tri(t) + 3·deg(t) + 1; cannot overflow (tri < n^2 / 2)
    std::vector<int64_t> common(static_cast<size_t>(rowptr[n]));
    cpu::edge_common_neighbors_host(rowptr, col, n, common.data());
    at::parallel_for(0, n, 4096, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        int64_t twice_tri = 0;
        for (int64_t e = rowptr[t]; e < rowptr[t + 1]; ++e) twice_tri += common[e];
        out[t] = twice_tri + 3 * (rowptr[t + 1] - rowptr[t]) + 1;
      }
    });
    return out_t;
  }

  // L >= 4: local expansion per vertex. Costs vary wildly (hubs), so threads take small blocks of
  // vertices from a shared counter instead of one fixed range each.
  constexpr int64_t kBlock = 64;
  const int64_t num_blocks = (n + kBlock - 1) / kBlock;
  std::atomic<int64_t> next_block{0};
  std::atomic<bool> overflow{false};
  at::parallel_for(0, at::get_num_threads(), 1, [&](int64_t, int64_t) {
    cpu::LocalWalkExpander expander(n);
    auto neighbors = [&](int64_t i, auto&& f) {
      for (int64_t e = rowptr[i]; e < rowptr[i + 1]; ++e) f(static_cast<int64_t>(col[e]));
    };
    for (int64_t blk = next_block++; blk < num_blocks && !overflow.load(std::memory_order_relaxed);
         blk = next_block++) {
      for (int64_t t = blk * kBlock; t < std::min(n, (blk + 1) * kBlock); ++t) {
        out[t] = expander.closed_walks(t, length, neighbors);
      }
      if (expander.overflow()) overflow = true;
    }
  });
  TORCH_CHECK(!overflow.load(), kOverflowPrefix, " closed walk counts of length ", length,
              " exceed the int64 range (2^63 - 1)");
  return out_t;
}

at::Tensor closed_walk_counts_cpu(const at::Tensor& rowptr, const at::Tensor& col, int64_t length) {
  check_symmetric_csr_args(rowptr, col, "closed_walk_counts");
  TORCH_CHECK_VALUE(length >= 0, "closed_walk_counts: length must be >= 0, got ", length);
  const at::Tensor rowptr_c = rowptr.contiguous(), col_c = col.contiguous();
  check_host_rowptr(rowptr_c.data_ptr<int64_t>(), rowptr_c.numel() - 1, col_c.numel(), "closed_walk_counts");
  if (col_c.scalar_type() == at::kInt) return closed_walk_counts_impl<int32_t>(rowptr_c, col_c, length);
  return closed_walk_counts_impl<int64_t>(rowptr_c, col_c, length);
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) {
  m.impl("closed_walk_counts", &closed_walk_counts_cpu);
}

}  // namespace rankcore::ops
