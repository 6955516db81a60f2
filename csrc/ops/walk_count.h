// rankcore::walk_count: argument checks shared by the CPU and CUDA implementations (the schema is
// in walk_count.cpp).
#pragma once

#include <ATen/core/Tensor.h>

#include "ops/csr_checks.h"

namespace rankcore::ops {

// Validates the arguments of rankcore::walk_count (shapes, dtypes, devices, length); shared by the
// CPU and CUDA implementations. Index *values* are checked by the kernels themselves, in their first
// pass, so that no extra sweep over the CSR is needed.
void check_walk_count_args(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& start, int64_t length);

// Checks the long-row plan of rankcore::walk_count_planned (CUDA only): long_rows a 1-D int64 tensor of
// row ids on rowptr's device, max_chunks >= 0 (and > 0 when there are long rows). The plan itself (which
// rows are longer than the threshold) is trusted: rankcore.ops computes and caches it per rowptr.
void check_walk_count_plan_args(const at::Tensor& rowptr, const at::Tensor& long_rows, int64_t max_chunks);

}  // namespace rankcore::ops
