// CUDA implementation of rankcore::edge_common_neighbors (see ops/edge_common_neighbors.cpp; kernel in
// edge_common_neighbors_kernel.cu).
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include "ops/cuda/csr_checks_cuda.h"
#include "ops/cuda/edge_common_neighbors_kernel.cuh"
#include "ops/edge_common_neighbors.h"

namespace rankcore::ops {
namespace {

at::Tensor edge_common_neighbors_cuda(const at::Tensor& rowptr, const at::Tensor& col) {
  check_edge_common_neighbors_args(rowptr, col);
  const c10::cuda::CUDAGuard guard(rowptr.device());
  const at::Tensor rowptr_c = rowptr.contiguous(), col_c = col.contiguous();
  check_symmetric_csr_cuda(rowptr_c, col_c, "edge_common_neighbors");
  const int64_t n = rowptr_c.numel() - 1, nnz = col_c.numel();
  at::Tensor counts = at::empty({nnz}, rowptr_c.options());
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(rowptr.device().index()).stream();
  AT_DISPATCH_INDEX_TYPES(col_c.scalar_type(), "edge_common_neighbors_cuda", [&] {
    C10_CUDA_CHECK(cuda::launch_edge_common_neighbors(rowptr_c.data_ptr<int64_t>(), col_c.data_ptr<index_t>(), n, nnz,
                                                      counts.data_ptr<int64_t>(), stream));
  });
  return counts;
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CUDA, m) { m.impl("edge_common_neighbors", &edge_common_neighbors_cuda); }

}  // namespace rankcore::ops
