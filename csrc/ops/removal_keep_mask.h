// rankcore::removal_keep_mask: argument checks (the schema is in removal_keep_mask.cpp). CPU only.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>

namespace rankcore::ops {

// upper / mirror: int64 [M] CSR slots of the canonical edges (rankcore::undirected_edges); ids: int64 [N] edge ids;
// nnz >= 0 the CSR's entries; slot: optional int64 [C] column -> CSR slot map (-1: a self-loop column). All on the CPU.
void check_removal_keep_mask_args(const at::Tensor& upper, const at::Tensor& mirror, const at::Tensor& ids, int64_t nnz,
                                  const std::optional<at::Tensor>& slot);

}  // namespace rankcore::ops
