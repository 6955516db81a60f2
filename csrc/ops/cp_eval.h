#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace rankcore::ops {

// Validates the arguments of rankcore::cp_eval / cp_eval_backward (count, shapes, dtypes, devices);
// shared by the CPU and CUDA implementations. Index *values* are range-checked by the kernels in
// the same pass that uses them. `grad` is checked only when not null (the backward op).
void check_cp_eval_args(const char* op, at::TensorList factors, const at::Tensor& indices,
                        const at::Tensor* grad = nullptr);

// Largest order and rank the kernels accept (per-thread buffers and the CUDA launch are sized
// for these).
inline constexpr int64_t kCpMaxOrder = 1024;
inline constexpr int64_t kCpMaxRank = 4096;

}  // namespace rankcore::ops
