// CUDA implementation of rankcore::cp_eval and rankcore::cp_eval_backward (kernels in
// cp_eval_kernel.cu).
//
// The factor list is passed to the kernels as one small device table (factor pointers, gradient
// pointers, dims, shared-memory offsets) built on the host and copied once. Out-of-range indices are
// recorded by the kernels in a device flag, read with the op's one synchronisation, and raised with
// the CPU implementation's message.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "ops/cp_eval.h"
#include "ops/cuda/binding_common.h"
#include "ops/cuda/cp_eval_kernel.cuh"
#include "ops/cuda/cuda_common.cuh"

namespace rankcore::ops {
namespace {

// Host table [factor ptrs N | grad ptrs N | dims N | smem offsets N] as int64, copied to the device.
struct DeviceTable {
  at::Tensor device;  // int64 [4 N] on the factors' device
  template <typename T>
  const T* const* factors() const {
    return reinterpret_cast<const T* const*>(device.data_ptr<int64_t>());
  }
  template <typename T>
  T* const* grads(int64_t N) const {
    return reinterpret_cast<T* const*>(device.data_ptr<int64_t>() + N);
  }
  const int64_t* dims(int64_t N) const { return device.data_ptr<int64_t>() + 2 * N; }
  const int64_t* smem_offset(int64_t N) const { return device.data_ptr<int64_t>() + 3 * N; }
};

DeviceTable make_table(const std::vector<int64_t>& host, const at::Tensor& like) {
  return {to_device_table(host, like.device())};
}

template <typename scalar_t>
at::Tensor forward_impl(const std::vector<at::Tensor>& f, const at::Tensor& indices) {
  const int64_t B = indices.size(0), N = indices.size(1), R = f[0].size(1);
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(indices.device().index()).stream();
  std::vector<int64_t> host(4 * N, -1);
  for (int64_t n = 0; n < N; ++n) {
    host[n] = reinterpret_cast<int64_t>(f[n].data_ptr<scalar_t>());
    host[2 * N + n] = f[n].size(0);
  }
  const DeviceTable table = make_table(host, indices);
  at::Tensor out = at::empty({B}, f[0].options());
  at::Tensor flag = at::empty({1}, indices.options());
  C10_CUDA_CHECK(cuda::launch_init_flags(flag.data_ptr<int64_t>(), 1, stream));
  C10_CUDA_CHECK(cuda::launch_cp_eval_forward(table.factors<scalar_t>(), table.dims(N), indices.data_ptr<int64_t>(), B,
                                              N, R, out.data_ptr<scalar_t>(), flag.data_ptr<int64_t>(), stream));
  raise_bad_index("cp_eval", read_flag(flag, stream), indices, f, "factors");
  return out;
}

template <typename scalar_t>
std::vector<at::Tensor> backward_impl(const at::Tensor& grad, const std::vector<at::Tensor>& f,
                                      const at::Tensor& indices) {
  const int64_t B = indices.size(0), N = indices.size(1), R = f[0].size(1);
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(indices.device().index()).stream();
  std::vector<at::Tensor> grads;
  std::vector<int64_t> host(4 * N, -1);
  for (int64_t n = 0; n < N; ++n) {
    grads.push_back(at::zeros({f[n].size(0), R}, f[n].options()));
    host[n] = reinterpret_cast<int64_t>(f[n].data_ptr<scalar_t>());
    host[N + n] = reinterpret_cast<int64_t>(grads[n].data_ptr<scalar_t>());
    host[2 * N + n] = f[n].size(0);
  }
  int64_t smem_elems = 0;
  C10_CUDA_CHECK(cuda::plan_cp_eval_backward_smem(host.data() + 2 * N, N, R, sizeof(scalar_t), indices.device().index(),
                                                  host.data() + 3 * N, &smem_elems));
  const DeviceTable table = make_table(host, indices);
  at::Tensor flag = at::empty({1}, indices.options());
  C10_CUDA_CHECK(cuda::launch_init_flags(flag.data_ptr<int64_t>(), 1, stream));
  C10_CUDA_CHECK(cuda::launch_cp_eval_backward(grad.data_ptr<scalar_t>(), table.factors<scalar_t>(), table.dims(N),
                                               table.smem_offset(N), smem_elems, indices.data_ptr<int64_t>(), B, N, R,
                                               table.grads<scalar_t>(N), flag.data_ptr<int64_t>(), stream));
  raise_bad_index("cp_eval_backward", read_flag(flag, stream), indices, f, "factors");
  return grads;
}

at::Tensor cp_eval_cuda(at::TensorList factors, const at::Tensor& indices) {
  check_cp_eval_args("cp_eval", factors, indices);
  TORCH_CHECK_VALUE(factors[0].device().is_cuda(), "cp_eval (CUDA): tensors must be on a CUDA device");
  const c10::cuda::CUDAGuard guard(factors[0].device());
  const auto f = contiguous_all(factors);
  const at::Tensor idx = indices.contiguous();
  return AT_DISPATCH_FLOATING_TYPES(f[0].scalar_type(), "cp_eval_cuda", [&] { return forward_impl<scalar_t>(f, idx); });
}

std::vector<at::Tensor> cp_eval_backward_cuda(const at::Tensor& grad, at::TensorList factors,
                                              const at::Tensor& indices) {
  check_cp_eval_args("cp_eval_backward", factors, indices, &grad);
  TORCH_CHECK_VALUE(factors[0].device().is_cuda(), "cp_eval_backward (CUDA): tensors must be on a CUDA device");
  const c10::cuda::CUDAGuard guard(factors[0].device());
  const auto f = contiguous_all(factors);
  const at::Tensor idx = indices.contiguous(), g = grad.contiguous();
  return AT_DISPATCH_FLOATING_TYPES(f[0].scalar_type(), "cp_eval_backward_cuda",
                                    [&] { return backward_impl<scalar_t>(g, f, idx); });
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CUDA, m) {
  m.impl("cp_eval", &cp_eval_cuda);
  m.impl("cp_eval_backward", &cp_eval_backward_cuda);
}

}  // namespace rankcore::ops
