#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace rankcore::ops {

// Argument checks of the rankcore::ht_leaf_pool / ht_pool op family, shared by the CPU and CUDA
// implementations. Index *values* are range-checked by the kernels in the pass that uses them.
// `grad` is checked only when not null (the backward ops).
void check_ht_leaf_pool_args(const char* op, at::TensorList leaves, const at::Tensor& indices, at::IntArrayRef modes,
                             at::IntArrayRef offsets, const at::Tensor* grad = nullptr);
void check_ht_pool_args(const char* op, const at::Tensor& a, at::IntArrayRef offsets, const at::Tensor* grad = nullptr);

// Largest number of children of one tree node (CUDA threads keep a group's values in registers).
inline constexpr int64_t kHtMaxGroup = 64;
inline constexpr int64_t kHtMaxOrder = 4096;

}  // namespace rankcore::ops
