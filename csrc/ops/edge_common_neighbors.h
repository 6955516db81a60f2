// rankcore::edge_common_neighbors: argument checks shared by the CPU and CUDA implementations (the
// schema is in edge_common_neighbors.cpp).
#pragma once

#include <ATen/core/Tensor.h>

#include "ops/csr_checks.h"

namespace rankcore::ops {

// Validates shapes, dtypes and devices; the CSR's values (symmetric, sorted, loop-free) are checked
// by the implementations on their own device, before any work.
void check_edge_common_neighbors_args(const at::Tensor& rowptr, const at::Tensor& col);

}  // namespace rankcore::ops
