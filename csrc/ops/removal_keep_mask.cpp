// rankcore::removal_keep_mask — which columns stay when a removal given as edge ids is mapped onto a graph's input.
//
//   removal_keep_mask(upper, mirror, ids, nnz, slot) -> keep
//
// upper / mirror [M] int64 are the CSR slots of the canonical edges' two entries (rankcore::undirected_edges), ids
// [N] int64 the removed edges' ids (rows of that edge list), nnz the CSR's number of entries. The removed slots are
// upper[ids] and mirror[ids]. With slot None, keep [nnz] bool is False exactly at the removed slots; with slot [C]
// int64 (each input column's CSR slot, -1 for a self-loop column: rankcore::build_csr), keep [C] bool is False
// exactly at the columns whose slot was removed (every duplicate column of a removed edge; self-loop columns stay).
// One fused pass instead of torch's scatter, where and gather over the columns (python/rankcore/graph/result.py).
// Out-of-range ids or slots are IndexErrors. CPU only.

#include "ops/removal_keep_mask.h"

#include <torch/library.h>

namespace rankcore::ops {

namespace {
void check_int64_vector(const at::Tensor& t, const char* name) {
  TORCH_CHECK_TYPE(t.scalar_type() == at::kLong, "removal_keep_mask: ", name, " must be int64, got ", t.scalar_type());
  TORCH_CHECK_VALUE(t.dim() == 1, "removal_keep_mask: ", name, " must be 1-D, got ", t.dim(), " dimensions");
  TORCH_CHECK_VALUE(t.device().is_cpu(), "removal_keep_mask: ", name, " must be on the CPU, got ", t.device());
}
}  // namespace

void check_removal_keep_mask_args(const at::Tensor& upper, const at::Tensor& mirror, const at::Tensor& ids, int64_t nnz,
                                  const std::optional<at::Tensor>& slot) {
  check_int64_vector(upper, "upper");
  check_int64_vector(mirror, "mirror");
  check_int64_vector(ids, "ids");
  TORCH_CHECK_VALUE(upper.numel() == mirror.numel(),
                    "removal_keep_mask: upper and mirror must have the same length, got ", upper.numel(), " and ",
                    mirror.numel());
  TORCH_CHECK_VALUE(nnz >= 0, "removal_keep_mask: nnz must be >= 0, got ", nnz);
  if (slot.has_value()) check_int64_vector(*slot, "slot");
}

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.def("removal_keep_mask(Tensor upper, Tensor mirror, Tensor ids, int nnz, Tensor? slot) -> Tensor");
}

}  // namespace rankcore::ops
