// CPU implementation of rankcore::undirected_edges (schema and contract in ops/undirected_edges.cpp).
//
// Rows are sorted and hold no self-loop, so the entries above the diagonal (col > row) are each row's tail:
// listed row by row they are the edges (u, v), u < v, in (u, v) order. The mirror of (u, v) is the entry u
// of row v, which lies in row v's head (col < row). Walking the edges in (u, v) order visits the heads of
// every row v in increasing u, i.e. in their stored order, so one cursor per row finds every mirror: O(nnz).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <tuple>
#include <vector>

#include "ops/csr_checks.h"
#include "ops/undirected_edges.h"

namespace rankcore::ops {
namespace {

// The error for entry k of row u (a ValueError; the caller passed a CSR rankcore.Graph would not build).
[[noreturn]] void not_simple_symmetric(int64_t u, int64_t k, const char* what) {
  TORCH_CHECK_VALUE(false,
                    "undirected_edges: the CSR must be the symmetric CSR of a simple undirected graph "
                    "(rows sorted, no duplicates, no self-loops, every entry mirrored), but entry ",
                    k, " of row ", u, " ", what);
}

template <typename index_t>
std::tuple<at::Tensor, at::Tensor, at::Tensor> undirected_edges_impl(const at::Tensor& rowptr_t,
                                                                     const at::Tensor& col_t) {
  const int64_t n = rowptr_t.numel() - 1;
  const int64_t* rowptr = rowptr_t.data_ptr<int64_t>();
  const index_t* col = col_t.data_ptr<index_t>();
  check_host_rowptr(rowptr, n, col_t.numel(), "undirected_edges");

  // split[u]: the first entry of row u above the diagonal; offset[u]: the id of row u's first edge. The
  // scan also checks what the cursor argument below relies on: entries in range and strictly increasing,
  // none on the diagonal.
  std::vector<int64_t> split(static_cast<size_t>(n)), offset(static_cast<size_t>(n) + 1, 0);
  std::atomic<int64_t> bad_row{n};
  at::parallel_for(0, n, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      int64_t prev = -1;
      split[u] = rowptr[u + 1];
      for (int64_t p = rowptr[u]; p < rowptr[u + 1]; ++p) {
        const int64_t v = static_cast<int64_t>(col[p]);
        if (v <= prev || v >= n || v == u) {
          int64_t cur = bad_row.load();
          while (u < cur && !bad_row.compare_exchange_weak(cur, u)) {
          }
          break;
        }
        if (v > u && split[u] == rowptr[u + 1]) split[u] = p;
        prev = v;
      }
    }
  });
  if (const int64_t u = bad_row.load(); u < n) {
    for (int64_t p = rowptr[u], prev = -1; p < rowptr[u + 1]; prev = static_cast<int64_t>(col[p]), ++p) {
      const int64_t v = static_cast<int64_t>(col[p]);
      if (v < 0 || v >= n) not_simple_symmetric(u, p - rowptr[u], "is outside [0, num_nodes)");
      if (v == u) not_simple_symmetric(u, p - rowptr[u], "is a self-loop");
      if (v <= prev)
        not_simple_symmetric(u, p - rowptr[u], "is not above the previous entry (unsorted or a duplicate)");
    }
  }
  for (int64_t u = 0; u < n; ++u) offset[u + 1] = offset[u] + (rowptr[u + 1] - split[u]);
  const int64_t m = offset[n];
  const auto opts = rowptr_t.options().dtype(at::kLong);
  at::Tensor edges = at::empty({m, 2}, opts), upper = at::empty({m}, opts), mirror = at::empty({m}, opts);
  int64_t* e = edges.data_ptr<int64_t>();
  int64_t* up = upper.data_ptr<int64_t>();
  int64_t* mi = mirror.data_ptr<int64_t>();
  at::parallel_for(0, n, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      for (int64_t p = split[u], id = offset[u]; p < rowptr[u + 1]; ++p, ++id) {
        e[2 * id] = u;
        e[2 * id + 1] = static_cast<int64_t>(col[p]);
        up[id] = p;
      }
    }
  });
  // Mirrors, and the symmetry check: every upper entry meets its mirror as the next unmatched head entry of
  // its row, and every head entry is met.
  std::vector<int64_t> cursor(rowptr, rowptr + n);
  for (int64_t id = 0; id < m; ++id) {
    const int64_t u = e[2 * id], v = e[2 * id + 1];
    const int64_t p = cursor[v]++;
    if (p >= split[v] || static_cast<int64_t>(col[p]) != u) {
      not_simple_symmetric(u, up[id] - rowptr[u], "has no mirror entry in the row it names");
    }
    mi[id] = p;
  }
  for (int64_t v = 0; v < n; ++v) {
    if (cursor[v] != split[v])
      not_simple_symmetric(v, cursor[v] - rowptr[v], "has no mirror entry in the row it names");
  }
  return {edges, upper, mirror};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> undirected_edges_cpu(const at::Tensor& rowptr, const at::Tensor& col) {
  check_undirected_edges_args(rowptr, col);
  const at::Tensor rowptr_c = rowptr.contiguous(), col_c = col.contiguous();
  return AT_DISPATCH_INDEX_TYPES(col_c.scalar_type(), "undirected_edges",
                                 [&] { return undirected_edges_impl<index_t>(rowptr_c, col_c); });
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) { m.impl("undirected_edges", &undirected_edges_cpu); }

}  // namespace rankcore::ops
