// rankcore::guarded_removal: argument checks (the schema is in guarded_removal.cpp). CPU only.
#pragma once

#include <ATen/core/Tensor.h>

namespace rankcore::ops {

// edges [M, 2] int64 on the CPU, order a 1-D int64 CPU tensor, num_remove and min_degree >= 0, and the int32
// limits of the guards' edge lists; the values (0 <= u < v < num_nodes, distinct in-range ids) are checked by
// the implementation before any work.
void check_guarded_removal_args(const at::Tensor& edges, int64_t num_nodes, const at::Tensor& order, int64_t num_remove,
                                int64_t min_degree);

}  // namespace rankcore::ops
