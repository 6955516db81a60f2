// The checks of a CSR (rowptr, col), shared by every graph op (walk_count, edge_common_neighbors,
// closed_walk_counts, wis_greedy): one function per level, each taking the op name last for the
// message prefix.
//   check_csr_tensors            shapes, dtypes, devices (the op's check_<op>_args calls it first)
//   check_host_rowptr            rowptr runs from 0 to nnz without decreasing (host data)
//   check_host_simple_symmetric  the symmetric CSR of a simple undirected graph (host data)
// The CUDA bindings run the value checks on the device (ops/cuda/csr_checks_cuda.h, or walk_count's
// own first pass) and fall back to these functions for the exact message. Dispatch over the col
// dtype is AT_DISPATCH_INDEX_TYPES (index_t = int32_t or int64_t) everywhere.
#pragma once

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace rankcore::ops {

// Message prefix of an int64 overflow in any graph op; the Python layer maps it to OverflowError.
inline constexpr const char* kOverflowPrefix = "rankcore overflow:";

// rowptr: 1-D int64 with num_nodes + 1 >= 1 entries; col: 1-D int32 or int64 on rowptr's device, int64
// when there are more than 2^31 - 1 vertices. The values are left to the checks below (or the kernels).
inline void check_csr_tensors(const at::Tensor& rowptr, const at::Tensor& col, const char* op) {
  TORCH_CHECK_VALUE(rowptr.dim() == 1 && rowptr.numel() >= 1, op,
                    ": rowptr must be 1-D with num_nodes + 1 entries, got shape ", rowptr.sizes());
  TORCH_CHECK_TYPE(rowptr.scalar_type() == at::kLong, op, ": rowptr must be int64, got ", rowptr.scalar_type());
  TORCH_CHECK_VALUE(col.dim() == 1, op, ": col must be 1-D, got shape ", col.sizes());
  TORCH_CHECK_TYPE(col.scalar_type() == at::kLong || col.scalar_type() == at::kInt, op,
                   ": col must be int32 or int64, got ", col.scalar_type());
  TORCH_CHECK_VALUE(rowptr.device() == col.device(), op, ": rowptr and col must be on one device, got ",
                    rowptr.device(), " and ", col.device());
  TORCH_CHECK_VALUE(rowptr.numel() - 1 <= INT32_MAX || col.scalar_type() == at::kLong, op,
                    ": more than 2^31 - 1 vertices need int64 col");
}

// rowptr must run from 0 to nnz without decreasing; `op` prefixes the message.
inline void check_host_rowptr(const int64_t* rowptr, int64_t n, int64_t nnz, const char* op) {
  TORCH_CHECK_VALUE(rowptr[0] == 0 && rowptr[n] == nnz, op, ": rowptr must start at 0 and end at col.numel() = ", nnz,
                    ", got rowptr[0] = ", rowptr[0], " and rowptr[-1] = ", rowptr[n]);
  for (int64_t j = 0; j < n; ++j) {
    TORCH_CHECK_VALUE(rowptr[j] <= rowptr[j + 1], op, ": rowptr must be non-decreasing, but rowptr[", j,
                      "] = ", rowptr[j], " > rowptr[", j + 1, "] = ", rowptr[j + 1]);
  }
}

// The symmetric CSR of a simple undirected graph, as rankcore.Graph stores it: every col entry in
// [0, n), rows strictly increasing (sorted, no duplicates), no self-loops, and every entry v of row u
// matched by an entry u of row v. Runs in parallel, O(nnz log(max degree)); rowptr must already have
// passed check_host_rowptr. Reports the first offending position of each kind.
template <typename index_t>
void check_host_simple_symmetric(const int64_t* rowptr, const index_t* col, int64_t n, const char* op) {
  const int64_t nnz = rowptr[n];
  std::atomic<int64_t> bad_range{nnz}, bad_order{nnz}, bad_loop{nnz}, bad_mirror{nnz};
  auto record = [](std::atomic<int64_t>& slot, int64_t e) {
    int64_t cur = slot.load(std::memory_order_relaxed);
    while (e < cur && !slot.compare_exchange_weak(cur, e)) {
    }
  };
  // Mirrors: searching only the entries v > u suffices when the rows hold as many entries below as
  // above the diagonal (u -> v is then a bijection from the upper entries onto the lower ones), which
  // halves the binary searches on valid input; any mismatch reruns the search over every entry so that
  // the first offending position is reported.
  std::atomic<int64_t> upper_minus_lower{0};
  auto scan = [&](bool every_entry) {
    at::parallel_for(0, n, 1024, [&](int64_t begin, int64_t end) {
      int64_t balance = 0;
      for (int64_t u = begin; u < end; ++u) {
        for (int64_t e = rowptr[u]; e < rowptr[u + 1]; ++e) {
          const int64_t v = static_cast<int64_t>(col[e]);
          if (v < 0 || v >= n) {
            record(bad_range, e);
            continue;
          }
          if (v == u) record(bad_loop, e);
          if (e > rowptr[u] && static_cast<int64_t>(col[e - 1]) >= v) record(bad_order, e);
          balance += v > u ? 1 : (v < u ? -1 : 0);
          if (!every_entry && v < u) continue;
          const index_t* row_v = col + rowptr[v];
          const index_t* row_v_end = col + rowptr[v + 1];
          const index_t* it = std::lower_bound(row_v, row_v_end, static_cast<index_t>(u));
          if (it == row_v_end || static_cast<int64_t>(*it) != u) record(bad_mirror, e);
        }
      }
      upper_minus_lower.fetch_add(balance, std::memory_order_relaxed);
    });
  };
  scan(false);
  if (bad_mirror.load() != nnz || upper_minus_lower.load() != 0) scan(true);
  auto row_of = [&](int64_t e) { return std::upper_bound(rowptr, rowptr + n + 1, e) - rowptr - 1; };
  int64_t e = bad_range.load();
  TORCH_CHECK_INDEX(e == nnz, op, ": col[", e, "] = ", e < nnz ? static_cast<int64_t>(col[e]) : 0,
                    " is out of range for ", n, " vertices");
  e = bad_loop.load();
  TORCH_CHECK_VALUE(e == nnz, op, ": the CSR must not contain self-loops, found one at vertex ", row_of(e));
  e = bad_order.load();
  TORCH_CHECK_VALUE(e == nnz, op, ": each CSR row must be sorted without duplicates, but row ", row_of(e), " has ",
                    static_cast<int64_t>(col[e - 1]), " before ", static_cast<int64_t>(col[e]));
  e = bad_mirror.load();
  TORCH_CHECK_VALUE(e == nnz, op, ": the CSR must be symmetric (an undirected graph), but the edge ", row_of(e), " - ",
                    static_cast<int64_t>(col[e]), " has no reverse entry");
}

}  // namespace rankcore::ops
