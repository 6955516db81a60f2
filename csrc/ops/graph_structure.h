// Shared argument checks for the ops on the symmetric CSR of a simple undirected graph
// (edge_common_neighbors, closed_walk_counts).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <cstdint>

namespace rankcore::ops {

inline void check_symmetric_csr_args(const at::Tensor& rowptr, const at::Tensor& col, const char* op) {
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

}  // namespace rankcore::ops
