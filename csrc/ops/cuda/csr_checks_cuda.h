// The value checks of ops/csr_checks.h on the GPU, shared by the CUDA bindings of the ops on the
// symmetric CSR of a simple undirected graph (edge_common_neighbors, closed_walk_counts): rowptr is
// checked on the host (one small copy), the col entries on the device (one kernel, one flag copy).
// Raises the same errors as the CPU path.
#pragma once

#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>

#include <cuda_runtime.h>

#include <cstdint>

#include "ops/csr_checks.h"
#include "ops/cuda/csr_checks_kernel.cuh"

namespace rankcore::ops {

// check_host_rowptr + check_host_simple_symmetric for a CSR on a CUDA device (tensors contiguous and
// already through check_csr_tensors).
inline void check_symmetric_csr_cuda(const at::Tensor& rowptr, const at::Tensor& col, const char* op) {
  const int64_t n = rowptr.numel() - 1, nnz = col.numel();
  const at::Tensor rowptr_host = rowptr.cpu();
  const int64_t* rp = rowptr_host.data_ptr<int64_t>();
  check_host_rowptr(rp, n, nnz, op);
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(rowptr.device().index()).stream();
  at::Tensor flags = at::empty({cuda::kCsrFlagCount}, rowptr.options());
  AT_DISPATCH_INDEX_TYPES(col.scalar_type(), "check_symmetric_csr_cuda", [&] {
    C10_CUDA_CHECK(cuda::launch_check_symmetric_csr(rowptr.data_ptr<int64_t>(), col.data_ptr<index_t>(), n, nnz,
                                                    flags.data_ptr<int64_t>(), stream));
  });
  const at::Tensor h = flags.cpu();  // synchronises
  const int64_t* f = h.data_ptr<int64_t>();
  if (f[cuda::kCsrFlagBadRange] < 0 && f[cuda::kCsrFlagSelfLoop] < 0 && f[cuda::kCsrFlagBadOrder] < 0 &&
      f[cuda::kCsrFlagNoMirror] < 0) {
    return;
  }
  // Something is wrong: redo the check on the host for the exact message of the CPU path.
  const at::Tensor col_host = col.cpu();
  AT_DISPATCH_INDEX_TYPES(col_host.scalar_type(), "check_symmetric_csr_cuda",
                          [&] { check_host_simple_symmetric(rp, col_host.data_ptr<index_t>(), n, op); });
  TORCH_CHECK(false, op, ": the device check found an invalid CSR that the host check accepted (internal error)");
}

}  // namespace rankcore::ops
