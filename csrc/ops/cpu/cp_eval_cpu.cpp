// CPU implementation of rankcore::cp_eval and rankcore::cp_eval_backward.
//
// Forward: at::parallel_for over the batch; per item a running product acc[r] over the modes (one
// gathered factor row of R values per mode), then the sum over r. Nothing of size B x N x R exists.
//
// Backward: for a batch item b and a strip of W columns, a suffix pass stores
// S[n] = prod_{m > n} A_m[i_m, strip] in a per-task [N, W] buffer, then a prefix pass adds
// g_b * (prod_{m < n} A_m[i_m, strip]) * S[n] to row i_n of mode n's gradient. Multiplication only.
//
// Reduction into the factor gradients, without serialising when d is small (N = 784, d = 2: every
// batch item hits one of two rows per mode): the batch is cut into S slices, each with its own
// full-size gradient buffer (slice 0 writes into the outputs), and columns into strips; a task is one
// (slice, strip) tile, so no two tasks write the same element. The slice buffers are summed at the
// end. S is capped so that the extra buffers stay within kBufferBudgetBytes: large factors get fewer
// slices (down to 1: pure column ownership), small ones one slice per thread.
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

#include "kernels/cp_eval.h"
#include "ops/cp_eval.h"

namespace rankcore::ops {
namespace {

constexpr int64_t kBufferBudgetBytes = int64_t(64) << 20;  // extra per-slice gradient buffers
constexpr int64_t kSuffixBytes = int64_t(128) << 10;       // per-task [N, W] suffix buffer (L2-sized)
constexpr int64_t kMinTaskWork = int64_t(1) << 16;         // multiply-adds worth a task

// Smallest flat position b * N + n whose index is out of range (INT64_MAX: none).
struct BadIndex {
  std::atomic<int64_t> pos{std::numeric_limits<int64_t>::max()};
  void record(int64_t p) {
    int64_t cur = pos.load(std::memory_order_relaxed);
    while (p < cur && !pos.compare_exchange_weak(cur, p, std::memory_order_relaxed)) {
    }
  }
};

void raise_bad_index(const char* op, const BadIndex& bad, const at::Tensor& indices, const std::vector<int64_t>& dims) {
  const int64_t p = bad.pos.load();
  if (p == std::numeric_limits<int64_t>::max()) return;
  const int64_t n_modes = static_cast<int64_t>(dims.size());
  const int64_t b = p / n_modes, n = p % n_modes;
  TORCH_CHECK_INDEX(false, op, ": indices[", b, ", ", n, "] = ", indices.data_ptr<int64_t>()[p],
                    " is out of range for factors[", n, "], which has ", dims[n], " rows");
}

template <typename scalar_t>
struct Factors {
  std::vector<const scalar_t*> ptr;
  std::vector<int64_t> dims;
  std::vector<at::Tensor> keep;  // contiguous copies, alive while ptr is used
};

template <typename scalar_t>
Factors<scalar_t> gather_factors(at::TensorList factors) {
  Factors<scalar_t> f;
  for (const at::Tensor& t : factors) {
    f.keep.push_back(t.contiguous());
    f.ptr.push_back(f.keep.back().template data_ptr<scalar_t>());
    f.dims.push_back(t.size(0));
  }
  return f;
}

// W > 0: the rank is the compile-time constant W (small ranks, padded to W by the caller), so the
// per-mode row loops are fixed-length and vectorise without remainder handling.
template <typename scalar_t, int W>
at::Tensor forward_impl(at::TensorList factors, const at::Tensor& indices_in) {
  using acc_t = double;  // the sum over r (products stay in scalar_t, as in the definition)
  const at::Tensor indices = indices_in.contiguous();
  const int64_t B = indices.size(0), N = indices.size(1), R = W > 0 ? W : factors[0].size(1);
  const auto f = gather_factors<scalar_t>(factors);
  at::Tensor out = at::empty({B}, factors[0].options());
  const int64_t* idx = indices.data_ptr<int64_t>();
  scalar_t* o = out.data_ptr<scalar_t>();
  BadIndex bad;
  const int64_t grain = std::max<int64_t>(1, kMinTaskWork / (N * R));
  at::parallel_for(0, B, grain, [&](int64_t b0, int64_t b1) {
    std::vector<scalar_t> acc(R);
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t* ib = idx + b * N;
      std::fill(acc.begin(), acc.end(), scalar_t(1));
      bool ok = true;
      for (int64_t n = 0; n < N; ++n) {
        const int64_t i = ib[n];
        if (!kernels::index_ok(i, f.dims[n])) {
          bad.record(b * N + n);
          ok = false;
          break;
        }
        kernels::cp_mul_row(acc.data(), f.ptr[n] + i * R, R);
      }
      acc_t s = 0;
      if (ok) {
        for (int64_t r = 0; r < R; ++r) s += acc[r];
      }
      o[b] = static_cast<scalar_t>(s);
    }
  });
  raise_bad_index("cp_eval", bad, indices, f.dims);
  return out;
}

template <typename scalar_t, int W>
std::vector<at::Tensor> backward_impl(const at::Tensor& grad_in, at::TensorList factors, const at::Tensor& indices_in) {
  const at::Tensor indices = indices_in.contiguous(), grad = grad_in.contiguous();
  const int64_t B = indices.size(0), N = indices.size(1), R = W > 0 ? W : factors[0].size(1);
  const auto f = gather_factors<scalar_t>(factors);
  const int64_t* idx = indices.data_ptr<int64_t>();
  const scalar_t* g = grad.data_ptr<scalar_t>();

  std::vector<at::Tensor> grads;
  std::vector<int64_t> offset(N + 1, 0);  // mode n's elements start at offset[n] in a slice buffer
  for (int64_t n = 0; n < N; ++n) {
    grads.push_back(at::zeros({f.dims[n], R}, factors[0].options()));
    offset[n + 1] = offset[n] + f.dims[n] * R;
  }
  const int64_t F = offset[N];
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  const int64_t work = B * N * R;

  // Slices of the batch (each with its own gradient buffer) and strips of columns.
  int64_t slices = std::min<int64_t>(threads, 1 + kBufferBudgetBytes / (F * int64_t(sizeof(scalar_t))));
  slices = std::clamp<int64_t>(std::min(slices, work / kMinTaskWork), 1, std::max<int64_t>(B, 1));
  int64_t width = std::clamp<int64_t>(kSuffixBytes / (N * int64_t(sizeof(scalar_t))), 16, R);
  if (slices * ((R + width - 1) / width) < threads && work >= threads * kMinTaskWork) {
    const int64_t want = (threads + slices - 1) / slices;  // strips per slice to fill the threads
    width = std::min(width, std::max<int64_t>(16, (R + want - 1) / want));
  }
  width = W > 0 ? W : std::min(width, R);
  const int64_t strips = (R + width - 1) / width;

  at::Tensor extra;  // slices 1.. accumulate here: [slices - 1, F]
  if (slices > 1) extra = at::zeros({slices - 1, F}, factors[0].options());
  std::vector<scalar_t*> out_ptr(N);
  for (int64_t n = 0; n < N; ++n) out_ptr[n] = grads[n].data_ptr<scalar_t>();

  BadIndex bad;
  at::parallel_for(0, slices * strips, 1, [&](int64_t t0, int64_t t1) {
    std::vector<scalar_t> suffix(N * width), prefix(width);
    std::vector<scalar_t*> dst(N);
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t slice = task / strips, strip = task % strips;
      const int64_t r0 = strip * width, w = W > 0 ? W : std::min(width, R - r0);
      const int64_t b_begin = B * slice / slices, b_end = B * (slice + 1) / slices;
      for (int64_t n = 0; n < N; ++n) {
        dst[n] = slice == 0 ? out_ptr[n] : extra.data_ptr<scalar_t>() + (slice - 1) * F + offset[n];
      }
      for (int64_t b = b_begin; b < b_end; ++b) {
        const int64_t* ib = idx + b * N;
        // Suffix pass (also validates every index of item b before anything is written).
        bool ok = true;
        scalar_t* s_last = suffix.data() + (N - 1) * width;
        std::fill(s_last, s_last + w, scalar_t(1));
        for (int64_t n = N - 1; n >= 0; --n) {
          if (!kernels::index_ok(ib[n], f.dims[n])) {
            bad.record(b * N + n);
            ok = false;
            break;
          }
          if (n == 0) break;
          const scalar_t* row = f.ptr[n] + ib[n] * R + r0;
          const scalar_t* s_next = suffix.data() + n * width;
          scalar_t* s = suffix.data() + (n - 1) * width;
          for (int64_t r = 0; r < w; ++r) s[r] = s_next[r] * row[r];
        }
        if (!ok) continue;
        // Prefix pass: gradient of mode n, then extend the prefix by mode n.
        std::fill(prefix.begin(), prefix.begin() + w, scalar_t(1));
        const scalar_t gb = g[b];
        for (int64_t n = 0; n < N; ++n) {
          kernels::cp_add_grad(dst[n] + ib[n] * R + r0, gb, prefix.data(), suffix.data() + n * width, w);
          if (n + 1 < N) kernels::cp_mul_row(prefix.data(), f.ptr[n] + ib[n] * R + r0, w);
        }
      }
    }
  });
  raise_bad_index("cp_eval_backward", bad, indices, f.dims);

  if (slices > 1) {
    const scalar_t* e = extra.data_ptr<scalar_t>();
    for (int64_t n = 0; n < N; ++n) {
      scalar_t* o = out_ptr[n];
      const int64_t size = f.dims[n] * R, base = offset[n];
      at::parallel_for(0, size, 4096, [&](int64_t e0, int64_t e1) {
        for (int64_t s = 1; s < slices; ++s) {
          const scalar_t* src = e + (s - 1) * F + base;
          for (int64_t k = e0; k < e1; ++k) o[k] += src[k];
        }
      });
    }
  }
  return grads;
}

// Small ranks run with a compile-time width: R in {8, 16, 32} directly, other R <= 32 after padding
// every factor with zero columns to the next of those widths (zero columns add 0 to the sum and get
// zero gradients, which are cut off again). Padding copies the factors, so it is used only when
// that copy is small next to the B * N * R work.
int padded_width(at::TensorList factors, int64_t batch) {
  const int64_t R = factors[0].size(1);
  if (R > 32) return 0;
  const int W = R <= 8 ? 8 : (R <= 16 ? 16 : 32);
  if (W == R) return W;
  int64_t rows = 0;
  for (const at::Tensor& f : factors) rows += f.size(0);
  return rows * W <= batch * static_cast<int64_t>(factors.size()) * R / 4 ? W : 0;
}

std::vector<at::Tensor> pad_columns(at::TensorList factors, int64_t W) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& f : factors) {
    if (f.size(1) == W) {
      out.push_back(f);
      continue;
    }
    at::Tensor p = at::zeros({f.size(0), W}, f.options());
    p.narrow(1, 0, f.size(1)).copy_(f);
    out.push_back(p);
  }
  return out;
}

template <typename scalar_t>
at::Tensor forward_dispatch(at::TensorList factors, const at::Tensor& indices) {
  const int W = padded_width(factors, indices.size(0));
  if (W == 0) return forward_impl<scalar_t, 0>(factors, indices);
  const auto padded = pad_columns(factors, W);
  if (W == 8) return forward_impl<scalar_t, 8>(padded, indices);
  if (W == 16) return forward_impl<scalar_t, 16>(padded, indices);
  return forward_impl<scalar_t, 32>(padded, indices);
}

template <typename scalar_t>
std::vector<at::Tensor> backward_dispatch(const at::Tensor& grad, at::TensorList factors, const at::Tensor& indices) {
  const int W = padded_width(factors, indices.size(0));
  if (W == 0) return backward_impl<scalar_t, 0>(grad, factors, indices);
  const auto padded = pad_columns(factors, W);
  std::vector<at::Tensor> grads = W == 8    ? backward_impl<scalar_t, 8>(grad, padded, indices)
                                  : W == 16 ? backward_impl<scalar_t, 16>(grad, padded, indices)
                                            : backward_impl<scalar_t, 32>(grad, padded, indices);
  const int64_t R = factors[0].size(1);
  if (R == W) return grads;
  for (at::Tensor& g : grads) g = g.narrow(1, 0, R).contiguous();
  return grads;
}

at::Tensor cp_eval_cpu(at::TensorList factors, const at::Tensor& indices) {
  check_cp_eval_args("cp_eval", factors, indices);
  TORCH_CHECK_VALUE(factors[0].device().is_cpu(), "cp_eval (CPU): tensors must be on the CPU");
  return AT_DISPATCH_FLOATING_TYPES(factors[0].scalar_type(), "cp_eval_cpu",
                                    [&] { return forward_dispatch<scalar_t>(factors, indices); });
}

std::vector<at::Tensor> cp_eval_backward_cpu(const at::Tensor& grad, at::TensorList factors,
                                             const at::Tensor& indices) {
  check_cp_eval_args("cp_eval_backward", factors, indices, &grad);
  TORCH_CHECK_VALUE(factors[0].device().is_cpu(), "cp_eval_backward (CPU): tensors must be on the CPU");
  return AT_DISPATCH_FLOATING_TYPES(factors[0].scalar_type(), "cp_eval_backward_cpu",
                                    [&] { return backward_dispatch<scalar_t>(grad, factors, indices); });
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) {
  m.impl("cp_eval", &cp_eval_cpu);
  m.impl("cp_eval_backward", &cp_eval_backward_cpu);
}

}  // namespace rankcore::ops
