// Host-side helpers shared by the torch bindings (*_cuda.cu): device pointer tables, reading an error
// flag back, raising the CPU path's out-of-range message. The kernels' side of the same conventions
// (flag_min, launch_init_flags, blocks_for) is torch-free, in ops/cuda/cuda_common.cuh.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAException.h>
#include <c10/util/Exception.h>

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace rankcore::ops {

// A host vector of int64 (pointers cast to int64, sizes, offsets) copied to `device` as one small
// table that kernels read as arrays, so that a list of tensors reaches a kernel in one copy.
inline at::Tensor to_device_table(const std::vector<int64_t>& host, const at::Device& device) {
  at::Tensor h = at::empty({static_cast<int64_t>(host.size())}, at::TensorOptions().dtype(at::kLong));
  std::copy(host.begin(), host.end(), h.data_ptr<int64_t>());
  return h.to(device, /*non_blocking=*/false);
}

// The value of a one-element int64 device flag (see cuda_common.cuh); synchronises `stream`.
inline int64_t read_flag(const at::Tensor& flag, cudaStream_t stream) {
  int64_t h = -1;
  C10_CUDA_CHECK(cudaMemcpyAsync(&h, flag.data_ptr<int64_t>(), sizeof(int64_t), cudaMemcpyDeviceToHost, stream));
  C10_CUDA_CHECK(cudaStreamSynchronize(stream));
  return h;
}

// Raises the CPU path's IndexError for the bad index the kernels recorded at flat position
// pos = b * N + n of the [B, N] `indices` (nothing when pos < 0): `tables` are the N indexed tensors,
// named `what` in the message ("factors", "leaves").
inline void raise_bad_index(const char* op, int64_t pos, const at::Tensor& indices, at::TensorList tables,
                            const char* what) {
  if (pos < 0) return;
  const int64_t N = indices.size(1), b = pos / N, n = pos % N;
  TORCH_CHECK_INDEX(false, op, ": indices[", b, ", ", n, "] = ", indices[b][n].item<int64_t>(), " is out of range for ",
                    what, "[", n, "], which has ", tables[n].size(0), " rows");
}

inline std::vector<at::Tensor> contiguous_all(at::TensorList ts) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& t : ts) out.push_back(t.contiguous());
  return out;
}

}  // namespace rankcore::ops
