// rankcore::cp_eval — evaluation of a CP factorization at a batch of multi-indices (docs/definitions.md §3).
//
//   cp_eval(factors, indices) -> out                         out[b] = sum_r prod_n A_n[indices[b, n], r]
//   cp_eval_backward(grad, factors, indices) -> grads        grads[n] = d(sum_b grad[b] out[b]) / dA_n
//
// factors: N tensors [d_n, R] of one floating dtype (float32 or float64) on one device; indices:
// [B, N] int64. The backward is its own op; autograd is attached in Python (rankcore.ops).
#include "ops/cp_eval.h"

#include <torch/library.h>

namespace rankcore::ops {

void check_cp_eval_args(const char* op, at::TensorList factors, const at::Tensor& indices, const at::Tensor* grad) {
  const int64_t n_modes = static_cast<int64_t>(factors.size());
  TORCH_CHECK_VALUE(n_modes >= 1 && n_modes <= kCpMaxOrder, op, ": expected 1 to ", kCpMaxOrder, " factors, got ",
                    n_modes);
  const at::Tensor& first = factors[0];
  TORCH_CHECK_TYPE(first.scalar_type() == at::kFloat || first.scalar_type() == at::kDouble, op,
                   ": factors must be float32 or float64, got ", first.scalar_type());
  TORCH_CHECK_VALUE(first.dim() == 2, op, ": factors[0] must be 2-D [d_0, R], got shape ", first.sizes());
  const int64_t rank = first.size(1);
  TORCH_CHECK_VALUE(rank >= 1 && rank <= kCpMaxRank, op, ": the rank R must be in [1, ", kCpMaxRank, "], got ", rank);
  for (int64_t n = 0; n < n_modes; ++n) {
    const at::Tensor& f = factors[n];
    TORCH_CHECK_TYPE(f.scalar_type() == first.scalar_type(), op, ": all factors must have one dtype; factors[0] is ",
                     first.scalar_type(), " but factors[", n, "] is ", f.scalar_type());
    TORCH_CHECK_VALUE(f.dim() == 2, op, ": factors[", n, "] must be 2-D [d_", n, ", R], got shape ", f.sizes());
    TORCH_CHECK_VALUE(f.size(1) == rank, op, ": all factors must have R = ", rank,
                      " columns (from factors[0]), but factors[", n, "] has shape ", f.sizes());
    TORCH_CHECK_VALUE(f.size(0) >= 1, op, ": factors[", n, "] has no rows (d_", n, " = 0)");
    TORCH_CHECK_VALUE(f.device() == first.device(), op, ": all factors must be on one device; factors[0] is on ",
                      first.device(), " but factors[", n, "] is on ", f.device());
  }
  TORCH_CHECK_TYPE(indices.scalar_type() == at::kLong, op, ": indices must be int64, got ", indices.scalar_type());
  TORCH_CHECK_VALUE(indices.dim() == 2 && indices.size(1) == n_modes, op, ": indices must be [B, N] with N = ", n_modes,
                    " (the number of factors), got shape ", indices.sizes());
  TORCH_CHECK_VALUE(indices.device() == first.device(), op, ": indices are on ", indices.device(),
                    " but the factors are on ", first.device());
  if (grad != nullptr) {
    TORCH_CHECK_TYPE(grad->scalar_type() == first.scalar_type(), op, ": grad must have the factors' dtype ",
                     first.scalar_type(), ", got ", grad->scalar_type());
    TORCH_CHECK_VALUE(grad->dim() == 1 && grad->size(0) == indices.size(0), op,
                      ": grad must be [B] with B = ", indices.size(0), ", got shape ", grad->sizes());
    TORCH_CHECK_VALUE(grad->device() == first.device(), op, ": grad is on ", grad->device(), " but the factors are on ",
                      first.device());
  }
}

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.def("cp_eval(Tensor[] factors, Tensor indices) -> Tensor");
  m.def("cp_eval_backward(Tensor grad, Tensor[] factors, Tensor indices) -> Tensor[]");
}

}  // namespace rankcore::ops
