// rankcore::read_edge_list: argument checks (the schema and contract are in read_edge_list.cpp). CPU only.
#pragma once

#include <ATen/core/Tensor.h>

namespace rankcore::ops {

// progress: a contiguous int64 CPU tensor of 1 or 2 elements (bytes parsed, cancel flag);
// byte range: 0 <= begin, and end == -1 (the end of the file) or end >= begin; max_id >= -1.
void check_read_edge_list_args(const at::Tensor& progress, int64_t begin, int64_t end, int64_t max_id);

}  // namespace rankcore::ops
