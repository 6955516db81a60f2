// CUDA implementation of the rankcore::ht_leaf_pool / ht_pool family (kernels in ht_pool_kernel.cu).
//
// The leaf list, dims, modes and offsets reach the kernels as one small int64 device table built on
// the host and copied once. Out-of-range indices are recorded in a device flag, read with the op's
// one synchronisation, and raised with the CPU implementation's message.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/ht_pool.h"
#include "ops/cuda/binding_common.h"
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/ht_pool_kernel.cuh"
#include "ops/ht_pool.h"

namespace rankcore::ops {
namespace {

// Table layout: [leaf ptrs N | grad ptrs N | dims N | modes N | offsets J + 1].
struct LeafTable {
  at::Tensor device;
  int64_t N;
  template <typename T>
  const T* const* leaves() const {
    return reinterpret_cast<const T* const*>(device.data_ptr<int64_t>());
  }
  template <typename T>
  T* const* grads() const {
    return reinterpret_cast<T* const*>(device.data_ptr<int64_t>() + N);
  }
  const int64_t* dims() const { return device.data_ptr<int64_t>() + 2 * N; }
  const int64_t* modes() const { return device.data_ptr<int64_t>() + 3 * N; }
  const int64_t* offsets() const { return device.data_ptr<int64_t>() + 4 * N; }
};

template <typename T>
LeafTable make_leaf_table(const std::vector<at::Tensor>& leaves, const std::vector<at::Tensor>* grads,
                          at::IntArrayRef modes, at::IntArrayRef offsets) {
  const int64_t N = static_cast<int64_t>(leaves.size());
  std::vector<int64_t> host(4 * N, 0);
  for (int64_t n = 0; n < N; ++n) {
    host[n] = reinterpret_cast<int64_t>(leaves[n].data_ptr<T>());
    if (grads != nullptr) host[N + n] = reinterpret_cast<int64_t>((*grads)[n].data_ptr<T>());
    host[2 * N + n] = leaves[n].size(0);
    host[3 * N + n] = modes[n];
  }
  host.insert(host.end(), offsets.begin(), offsets.end());
  return {to_device_table(host, leaves[0].device()), N};
}

void require_cuda(const char* op, const at::Tensor& t) {
  TORCH_CHECK_VALUE(t.device().is_cuda(), op, " (CUDA): tensors must be on a CUDA device");
}

at::Tensor ht_leaf_pool_cuda(at::TensorList leaves_in, const at::Tensor& indices_in, at::IntArrayRef modes,
                             at::IntArrayRef offsets) {
  check_ht_leaf_pool_args("ht_leaf_pool", leaves_in, indices_in, modes, offsets);
  require_cuda("ht_leaf_pool", leaves_in[0]);
  const c10::cuda::CUDAGuard guard(leaves_in[0].device());
  const auto leaves = contiguous_all(leaves_in);
  const at::Tensor indices = indices_in.contiguous();
  const int64_t B = indices.size(0), N = indices.size(1), R = leaves[0].size(1);
  const int64_t J = static_cast<int64_t>(offsets.size()) - 1;
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(indices.device().index()).stream();
  at::Tensor out = at::empty({J, B, R}, leaves[0].options());
  at::Tensor flag = at::empty({1}, indices.options());
  C10_CUDA_CHECK(cuda::launch_init_flags(flag.data_ptr<int64_t>(), 1, stream));
  AT_DISPATCH_FLOATING_TYPES(leaves[0].scalar_type(), "ht_leaf_pool_cuda", [&] {
    const LeafTable t = make_leaf_table<scalar_t>(leaves, nullptr, modes, offsets);
    C10_CUDA_CHECK(cuda::launch_ht_leaf_pool_forward<scalar_t>(
        t.leaves<scalar_t>(), t.dims(), t.modes(), t.offsets(), indices.data_ptr<int64_t>(), B, N, J, R,
        out.data_ptr<scalar_t>(), flag.data_ptr<int64_t>(), stream));
    raise_bad_index("ht_leaf_pool", read_flag(flag, stream), indices, leaves, "leaves");
  });
  return out;
}

std::vector<at::Tensor> ht_leaf_pool_backward_cuda(const at::Tensor& grad_in, at::TensorList leaves_in,
                                                   const at::Tensor& indices_in, at::IntArrayRef modes,
                                                   at::IntArrayRef offsets) {
  check_ht_leaf_pool_args("ht_leaf_pool_backward", leaves_in, indices_in, modes, offsets, &grad_in);
  require_cuda("ht_leaf_pool_backward", leaves_in[0]);
  const c10::cuda::CUDAGuard guard(leaves_in[0].device());
  const auto leaves = contiguous_all(leaves_in);
  const at::Tensor indices = indices_in.contiguous(), grad = grad_in.contiguous();
  const int64_t B = indices.size(0), N = indices.size(1), R = leaves[0].size(1);
  const int64_t J = static_cast<int64_t>(offsets.size()) - 1;
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(indices.device().index()).stream();
  std::vector<at::Tensor> grads;
  for (const at::Tensor& l : leaves) grads.push_back(at::zeros(l.sizes(), l.options()));
  // Shared accumulation when the largest node's leaf gradients fit in the per-block budget.
  int64_t max_rows = 0;
  for (int64_t j = 0; j < J; ++j) {
    int64_t rows = 0;
    for (int64_t k = offsets[j]; k < offsets[j + 1]; ++k) rows += leaves[modes[k]].size(0);
    max_rows = std::max(max_rows, rows);
  }
  int64_t budget = 0;
  C10_CUDA_CHECK(cuda::ht_leaf_pool_smem_budget(indices.device().index(), leaves[0].element_size(), &budget));
  // Columns in strips when all R of them do not fit (kernels::ht_backward_strip); 0: global atomics.
  int64_t strip = kernels::ht_backward_strip(max_rows, R, budget);
  if (strip > 0 && (R + strip - 1) / strip > cuda::kMaxBlocks) strip = 0;  // grid.z limit
  const int64_t smem_elems = strip > 0 ? max_rows * std::min(strip, R) : 0;
  at::Tensor flag = at::empty({1}, indices.options());
  C10_CUDA_CHECK(cuda::launch_init_flags(flag.data_ptr<int64_t>(), 1, stream));
  AT_DISPATCH_FLOATING_TYPES(leaves[0].scalar_type(), "ht_leaf_pool_backward_cuda", [&] {
    const LeafTable t = make_leaf_table<scalar_t>(leaves, &grads, modes, offsets);
    C10_CUDA_CHECK(cuda::launch_ht_leaf_pool_backward<scalar_t>(
        grad.data_ptr<scalar_t>(), t.leaves<scalar_t>(), t.dims(), t.modes(), t.offsets(), indices.data_ptr<int64_t>(),
        B, N, J, R, smem_elems, strip, t.grads<scalar_t>(), flag.data_ptr<int64_t>(), stream));
    raise_bad_index("ht_leaf_pool_backward", read_flag(flag, stream), indices, leaves, "leaves");
  });
  return grads;
}

at::Tensor ht_pool_cuda(const at::Tensor& a_in, at::IntArrayRef offsets) {
  check_ht_pool_args("ht_pool", a_in, offsets);
  require_cuda("ht_pool", a_in);
  const c10::cuda::CUDAGuard guard(a_in.device());
  const at::Tensor a = a_in.contiguous();
  const int64_t B = a.size(1), R = a.size(2), J = static_cast<int64_t>(offsets.size()) - 1;
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(a.device().index()).stream();
  const at::Tensor off = to_device_table(offsets.vec(), a.device());
  at::Tensor out = at::empty({J, B, R}, a.options());
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "ht_pool_cuda", [&] {
    C10_CUDA_CHECK(cuda::launch_ht_pool_forward<scalar_t>(a.data_ptr<scalar_t>(), off.data_ptr<int64_t>(), J, B, R,
                                                          out.data_ptr<scalar_t>(), stream));
  });
  return out;
}

at::Tensor ht_pool_backward_cuda(const at::Tensor& grad_in, const at::Tensor& a_in, at::IntArrayRef offsets) {
  check_ht_pool_args("ht_pool_backward", a_in, offsets, &grad_in);
  require_cuda("ht_pool_backward", a_in);
  const c10::cuda::CUDAGuard guard(a_in.device());
  const at::Tensor a = a_in.contiguous(), grad = grad_in.contiguous();
  const int64_t B = a.size(1), R = a.size(2), J = static_cast<int64_t>(offsets.size()) - 1;
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(a.device().index()).stream();
  const at::Tensor off = to_device_table(offsets.vec(), a.device());
  at::Tensor out = at::empty(a.sizes(), a.options());
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "ht_pool_backward_cuda", [&] {
    C10_CUDA_CHECK(cuda::launch_ht_pool_backward<scalar_t>(grad.data_ptr<scalar_t>(), a.data_ptr<scalar_t>(),
                                                           off.data_ptr<int64_t>(), J, B, R, out.data_ptr<scalar_t>(),
                                                           stream));
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CUDA, m) {
  m.impl("ht_leaf_pool", &ht_leaf_pool_cuda);
  m.impl("ht_leaf_pool_backward", &ht_leaf_pool_backward_cuda);
  m.impl("ht_pool", &ht_pool_cuda);
  m.impl("ht_pool_backward", &ht_pool_backward_cuda);
}

}  // namespace rankcore::ops
