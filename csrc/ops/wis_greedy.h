// rankcore::wis_greedy: argument checks of the implementation (the schema is in wis_greedy.cpp). The
// op runs on the CPU only (rankcore.wis moves the graph there); `progress` is a CPU tensor in any case.
#pragma once

#include <ATen/core/Tensor.h>

#include "ops/csr_checks.h"

namespace rankcore::ops {

// Validates shapes, dtypes, devices, the depth, the `progress` slot and the size limits of the int32
// edge lists, and min_degree >= 0; the CSR's values are checked before any work, num_remove once the edges are counted.
void check_wis_greedy_args(const at::Tensor& rowptr, const at::Tensor& col, int64_t depth, const at::Tensor& progress,
                           int64_t min_degree);

}  // namespace rankcore::ops
