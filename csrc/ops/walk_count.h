#pragma once

#include <ATen/core/Tensor.h>

namespace rankcore::ops {

// Validates the arguments of rankcore::walk_count (shapes, dtypes, devices, length); shared by the
// CPU and CUDA implementations. Index *values* are checked by the kernels themselves, in their first
// pass, so that no extra sweep over the CSR is needed.
void check_walk_count_args(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& start,
                           int64_t length);

// Message prefix the Python layer maps to OverflowError.
inline constexpr const char* kOverflowPrefix = "rankcore overflow:";

}  // namespace rankcore::ops
