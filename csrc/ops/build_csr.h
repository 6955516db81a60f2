// rankcore::build_csr and rankcore::read_edge_list: argument checks (the schemas are in build_csr.cpp).
// Both ops run on the CPU only (Graph.from_input keeps the Python build for other devices).
#pragma once

#include <ATen/core/Tensor.h>

namespace rankcore::ops {

// edge_index: [2, m] int64 on the CPU; num_nodes in [0, 2^31 - 1] (int32 CSR columns).
void check_build_csr_args(const at::Tensor& edge_index, int64_t num_nodes);

// progress: a contiguous int64 CPU tensor of 1 or 2 elements (bytes parsed, cancel flag).
void check_read_edge_list_args(const at::Tensor& progress);

}  // namespace rankcore::ops
