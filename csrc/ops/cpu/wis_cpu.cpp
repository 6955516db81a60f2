// CPU implementation of rankcore::wis_degree_greedy (exact 1-WIS).
//
// A lazy max-heap of (min degree, max degree, -edge id). Degrees only decrease, so a popped entry
// whose stored key still equals the edge's current key is the true maximum (every other entry's
// current key is at most its stored key, which is at most the top's); a stale one is pushed back
// with its current key. Edge ids follow the lexicographic (u, v) order, so "smallest id" is the tie
// rule of DESIGN section 2. O((m + stale pops) log m), no dense matrix.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <cstdint>
#include <queue>
#include <vector>

#include "ops/csr_checks.h"

namespace rankcore::ops {
namespace {

struct Entry {
  int64_t low, high, id;  // stored key: (min deg, max deg), then the edge id
  bool operator<(const Entry& o) const {  // "less urgent than": max-heap on (low, high), then min id
    if (low != o.low) return low < o.low;
    if (high != o.high) return high < o.high;
    return id > o.id;
  }
};

template <typename index_t>
at::Tensor wis_degree_greedy_impl(const at::Tensor& rowptr_t, const at::Tensor& col_t, int64_t num_remove) {
  const int64_t n = rowptr_t.numel() - 1;
  const int64_t* rowptr = rowptr_t.data_ptr<int64_t>();
  const index_t* col = col_t.data_ptr<index_t>();

  std::vector<int64_t> deg(n), eu, ev;
  for (int64_t u = 0; u < n; ++u) {
    deg[u] = rowptr[u + 1] - rowptr[u];
    for (int64_t e = rowptr[u]; e < rowptr[u + 1]; ++e) {
      const int64_t v = static_cast<int64_t>(col[e]);
      TORCH_CHECK_INDEX(v >= 0 && v < n, "wis: col[", e, "] = ", v, " is out of range for ", n, " vertices");
      TORCH_CHECK_VALUE(v != u, "wis: the CSR must not contain self-loops (vertex ", u, ")");
      if (v > u) {  // rows ascending, columns ascending within a row: ids in (u, v) order
        eu.push_back(u);
        ev.push_back(v);
      }
    }
  }
  const int64_t m = static_cast<int64_t>(eu.size());
  TORCH_CHECK_VALUE(2 * m == rowptr[n], "wis: the CSR must be symmetric (", rowptr[n],
                    " entries but ", m, " with u < v)");
  TORCH_CHECK_VALUE(num_remove >= 0 && num_remove <= m, "wis: num_remove must be in [0, ", m,
                    "] (the number of undirected edges), got ", num_remove);

  auto key = [&](int64_t id) {
    const int64_t a = deg[eu[id]], b = deg[ev[id]];
    return Entry{std::min(a, b), std::max(a, b), id};
  };
  std::vector<Entry> initial(m);
  for (int64_t id = 0; id < m; ++id) initial[id] = key(id);
  std::priority_queue<Entry> heap(std::less<Entry>(), std::move(initial));

  at::Tensor removed = at::empty({num_remove, 2}, rowptr_t.options().dtype(at::kLong));
  int64_t* out = removed.data_ptr<int64_t>();
  for (int64_t step = 0; step < num_remove; ++step) {
    while (true) {
      const Entry top = heap.top();
      heap.pop();
      const Entry now = key(top.id);
      if (now.low == top.low && now.high == top.high) {
        --deg[eu[top.id]];
        --deg[ev[top.id]];
        out[2 * step] = eu[top.id];
        out[2 * step + 1] = ev[top.id];
        break;
      }
      heap.push(now);  // stale: degrees dropped since it was pushed
    }
  }
  return removed;
}

at::Tensor wis_degree_greedy_cpu(const at::Tensor& rowptr, const at::Tensor& col, int64_t num_remove) {
  TORCH_CHECK_TYPE(rowptr.scalar_type() == at::kLong && rowptr.dim() == 1 && rowptr.numel() >= 1,
                   "wis: rowptr must be a 1-D int64 tensor with num_nodes + 1 entries");
  TORCH_CHECK_TYPE(col.dim() == 1 && (col.scalar_type() == at::kInt || col.scalar_type() == at::kLong),
                   "wis: col must be a 1-D int32 or int64 tensor");
  const at::Tensor rowptr_c = rowptr.contiguous(), col_c = col.contiguous();
  const int64_t n = rowptr_c.numel() - 1;
  check_host_rowptr(rowptr_c.data_ptr<int64_t>(), n, col_c.numel(), "wis");
  if (col_c.scalar_type() == at::kInt) return wis_degree_greedy_impl<int32_t>(rowptr_c, col_c, num_remove);
  return wis_degree_greedy_impl<int64_t>(rowptr_c, col_c, num_remove);
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) {
  m.impl("wis_degree_greedy", &wis_degree_greedy_cpu);
}

}  // namespace rankcore::ops
