// rankcore::closed_walk_counts: argument checks shared by the CPU and CUDA implementations (the schema
// is in closed_walk_counts.cpp).
#pragma once

#include <ATen/core/Tensor.h>

#include "ops/csr_checks.h"

namespace rankcore::ops {

// Validates shapes, dtypes, devices and the length; the CSR's values (symmetric, sorted, loop-free)
// are checked by the implementations on their own device, before any work.
void check_closed_walk_counts_args(const at::Tensor& rowptr, const at::Tensor& col, int64_t length);

}  // namespace rankcore::ops
