// CPU implementation of the rankcore::ht_leaf_pool / ht_pool family (at::parallel_for).
//
// Forward ops and ht_pool_backward: every output row (node j, item b) is independent, so the
// parallel loop runs over the J * B rows; one row is a running product over the node's children.
//
// ht_leaf_pool_backward scatters into the leaf factors, where many items hit the same rows (d = 8 for
// B = 4096 items). A task owns one (node, column strip): the node's leaves belong to no other node,
// so no two tasks write the same gradient element — no atomics, no per-thread copies, deterministic.
// Within a task, a [P, w] suffix buffer gives each child the product of the others without division.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/ht_pool.h"
#include "ops/ht_pool.h"

namespace rankcore::ops {
namespace {

constexpr int64_t kMinTaskWork = int64_t(1) << 14;  // multiply-adds worth a task

// Smallest flat position b * N + n of an out-of-range index (INT64_MAX: none).
struct BadIndex {
  std::atomic<int64_t> pos{std::numeric_limits<int64_t>::max()};
  void record(int64_t p) {
    int64_t cur = pos.load(std::memory_order_relaxed);
    while (p < cur && !pos.compare_exchange_weak(cur, p, std::memory_order_relaxed)) {
    }
  }
  void raise(const char* op, const at::Tensor& indices, const std::vector<int64_t>& dims) const {
    const int64_t p = pos.load();
    if (p == std::numeric_limits<int64_t>::max()) return;
    const int64_t N = static_cast<int64_t>(dims.size()), b = p / N, n = p % N;
    TORCH_CHECK_INDEX(false, op, ": indices[", b, ", ", n, "] = ", indices.data_ptr<int64_t>()[p],
                      " is out of range for leaves[", n, "], which has ", dims[n], " rows");
  }
};

template <typename scalar_t>
struct Leaves {
  std::vector<const scalar_t*> ptr;
  std::vector<int64_t> dims;
  std::vector<at::Tensor> keep;  // contiguous copies, alive while ptr is used
  explicit Leaves(at::TensorList leaves) {
    for (const at::Tensor& t : leaves) {
      keep.push_back(t.contiguous());
      ptr.push_back(keep.back().template data_ptr<scalar_t>());
      dims.push_back(t.size(0));
    }
  }
};

template <typename scalar_t>
at::Tensor leaf_pool_forward(at::TensorList leaves_in, const at::Tensor& indices_in, at::IntArrayRef modes,
                             at::IntArrayRef offsets) {
  const at::Tensor indices = indices_in.contiguous();
  const Leaves<scalar_t> leaves(leaves_in);
  const int64_t B = indices.size(0), N = indices.size(1), R = leaves_in[0].size(1);
  const int64_t J = static_cast<int64_t>(offsets.size()) - 1;
  at::Tensor out = at::empty({J, B, R}, leaves_in[0].options());
  scalar_t* o = out.data_ptr<scalar_t>();
  const int64_t* idx = indices.data_ptr<int64_t>();
  BadIndex bad;
  const int64_t grain = std::max<int64_t>(1, kMinTaskWork * J / std::max<int64_t>(1, N * R));
  at::parallel_for(0, J * B, grain, [&](int64_t e0, int64_t e1) {
    for (int64_t e = e0; e < e1; ++e) {
      const int64_t j = e / B, b = e % B;
      scalar_t* row = o + e * R;
      bool first = true;
      for (int64_t k = offsets[j]; k < offsets[j + 1]; ++k) {
        const int64_t m = modes[k], i = idx[b * N + m];
        if (!kernels::index_ok(i, leaves.dims[m])) {
          bad.record(b * N + m);
          std::fill(row, row + R, scalar_t(0));
          break;
        }
        const scalar_t* src = leaves.ptr[m] + i * R;
        if (first) {
          std::copy(src, src + R, row);
          first = false;
        } else {
          kernels::ht_mul_row(row, src, R);
        }
      }
    }
  });
  bad.raise("ht_leaf_pool", indices, leaves.dims);
  return out;
}

template <typename scalar_t>
std::vector<at::Tensor> leaf_pool_backward(const at::Tensor& grad_in, at::TensorList leaves_in,
                                           const at::Tensor& indices_in, at::IntArrayRef modes,
                                           at::IntArrayRef offsets) {
  const at::Tensor indices = indices_in.contiguous(), grad = grad_in.contiguous();
  const Leaves<scalar_t> leaves(leaves_in);
  const int64_t B = indices.size(0), N = indices.size(1), R = leaves_in[0].size(1);
  const int64_t J = static_cast<int64_t>(offsets.size()) - 1;
  std::vector<at::Tensor> grads;
  std::vector<scalar_t*> gptr;
  for (int64_t n = 0; n < N; ++n) {
    grads.push_back(at::zeros({leaves.dims[n], R}, leaves_in[0].options()));
    gptr.push_back(grads.back().data_ptr<scalar_t>());
  }
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  // Column strips: enough (node, strip) tasks for every thread, strips of at least 16 columns.
  int64_t strips = std::clamp<int64_t>((threads + J - 1) / J, 1, std::max<int64_t>(1, R / 16));
  const int64_t width = (R + strips - 1) / strips;
  strips = (R + width - 1) / width;
  const int64_t* idx = indices.data_ptr<int64_t>();
  const scalar_t* g = grad.data_ptr<scalar_t>();
  BadIndex bad;
  at::parallel_for(0, J * strips, 1, [&](int64_t t0, int64_t t1) {
    std::vector<scalar_t> suffix(kHtMaxGroup * width), prefix(width);
    std::vector<const scalar_t*> rows(kHtMaxGroup);
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t j = task / strips, r0 = (task % strips) * width, w = std::min(width, R - r0);
      const int64_t k0 = offsets[j], P = offsets[j + 1] - k0;
      for (int64_t b = 0; b < B; ++b) {
        bool ok = true;
        for (int64_t k = 0; k < P; ++k) {
          const int64_t m = modes[k0 + k], i = idx[b * N + m];
          if (!kernels::index_ok(i, leaves.dims[m])) {
            bad.record(b * N + m);
            ok = false;
            break;
          }
          rows[k] = leaves.ptr[m] + i * R + r0;
        }
        if (!ok) continue;
        scalar_t* s_last = suffix.data() + (P - 1) * width;
        std::fill(s_last, s_last + w, scalar_t(1));
        for (int64_t k = P - 1; k > 0; --k) {
          kernels::ht_mul_into<false>(suffix.data() + (k - 1) * width, suffix.data() + k * width, rows[k], w);
        }
        const scalar_t* gb = g + (j * B + b) * R + r0;
        std::copy(gb, gb + w, prefix.begin());
        for (int64_t k = 0; k < P; ++k) {
          const int64_t m = modes[k0 + k];
          kernels::ht_mul_into<true>(gptr[m] + idx[b * N + m] * R + r0, prefix.data(), suffix.data() + k * width, w);
          if (k + 1 < P) kernels::ht_mul_row(prefix.data(), rows[k], w);
        }
      }
    }
  });
  bad.raise("ht_leaf_pool_backward", indices, leaves.dims);
  return grads;
}

template <typename scalar_t>
at::Tensor pool_forward(const at::Tensor& a_in, at::IntArrayRef offsets) {
  const at::Tensor a = a_in.contiguous();
  const int64_t B = a.size(1), R = a.size(2), J = static_cast<int64_t>(offsets.size()) - 1;
  at::Tensor out = at::empty({J, B, R}, a.options());
  const scalar_t* x = a.data_ptr<scalar_t>();
  scalar_t* o = out.data_ptr<scalar_t>();
  const int64_t grain = std::max<int64_t>(1, kMinTaskWork * J / std::max<int64_t>(1, a.size(0) * R));
  at::parallel_for(0, J * B, grain, [&](int64_t e0, int64_t e1) {
    for (int64_t e = e0; e < e1; ++e) {
      const int64_t j = e / B, b = e % B;
      scalar_t* row = o + e * R;
      const scalar_t* src = x + (offsets[j] * B + b) * R;
      std::copy(src, src + R, row);
      for (int64_t k = offsets[j] + 1; k < offsets[j + 1]; ++k) kernels::ht_mul_row(row, x + (k * B + b) * R, R);
    }
  });
  return out;
}

template <typename scalar_t>
at::Tensor pool_backward(const at::Tensor& grad_in, const at::Tensor& a_in, at::IntArrayRef offsets) {
  const at::Tensor a = a_in.contiguous(), grad = grad_in.contiguous();
  const int64_t K = a.size(0), B = a.size(1), R = a.size(2), J = static_cast<int64_t>(offsets.size()) - 1;
  at::Tensor out = at::empty({K, B, R}, a.options());
  const scalar_t* x = a.data_ptr<scalar_t>();
  const scalar_t* g = grad.data_ptr<scalar_t>();
  scalar_t* o = out.data_ptr<scalar_t>();
  const int64_t grain = std::max<int64_t>(1, kMinTaskWork * J / std::max<int64_t>(1, 2 * K * R));
  at::parallel_for(0, J * B, grain, [&](int64_t e0, int64_t e1) {
    std::vector<scalar_t> prefix(R);
    for (int64_t e = e0; e < e1; ++e) {
      const int64_t j = e / B, b = e % B, k0 = offsets[j], P = offsets[j + 1] - k0;
      // The output rows of the group hold the suffix products first, then get the prefix multiplied in.
      scalar_t* last = o + ((k0 + P - 1) * B + b) * R;
      std::fill(last, last + R, scalar_t(1));
      for (int64_t k = P - 1; k > 0; --k) {
        kernels::ht_mul_into<false>(o + ((k0 + k - 1) * B + b) * R, o + ((k0 + k) * B + b) * R,
                                    x + ((k0 + k) * B + b) * R, R);
      }
      const scalar_t* gb = g + e * R;
      std::copy(gb, gb + R, prefix.begin());
      for (int64_t k = 0; k < P; ++k) {
        kernels::ht_mul_row(o + ((k0 + k) * B + b) * R, prefix.data(), R);
        if (k + 1 < P) kernels::ht_mul_row(prefix.data(), x + ((k0 + k) * B + b) * R, R);
      }
    }
  });
  return out;
}

void require_cpu(const char* op, const at::Tensor& t) {
  TORCH_CHECK_VALUE(t.device().is_cpu(), op, " (CPU): tensors must be on the CPU");
}

at::Tensor ht_leaf_pool_cpu(at::TensorList leaves, const at::Tensor& indices, at::IntArrayRef modes,
                            at::IntArrayRef offsets) {
  check_ht_leaf_pool_args("ht_leaf_pool", leaves, indices, modes, offsets);
  require_cpu("ht_leaf_pool", leaves[0]);
  return AT_DISPATCH_FLOATING_TYPES(leaves[0].scalar_type(), "ht_leaf_pool_cpu",
                                    [&] { return leaf_pool_forward<scalar_t>(leaves, indices, modes, offsets); });
}

std::vector<at::Tensor> ht_leaf_pool_backward_cpu(const at::Tensor& grad, at::TensorList leaves,
                                                  const at::Tensor& indices, at::IntArrayRef modes,
                                                  at::IntArrayRef offsets) {
  check_ht_leaf_pool_args("ht_leaf_pool_backward", leaves, indices, modes, offsets, &grad);
  require_cpu("ht_leaf_pool_backward", leaves[0]);
  return AT_DISPATCH_FLOATING_TYPES(leaves[0].scalar_type(), "ht_leaf_pool_backward_cpu", [&] {
    return leaf_pool_backward<scalar_t>(grad, leaves, indices, modes, offsets);
  });
}

at::Tensor ht_pool_cpu(const at::Tensor& a, at::IntArrayRef offsets) {
  check_ht_pool_args("ht_pool", a, offsets);
  require_cpu("ht_pool", a);
  return AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "ht_pool_cpu", [&] { return pool_forward<scalar_t>(a, offsets); });
}

at::Tensor ht_pool_backward_cpu(const at::Tensor& grad, const at::Tensor& a, at::IntArrayRef offsets) {
  check_ht_pool_args("ht_pool_backward", a, offsets, &grad);
  require_cpu("ht_pool_backward", a);
  return AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "ht_pool_backward_cpu",
                                    [&] { return pool_backward<scalar_t>(grad, a, offsets); });
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) {
  m.impl("ht_leaf_pool", &ht_leaf_pool_cpu);
  m.impl("ht_leaf_pool_backward", &ht_leaf_pool_backward_cpu);
  m.impl("ht_pool", &ht_pool_cpu);
  m.impl("ht_pool_backward", &ht_pool_backward_cpu);
}

}  // namespace rankcore::ops
