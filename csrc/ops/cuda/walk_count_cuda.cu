// CUDA implementation of rankcore::walk_count and rankcore::walk_count_planned (the kernels are in
// walk_count_kernel.cu). walk_count_planned takes the long-row plan from rankcore.ops' per-graph
// cache, so that repeated calls on one graph pay no host synchronisation for it.
//
// All work is enqueued on the current stream without synchronising: the argument checks that need
// the data (rowptr endpoints and monotonicity, non-negative int64 start, col range, int64 overflow)
// are recorded by the kernels into a small device "flags" array, which is copied to the host once,
// after the last step. Errors are then raised in the same order and with the same messages as the
// CPU implementation.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>

#include "ops/cuda/walk_count_kernel.cuh"
#include "ops/walk_count.h"

namespace rankcore::ops {
namespace {

// The long-row plan: rows with more than kLongRowThreshold entries and the chunk count of the
// longest. `given_rows` (from rankcore.ops' per-graph cache, through walk_count_planned) skips the two
// host synchronisations that finding them costs; without it the plan is computed here, per call.
struct PlanTensors {
  cuda::LongRowPlan plan;
  at::Tensor long_rows, partial;
};

PlanTensors make_plan(const at::Tensor& rowptr_t, int64_t n, int64_t nnz, int64_t k, const at::Tensor& start,
                      const at::Tensor* given_rows, int64_t given_max_chunks, cudaStream_t stream) {
  PlanTensors p;
  if (given_rows != nullptr) {
    p.long_rows = *given_rows;
    p.plan.count = p.long_rows.numel();
    p.plan.max_chunks = given_max_chunks;
  } else if (nnz > cuda::kLongRowThreshold) {
    const at::Tensor degree = rowptr_t.slice(0, 1, n + 1).sub(rowptr_t.slice(0, 0, n));
    p.long_rows = degree.gt(cuda::kLongRowThreshold).nonzero().flatten().contiguous();
    p.plan.count = p.long_rows.numel();
    if (p.plan.count > 0) {
      // clamp: a malformed rowptr (reported after the walk) must not size a huge scratch buffer
      const int64_t longest = std::min<int64_t>(degree.index_select(0, p.long_rows).max().item<int64_t>(), nnz);
      p.plan.max_chunks = (longest + cuda::kLongRowChunk - 1) / cuda::kLongRowChunk;
    }
  }
  if (p.plan.count > 0 && p.plan.max_chunks > 0) {
    p.plan.rows = p.long_rows.data_ptr<int64_t>();
    p.plan.threshold = cuda::kLongRowThreshold;
    // 8-byte values: the partial sums, then one completion counter per long row (zeroed here, left zero
    // by every step)
    const int64_t partial_elems = p.plan.count * p.plan.max_chunks * k;
    p.partial = at::empty({partial_elems + p.plan.count}, start.options());
    p.plan.partial = p.partial.data_ptr();
    p.plan.counters = reinterpret_cast<unsigned long long*>(static_cast<char*>(p.partial.data_ptr()) +
                                                            sizeof(int64_t) * partial_elems);
    C10_CUDA_CHECK(cudaMemsetAsync(p.plan.counters, 0, sizeof(int64_t) * p.plan.count, stream));
  } else {
    p.plan = cuda::LongRowPlan{};
  }
  return p;
}

template <typename value_t, typename index_t>
at::Tensor walk_count_impl(const at::Tensor& rowptr_t, const at::Tensor& col_t, const at::Tensor& start, int64_t length,
                           const at::Tensor* given_rows, int64_t given_max_chunks) {
  const int64_t n = start.size(0), k = start.size(1), nnz = col_t.numel();
  const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(start.device().index()).stream();
  const int64_t* rowptr = rowptr_t.data_ptr<int64_t>();
  const index_t* col = col_t.data_ptr<index_t>();

  at::Tensor flags_t = at::empty({cuda::kWalkFlagCount}, rowptr_t.options());  // int64, on device
  int64_t* flags = flags_t.data_ptr<int64_t>();

  const int64_t* start_i64 = nullptr;  // only int64 counts must be non-negative
  if constexpr (std::is_same_v<value_t, int64_t>) start_i64 = start.data_ptr<int64_t>();
  C10_CUDA_CHECK(cuda::launch_walk_count_prepare(rowptr, n, start_i64, n * k, flags, stream));

  const bool run = length > 0 && n > 0 && k > 0;
  // Hubs: rows longer than kLongRowThreshold are split across blocks (see LongRowPlan); one launch per step.
  PlanTensors pt;
  if (run) pt = make_plan(rowptr_t, n, nnz, k, start, given_rows, given_max_chunks, stream);
  const cuda::LongRowPlan& plan = pt.plan;
  at::Tensor a, b;
  if (run) {
    a = at::empty({n, k}, start.options());
    if (length > 1) b = at::empty({n, k}, start.options());
    const value_t* x = start.data_ptr<value_t>();
    for (int64_t s = 1; s <= length; ++s) {
      at::Tensor& out = (s % 2 == 1) ? a : b;
      value_t* y = out.data_ptr<value_t>();
      C10_CUDA_CHECK(cuda::launch_walk_count_step(rowptr, col, nnz, x, y, n, k, s, plan, flags, stream));
      x = y;
    }
  }
  C10_CUDA_CHECK(cuda::launch_walk_count_finish(rowptr, col, flags, stream));

  // The one synchronisation: bring every recorded error to the host.
  std::array<int64_t, cuda::kWalkFlagCount> h{};
  C10_CUDA_CHECK(cudaMemcpyAsync(h.data(), flags, sizeof(int64_t) * h.size(), cudaMemcpyDeviceToHost, stream));
  C10_CUDA_CHECK(cudaStreamSynchronize(stream));

  TORCH_CHECK_VALUE(h[cuda::kWalkFlagRowptrFirst] == 0 && h[cuda::kWalkFlagRowptrLast] == nnz,
                    "walk_count: rowptr must start at 0 and end at col.numel() = ", nnz,
                    ", got rowptr[0] = ", h[cuda::kWalkFlagRowptrFirst],
                    " and rowptr[-1] = ", h[cuda::kWalkFlagRowptrLast]);
  const int64_t bad_row = h[cuda::kWalkFlagBadRowptr];
  TORCH_CHECK_VALUE(bad_row < 0, "walk_count: rowptr must be non-decreasing, but rowptr[", bad_row,
                    "] = ", h[cuda::kWalkFlagBadRowptrLo], " > rowptr[", bad_row + 1,
                    "] = ", h[cuda::kWalkFlagBadRowptrHi]);
  TORCH_CHECK_VALUE(h[cuda::kWalkFlagNegativeStart] < 0, "walk_count: int64 start counts must be non-negative");
  if (!run) return start.clone();

  const int64_t bad_col = h[cuda::kWalkFlagBadCol];
  TORCH_CHECK_INDEX(bad_col < 0, "walk_count: col[", bad_col, "] = ", h[cuda::kWalkFlagBadColValue],
                    " is out of range for ", n, " vertices");
  const int64_t overflow_step = h[cuda::kWalkFlagOverflowStep];
  TORCH_CHECK(overflow_step < 0, kOverflowPrefix, " walk counts of length ", overflow_step,
              " exceed the int64 range (2^63 - 1)");
  return (length % 2 == 1) ? a : b;
}

at::Tensor walk_count_dispatch(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& start, int64_t length,
                               const at::Tensor* given_rows, int64_t given_max_chunks) {
  TORCH_CHECK_VALUE(start.device().is_cuda(), "walk_count (CUDA): tensors must be on a CUDA device, got ",
                    start.device());
  const c10::cuda::CUDAGuard guard(start.device());
  const at::Tensor rowptr_c = rowptr.contiguous(), col_c = col.contiguous(), start_c = start.contiguous();
  const bool exact = start_c.scalar_type() == at::kLong;
  return AT_DISPATCH_INDEX_TYPES(col_c.scalar_type(), "walk_count_cuda", [&] {
    return exact ? walk_count_impl<int64_t, index_t>(rowptr_c, col_c, start_c, length, given_rows, given_max_chunks)
                 : walk_count_impl<double, index_t>(rowptr_c, col_c, start_c, length, given_rows, given_max_chunks);
  });
}

at::Tensor walk_count_cuda(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& start, int64_t length) {
  check_walk_count_args(rowptr, col, start, length);
  return walk_count_dispatch(rowptr, col, start, length, nullptr, 0);
}

at::Tensor walk_count_planned_cuda(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& start,
                                   int64_t length, const at::Tensor& long_rows, int64_t max_chunks) {
  check_walk_count_args(rowptr, col, start, length);
  check_walk_count_plan_args(rowptr, long_rows, max_chunks);
  const at::Tensor rows = long_rows.contiguous();
  return walk_count_dispatch(rowptr, col, start, length, &rows, max_chunks);
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CUDA, m) {
  m.impl("walk_count", &walk_count_cuda);
  m.impl("walk_count_planned", &walk_count_planned_cuda);
}

}  // namespace rankcore::ops
