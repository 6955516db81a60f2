// rankcore::build_csr: argument checks (the schema is in build_csr.cpp). CPU only (Graph.from_input keeps the
// Python build for other devices).
#pragma once

#include <ATen/core/Tensor.h>

namespace rankcore::ops {

// edge_index: [2, m] int64 on the CPU; num_nodes in [0, 2^31 - 1] (int32 CSR columns).
void check_build_csr_args(const at::Tensor& edge_index, int64_t num_nodes);

}  // namespace rankcore::ops
