// CUDA implementation of rankcore::closed_walk_counts (see ops/closed_walk_counts.cpp; kernels in
// closed_walk_counts_kernel.cu, edge_common_neighbors_kernel.cu and walk_count_kernel.cu).
//
// L <= 3: closed forms (deg + 1; 2·tri + 3·deg + 1 with tri from the common-neighbour kernel).
// L >= 4: vertices in batches of k columns: X = one-hot(batch), Xa = Â^a X and Xb = Â^b X with the
// walk_count step kernel (a = floor(L/2), b = L - a), then s_t = <Xa[:, c], Xb[:, c]>. Cost
// O(L · nnz · n) over all batches with n x k buffers (k chosen so a buffer stays near 256 MiB), never
// n x n; one host synchronisation at the end for all overflow flags.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <algorithm>
#include <array>

#include "ops/closed_walk_counts.h"
#include "ops/cuda/closed_walk_counts_kernel.cuh"
#include "ops/cuda/csr_checks_cuda.h"
#include "ops/cuda/edge_common_neighbors_kernel.cuh"
#include "ops/cuda/walk_count_kernel.cuh"

namespace rankcore::ops {
namespace {

template <typename index_t>
at::Tensor closed_walk_counts_impl(const at::Tensor& rowptr_t, const at::Tensor& col_t, int64_t length) {
  const int64_t n = rowptr_t.numel() - 1, nnz = col_t.numel();
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(rowptr_t.device().index()).stream();
  const int64_t* rowptr = rowptr_t.data_ptr<int64_t>();
  const index_t* col = col_t.data_ptr<index_t>();
  at::Tensor out = at::empty({n}, rowptr_t.options());
  if (n == 0) return out;
  if (length <= 3) {
    at::Tensor common;
    const int64_t* common_ptr = nullptr;
    if (length == 3) {
      common = at::empty({nnz}, rowptr_t.options());
      C10_CUDA_CHECK(cuda::launch_edge_common_neighbors(rowptr, col, n, nnz, common.data_ptr<int64_t>(), stream));
      common_ptr = common.data_ptr<int64_t>();
    }
    C10_CUDA_CHECK(
        cuda::launch_closed_walks_closed_form(rowptr, common_ptr, n, length, out.data_ptr<int64_t>(), stream));
    return out;
  }

  const int64_t a = length / 2, b = length - a;
  const int64_t k = std::clamp<int64_t>((int64_t{1} << 25) / n, 1, std::min<int64_t>(256, n));
  at::Tensor walk_flags = at::empty({cuda::kWalkFlagCount}, rowptr_t.options());
  int64_t* wf = walk_flags.data_ptr<int64_t>();
  C10_CUDA_CHECK(cuda::launch_walk_count_prepare(rowptr, n, nullptr, 0, wf, stream));
  at::Tensor dot_overflow = at::zeros({1}, rowptr_t.options());
  at::Tensor x = at::empty({n, k}, rowptr_t.options()), y = at::empty({n, k}, rowptr_t.options());
  at::Tensor z = at::empty({n, k}, rowptr_t.options());
  for (int64_t first = 0; first < n; first += k) {
    const int64_t kk = std::min(k, n - first);
    // Buffers are [n, kk] views of the first n * kk elements (row-major with row stride kk).
    int64_t* px = x.data_ptr<int64_t>();
    int64_t* py = y.data_ptr<int64_t>();
    int64_t* pz = z.data_ptr<int64_t>();
    C10_CUDA_CHECK(cudaMemsetAsync(px, 0, sizeof(int64_t) * n * kk, stream));
    C10_CUDA_CHECK(cuda::launch_one_hot_columns(px + 0, kk, first, stream));
    int64_t* cur = px;
    int64_t* spare = py;
    for (int64_t s = 1; s <= a; ++s) {  // cur <- Â cur
      C10_CUDA_CHECK(
          cuda::launch_walk_count_step(rowptr, col, nnz, cur, spare, n, kk, s, cuda::LongRowPlan{}, wf, stream));
      std::swap(cur, spare);
    }
    const int64_t* xb = cur;
    if (b > a) {
      C10_CUDA_CHECK(
          cuda::launch_walk_count_step(rowptr, col, nnz, cur, pz, n, kk, b, cuda::LongRowPlan{}, wf, stream));
      xb = pz;
    }
    C10_CUDA_CHECK(cuda::launch_column_dots(cur, xb, n, kk, out.data_ptr<int64_t>() + first,
                                            dot_overflow.data_ptr<int64_t>(), stream));
  }
  std::array<int64_t, cuda::kWalkFlagCount> h{};
  C10_CUDA_CHECK(cudaMemcpyAsync(h.data(), wf, sizeof(int64_t) * h.size(), cudaMemcpyDeviceToHost, stream));
  int64_t dot_over = 0;
  C10_CUDA_CHECK(
      cudaMemcpyAsync(&dot_over, dot_overflow.data_ptr<int64_t>(), sizeof(int64_t), cudaMemcpyDeviceToHost, stream));
  C10_CUDA_CHECK(cudaStreamSynchronize(stream));
  TORCH_CHECK(h[cuda::kWalkFlagOverflowStep] < 0 && dot_over == 0, kOverflowPrefix, " closed walk counts of length ",
              length, " exceed the int64 range (2^63 - 1)");
  return out;
}

at::Tensor closed_walk_counts_cuda(const at::Tensor& rowptr, const at::Tensor& col, int64_t length) {
  check_closed_walk_counts_args(rowptr, col, length);
  const c10::cuda::CUDAGuard guard(rowptr.device());
  const at::Tensor rowptr_c = rowptr.contiguous(), col_c = col.contiguous();
  check_symmetric_csr_cuda(rowptr_c, col_c, "closed_walk_counts");
  return AT_DISPATCH_INDEX_TYPES(col_c.scalar_type(), "closed_walk_counts_cuda",
                                 [&] { return closed_walk_counts_impl<index_t>(rowptr_c, col_c, length); });
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CUDA, m) { m.impl("closed_walk_counts", &closed_walk_counts_cuda); }

}  // namespace rankcore::ops
