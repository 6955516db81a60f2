// rankcore::ht_leaf_pool / ht_pool — product pooling of a hierarchical tensor factorization
// (docs/definitions.md §3). Activations are node-major [K, B, R] so that the per-node linear maps are one
// batched GEMM (bmm) per level, with no permutation copies.
//
//   ht_leaf_pool(leaves, indices, modes, offsets) -> h          [J, B, R]
//       h[j, b, :] = prod_{k in [offsets[j], offsets[j+1])} leaves[modes[k]][indices[b, modes[k]], :]
//   ht_leaf_pool_backward(grad, leaves, indices, modes, offsets) -> grads (one [d_n, R] per leaf)
//   ht_pool(a, offsets) -> h                                    a [K, B, R] -> h [J, B, R]
//       h[j] = prod_{k in [offsets[j], offsets[j+1])} a[k]      (children of a node are contiguous)
//   ht_pool_backward(grad, a, offsets) -> grad_a                [K, B, R]
//
// `modes` lists every leaf exactly once (the leaves in tree order); `offsets` is the CSR of the
// groups: offsets[0] = 0, strictly increasing (no empty node), offsets[-1] = number of children.
#include "ops/ht_pool.h"

#include <torch/library.h>

#include <vector>

namespace rankcore::ops {
namespace {

void check_offsets(const char* op, at::IntArrayRef offsets, int64_t children, const char* what) {
  TORCH_CHECK_VALUE(offsets.size() >= 2, op, ": offsets must have at least 2 entries (one group), got ",
                    offsets.size());
  TORCH_CHECK_VALUE(offsets[0] == 0, op, ": offsets[0] must be 0, got ", offsets[0]);
  for (size_t j = 0; j + 1 < offsets.size(); ++j) {
    const int64_t size = offsets[j + 1] - offsets[j];
    TORCH_CHECK_VALUE(size >= 1, op, ": offsets must be strictly increasing (every node needs a child), but offsets[",
                      j, "] = ", offsets[j], " and offsets[", j + 1, "] = ", offsets[j + 1]);
    TORCH_CHECK_VALUE(size <= kHtMaxGroup, op, ": node ", j, " has ", size, " children; at most ", kHtMaxGroup,
                      " are supported");
  }
  TORCH_CHECK_VALUE(offsets.back() == children, op, ": offsets[-1] must equal the number of ", what, " (", children,
                    "), got ", offsets.back());
}

}  // namespace

void check_ht_leaf_pool_args(const char* op, at::TensorList leaves, const at::Tensor& indices, at::IntArrayRef modes,
                             at::IntArrayRef offsets, const at::Tensor* grad) {
  const int64_t n_modes = static_cast<int64_t>(leaves.size());
  TORCH_CHECK_VALUE(n_modes >= 1 && n_modes <= kHtMaxOrder, op, ": expected 1 to ", kHtMaxOrder, " leaf factors, got ",
                    n_modes);
  const at::Tensor& first = leaves[0];
  TORCH_CHECK_TYPE(first.scalar_type() == at::kFloat || first.scalar_type() == at::kDouble, op,
                   ": leaves must be float32 or float64, got ", first.scalar_type());
  TORCH_CHECK_VALUE(first.dim() == 2 && first.size(1) >= 1, op,
                    ": leaves[0] must be 2-D [d_0, R] with R >= 1, got shape ", first.sizes());
  const int64_t R = first.size(1);
  for (int64_t n = 0; n < n_modes; ++n) {
    const at::Tensor& f = leaves[n];
    TORCH_CHECK_TYPE(f.scalar_type() == first.scalar_type(), op, ": all leaves must have one dtype; leaves[0] is ",
                     first.scalar_type(), " but leaves[", n, "] is ", f.scalar_type());
    TORCH_CHECK_VALUE(f.dim() == 2 && f.size(1) == R && f.size(0) >= 1, op, ": leaves[", n,
                      "] must be [d, R] with d >= 1 and R = ", R, " (from leaves[0]), got shape ", f.sizes());
    TORCH_CHECK_VALUE(f.device() == first.device(), op, ": all leaves must be on one device; leaves[0] is on ",
                      first.device(), " but leaves[", n, "] is on ", f.device());
  }
  TORCH_CHECK_TYPE(indices.scalar_type() == at::kLong, op, ": indices must be int64, got ", indices.scalar_type());
  TORCH_CHECK_VALUE(indices.dim() == 2 && indices.size(1) == n_modes, op, ": indices must be [B, N] with N = ", n_modes,
                    " (the number of leaves), got shape ", indices.sizes());
  TORCH_CHECK_VALUE(indices.device() == first.device(), op, ": indices are on ", indices.device(),
                    " but the leaves are on ", first.device());
  TORCH_CHECK_VALUE(static_cast<int64_t>(modes.size()) == n_modes, op, ": modes must list every leaf exactly once (",
                    n_modes, " entries), got ", modes.size());
  std::vector<bool> seen(n_modes, false);
  for (size_t k = 0; k < modes.size(); ++k) {
    const int64_t m = modes[k];
    TORCH_CHECK_VALUE(m >= 0 && m < n_modes, op, ": modes[", k, "] = ", m, " is not a leaf in [0, ", n_modes, ")");
    TORCH_CHECK_VALUE(!seen[m], op, ": leaf ", m, " appears twice in modes");
    seen[m] = true;
  }
  check_offsets(op, offsets, n_modes, "leaves");
  if (grad != nullptr) {
    const int64_t J = static_cast<int64_t>(offsets.size()) - 1;
    TORCH_CHECK_TYPE(grad->scalar_type() == first.scalar_type(), op, ": grad must have the leaves' dtype ",
                     first.scalar_type(), ", got ", grad->scalar_type());
    TORCH_CHECK_VALUE(grad->dim() == 3 && grad->size(0) == J && grad->size(1) == indices.size(0) && grad->size(2) == R,
                      op, ": grad must be [J, B, R] = [", J, ", ", indices.size(0), ", ", R, "], got shape ",
                      grad->sizes());
    TORCH_CHECK_VALUE(grad->device() == first.device(), op, ": grad is on ", grad->device(), " but the leaves are on ",
                      first.device());
  }
}

void check_ht_pool_args(const char* op, const at::Tensor& a, at::IntArrayRef offsets, const at::Tensor* grad) {
  TORCH_CHECK_TYPE(a.scalar_type() == at::kFloat || a.scalar_type() == at::kDouble, op,
                   ": a must be float32 or float64, got ", a.scalar_type());
  TORCH_CHECK_VALUE(a.dim() == 3, op, ": a must be 3-D [K, B, R] (children x batch x width), got shape ", a.sizes());
  check_offsets(op, offsets, a.size(0), "children (a.size(0))");
  if (grad != nullptr) {
    const int64_t J = static_cast<int64_t>(offsets.size()) - 1;
    TORCH_CHECK_TYPE(grad->scalar_type() == a.scalar_type(), op, ": grad must have a's dtype ", a.scalar_type(),
                     ", got ", grad->scalar_type());
    TORCH_CHECK_VALUE(
        grad->dim() == 3 && grad->size(0) == J && grad->size(1) == a.size(1) && grad->size(2) == a.size(2), op,
        ": grad must be [J, B, R] = [", J, ", ", a.size(1), ", ", a.size(2), "], got shape ", grad->sizes());
    TORCH_CHECK_VALUE(grad->device() == a.device(), op, ": grad is on ", grad->device(), " but a is on ", a.device());
  }
}

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.def("ht_leaf_pool(Tensor[] leaves, Tensor indices, int[] modes, int[] offsets) -> Tensor");
  m.def("ht_leaf_pool_backward(Tensor grad, Tensor[] leaves, Tensor indices, int[] modes, int[] offsets) -> Tensor[]");
  m.def("ht_pool(Tensor a, int[] offsets) -> Tensor");
  m.def("ht_pool_backward(Tensor grad, Tensor a, int[] offsets) -> Tensor");
}

}  // namespace rankcore::ops
