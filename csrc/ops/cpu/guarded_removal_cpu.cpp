// CPU implementation of rankcore::guarded_removal (schema and contract in ops/guarded_removal.cpp).
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ops/cpu/removal_guards.h"
#include "ops/guarded_removal.h"

namespace rankcore::ops {
namespace {

at::Tensor guarded_removal_cpu(const at::Tensor& edges, int64_t num_nodes, const at::Tensor& order, int64_t num_remove,
                               int64_t min_degree, bool keep_connected) {
  check_guarded_removal_args(edges, num_nodes, order, num_remove, min_degree);
  const at::Tensor edges_c = edges.contiguous(), order_c = order.contiguous();
  const int64_t m = edges_c.size(0), k = order_c.numel();
  const int64_t* e = edges_c.data_ptr<int64_t>();
  const int64_t* ord = order_c.data_ptr<int64_t>();
  std::vector<int32_t> eu(static_cast<size_t>(m)), ev(static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i) {
    const int64_t u = e[2 * i], v = e[2 * i + 1];
    TORCH_CHECK_VALUE(0 <= u && u < v && v < num_nodes, "guarded_removal: edge ", i, " is (", u, ", ", v,
                      "); every edge must be (u, v) with 0 <= u < v < num_nodes = ", num_nodes);
    eu[i] = static_cast<int32_t>(u);
    ev[i] = static_cast<int32_t>(v);
  }
  std::vector<uint8_t> seen(static_cast<size_t>(m), 0);
  std::vector<int32_t> keep_last(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) {
    const int64_t id = ord[i];
    TORCH_CHECK_VALUE(0 <= id && id < m, "guarded_removal: order[", i, "] = ", id, " is not an edge id in [0, ", m,
                      ")");
    TORCH_CHECK_VALUE(!seen[id], "guarded_removal: order[", i, "] = ", id, " repeats an earlier id");
    seen[id] = 1;
    keep_last[k - 1 - i] = static_cast<int32_t>(id);  // the forest prefers the edges the order reaches last
  }
  const int64_t want = std::min(num_remove, k);
  std::vector<int64_t> taken;
  taken.reserve(static_cast<size_t>(want));
  {
    cpu::RemovalGuards guards(num_nodes, eu, ev, min_degree, keep_connected, keep_last);
    for (int64_t i = 0; i < k && static_cast<int64_t>(taken.size()) < want; ++i) {
      if (guards.try_remove(static_cast<int32_t>(ord[i]))) taken.push_back(ord[i]);
    }
  }
  at::Tensor out = at::empty({static_cast<int64_t>(taken.size())}, order.options());
  if (!taken.empty()) std::memcpy(out.data_ptr<int64_t>(), taken.data(), taken.size() * sizeof(int64_t));
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) { m.impl("guarded_removal", &guarded_removal_cpu); }

}  // namespace rankcore::ops
