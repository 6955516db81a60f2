// rankcore::local_degree_exponents and rankcore::local_degree_scores: argument checks and the exponent (the schemas
// are in local_degree.cpp). CPU only.
#pragma once

#include <ATen/core/Tensor.h>

#include <cmath>
#include <cstdint>

namespace rankcore::ops {

// The Local Degree exponent of the neighbour an owner of degree d ranks r-th (1-based): 1 - log r / log d, or 1
// when d = 1. Both ops take it from here, so their values are bit for bit equal.
inline double local_degree_exponent(int64_t rank, int64_t d) {
  return d > 1 ? 1.0 - std::log(static_cast<double>(rank)) / std::log(static_cast<double>(d)) : 1.0;
}

// owner, other, d_owner, d_other: 1-D int64 CPU tensors of one length; num_rows >= 0, first_row >= 0. The
// values (owners of ranked pairs in [first_row, first_row + num_rows)) are checked by the implementation.
void check_local_degree_args(const at::Tensor& owner, const at::Tensor& other, const at::Tensor& d_owner,
                             const at::Tensor& d_other, int64_t num_rows, int64_t first_row);

// rowptr / col: a CSR (check_csr_tensors) on the CPU; upper, mirror: 1-D int64 of one length. Values are checked by
// the implementation.
void check_local_degree_scores_args(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& upper,
                                    const at::Tensor& mirror);

}  // namespace rankcore::ops
