// CPU implementation of rankcore::walk_count.
//
// Pull formulation over the in-neighbour CSR: each output row is written by exactly one thread, so no
// atomics. Rows are split into chunks of equal (edges + rows) work, not equal row counts, because
// power-law graphs put most edges on few rows. The k columns are processed in blocks whose width is
// a compile-time constant (32, 16, ..., 1) so the inner loop over a block is unrolled and vectorised,
// and a block of one vertex (<= 256 bytes) is what each gather touches.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "kernels/walk_count.h"
#include "ops/walk_count.h"

namespace rankcore::ops {
namespace {

// Chunk boundaries (row indices) such that every chunk holds about the same rows + edges.
std::vector<int64_t> balanced_row_chunks(const int64_t* rowptr, int64_t n) {
  const int64_t total = rowptr[n] + n;
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  const int64_t chunks = std::clamp<int64_t>(total / 4096, 1, 16 * threads);
  std::vector<int64_t> bounds(chunks + 1, n);
  bounds[0] = 0;
  for (int64_t c = 1; c < chunks; ++c) {
    const int64_t goal = total * c / chunks;
    // first row j with rowptr[j] + j >= goal (rowptr[j] + j is strictly increasing)
    int64_t lo = 0, hi = n;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (rowptr[mid] + mid < goal) lo = mid + 1; else hi = mid;
    }
    bounds[c] = std::max(lo, bounds[c - 1]);
  }
  return bounds;
}

struct StepErrors {
  std::atomic<bool> overflow{false};
  std::atomic<int64_t> bad_col{-1};  // position in col of an out-of-range index
};

// One step for the column block [offset, offset + W) of a [n, k] matrix.
template <typename Policy, typename index_t, int W>
void step_block(const int64_t* rowptr, const index_t* col, const typename Policy::value_t* x,
                typename Policy::value_t* y, int64_t n, int64_t k, int64_t offset, bool check_cols,
                const std::vector<int64_t>& bounds, StepErrors& errors) {
  using acc_t = typename Policy::acc_t;
  at::parallel_for(0, static_cast<int64_t>(bounds.size()) - 1, 1, [&](int64_t c0, int64_t c1) {
    bool overflow = false;
    for (int64_t chunk = c0; chunk < c1; ++chunk) {
      for (int64_t j = bounds[chunk]; j < bounds[chunk + 1]; ++j) {
        acc_t acc[W];
        const auto* xj = x + j * k + offset;
        for (int w = 0; w < W; ++w) acc[w] = Policy::load(xj[w]);
        const int64_t e1 = rowptr[j + 1];
        for (int64_t e = rowptr[j]; e < e1; ++e) {
          const int64_t i = static_cast<int64_t>(col[e]);
          if (check_cols && (i < 0 || i >= n)) {
            int64_t none = -1;
            errors.bad_col.compare_exchange_strong(none, e);
            continue;
          }
          const auto* xi = x + i * k + offset;
          for (int w = 0; w < W; ++w) acc[w] = Policy::add(acc[w], Policy::load(xi[w]));
        }
        auto* yj = y + j * k + offset;
        for (int w = 0; w < W; ++w) {
          overflow |= Policy::overflowed(acc[w]);
          yj[w] = Policy::store(acc[w]);
        }
      }
    }
    if (overflow) errors.overflow.store(true, std::memory_order_relaxed);
  });
}

template <typename Policy, typename index_t>
void step(const int64_t* rowptr, const index_t* col, const typename Policy::value_t* x,
          typename Policy::value_t* y, int64_t n, int64_t k, bool check_cols,
          const std::vector<int64_t>& bounds, StepErrors& errors) {
  // Split k into compile-time widths: as many 32-wide blocks as fit, then 16, 8, 4, 2, 1.
  int64_t offset = 0;
  auto run = [&]<int W>() {
    step_block<Policy, index_t, W>(rowptr, col, x, y, n, k, offset, check_cols, bounds, errors);
    offset += W;
  };
  while (k - offset >= 32) run.template operator()<32>();
  if (k - offset >= 16) run.template operator()<16>();
  if (k - offset >= 8) run.template operator()<8>();
  if (k - offset >= 4) run.template operator()<4>();
  if (k - offset >= 2) run.template operator()<2>();
  if (k - offset >= 1) run.template operator()<1>();
}

template <typename value_t, typename index_t>
at::Tensor walk_count_impl(const at::Tensor& rowptr_t, const at::Tensor& col_t, const at::Tensor& start,
                           int64_t length) {
  using Policy = typename kernels::CountPolicy<value_t>::type;
  const int64_t n = start.size(0), k = start.size(1);
  const int64_t* rowptr = rowptr_t.data_ptr<int64_t>();
  const index_t* col = col_t.data_ptr<index_t>();

  TORCH_CHECK_VALUE(rowptr[0] == 0 && rowptr[n] == col_t.numel(),
                    "walk_count: rowptr must start at 0 and end at col.numel() = ", col_t.numel(),
                    ", got rowptr[0] = ", rowptr[0], " and rowptr[-1] = ", rowptr[n]);
  for (int64_t j = 0; j < n; ++j) {
    TORCH_CHECK_VALUE(rowptr[j] <= rowptr[j + 1], "walk_count: rowptr must be non-decreasing, but rowptr[",
                      j, "] = ", rowptr[j], " > rowptr[", j + 1, "] = ", rowptr[j + 1]);
  }
  if constexpr (std::is_same_v<value_t, int64_t>) {
    // The saturating exact add assumes non-negative counts.
    const value_t* s = start.data_ptr<value_t>();
    bool negative = false;
    for (int64_t i = 0; i < n * k; ++i) negative |= s[i] < 0;
    TORCH_CHECK_VALUE(!negative, "walk_count: int64 start counts must be non-negative");
  }

  if (length == 0 || n == 0 || k == 0) return start.clone();

  const auto bounds = balanced_row_chunks(rowptr, n);
  at::Tensor a = at::empty({n, k}, start.options());
  at::Tensor b = length > 1 ? at::empty({n, k}, start.options()) : at::Tensor();
  const value_t* x = start.data_ptr<value_t>();
  for (int64_t s = 1; s <= length; ++s) {
    at::Tensor& out = (s % 2 == 1) ? a : b;
    StepErrors errors;
    step<Policy, index_t>(rowptr, col, x, out.data_ptr<value_t>(), n, k, /*check_cols=*/s == 1, bounds,
                          errors);
    const int64_t bad = errors.bad_col.load();
    TORCH_CHECK_INDEX(bad < 0, "walk_count: col[", bad, "] = ", static_cast<int64_t>(col[bad]),
                      " is out of range for ", n, " vertices");
    TORCH_CHECK(!errors.overflow.load(), kOverflowPrefix, " walk counts of length ", s,
                " exceed the int64 range (2^63 - 1); use dtype=torch.float64 for approximate counts");
    x = out.data_ptr<value_t>();
  }
  return (length % 2 == 1) ? a : b;
}

at::Tensor walk_count_cpu(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& start,
                          int64_t length) {
  check_walk_count_args(rowptr, col, start, length);
  TORCH_CHECK_VALUE(start.device().is_cpu(), "walk_count (CPU): tensors must be on the CPU");
  const at::Tensor rowptr_c = rowptr.contiguous(), col_c = col.contiguous(), start_c = start.contiguous();
  at::Tensor out;
  AT_DISPATCH_INDEX_TYPES(col_c.scalar_type(), "walk_count_cpu", [&] {
    if (start_c.scalar_type() == at::kLong) {
      out = walk_count_impl<int64_t, index_t>(rowptr_c, col_c, start_c, length);
    } else {
      out = walk_count_impl<double, index_t>(rowptr_c, col_c, start_c, length);
    }
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) {
  m.impl("walk_count", &walk_count_cpu);
}

}  // namespace rankcore::ops
