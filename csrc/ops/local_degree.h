// rankcore::local_degree_exponents: argument checks (the schema is in local_degree.cpp). CPU only.
#pragma once

#include <ATen/core/Tensor.h>

namespace rankcore::ops {

// owner, other, d_owner, d_other: 1-D int64 CPU tensors of one length; num_rows >= 0, first_row >= 0. The
// values (owners of ranked pairs in [first_row, first_row + num_rows)) are checked by the implementation.
void check_local_degree_args(const at::Tensor& owner, const at::Tensor& other, const at::Tensor& d_owner,
                             const at::Tensor& d_other, int64_t num_rows, int64_t first_row);

}  // namespace rankcore::ops
