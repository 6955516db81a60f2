// rankcore::undirected_edges: argument checks (the schema is in undirected_edges.cpp). CPU only.
#pragma once

#include <ATen/core/Tensor.h>

namespace rankcore::ops {

// rowptr / col: a CSR as check_csr_tensors accepts it, on the CPU.
void check_undirected_edges_args(const at::Tensor& rowptr, const at::Tensor& col);

}  // namespace rankcore::ops
