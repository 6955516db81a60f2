// rankcore::guarded_removal — a fixed removal order walked under the guards (docs/definitions.md §2, "Guards").
//
//   guarded_removal(edges, num_nodes, order, num_remove, min_degree, keep_connected) -> ids [N] int64
//
// edges [M, 2] int64: the undirected edges (u, v), 0 <= u < v < num_nodes, of a simple graph (the canonical
// list of rankcore::undirected_edges); order: distinct edge ids (rows of `edges`), best candidate first (a
// method's removal order, usually all M). Walks `order` and removes each edge the guards allow at that moment
// (min_degree = k: no vertex goes below min(k, its initial degree); keep_connected: no connected component is
// split), skipping the others, until num_remove edges are removed or the order ends. Returns the removed ids
// in removal order: N = num_remove, or fewer when the guards forbid the rest (the caller says so). With
// min_degree = 0 and keep_connected = false it is order[:num_remove]. CPU only; cpu/removal_guards.h.
#include "ops/guarded_removal.h"

#include <torch/library.h>

#include <cstdint>

namespace rankcore::ops {

void check_guarded_removal_args(const at::Tensor& edges, int64_t num_nodes, const at::Tensor& order, int64_t num_remove,
                                int64_t min_degree) {
  TORCH_CHECK_VALUE(edges.device().is_cpu() && order.device().is_cpu(),
                    "guarded_removal: edges and order must be CPU tensors, got ", edges.device(), " and ",
                    order.device());
  TORCH_CHECK_VALUE(edges.scalar_type() == at::kLong && edges.dim() == 2 && edges.size(1) == 2,
                    "guarded_removal: edges must be an int64 tensor of shape [M, 2], got ", edges.scalar_type(),
                    " of shape ", edges.sizes());
  TORCH_CHECK_VALUE(order.scalar_type() == at::kLong && order.dim() == 1,
                    "guarded_removal: order must be a 1-D int64 tensor, got ", order.scalar_type(), " of shape ",
                    order.sizes());
  TORCH_CHECK_VALUE(num_nodes >= 0 && num_nodes <= INT32_MAX,
                    "guarded_removal: num_nodes must be in [0, 2^31 - 1], got ", num_nodes);
  TORCH_CHECK_VALUE(edges.size(0) <= INT32_MAX,
                    "guarded_removal: graphs with more than 2^31 - 1 edges are not supported");
  TORCH_CHECK_VALUE(order.numel() <= edges.size(0), "guarded_removal: order has ", order.numel(),
                    " ids but there are only ", edges.size(0), " edges");
  TORCH_CHECK_VALUE(num_remove >= 0, "guarded_removal: num_remove must be >= 0, got ", num_remove);
  TORCH_CHECK_VALUE(min_degree >= 0, "guarded_removal: min_degree must be >= 0, got ", min_degree);
}

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.def(
      "guarded_removal(Tensor edges, int num_nodes, Tensor order, int num_remove, int min_degree, "
      "bool keep_connected) -> Tensor");
}

}  // namespace rankcore::ops
