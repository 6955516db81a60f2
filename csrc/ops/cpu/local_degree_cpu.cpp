// CPU implementation of rankcore::local_degree_exponents (schema and contract in ops/local_degree.cpp).
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <tuple>
#include <vector>

#include "ops/local_degree.h"

namespace rankcore::ops {
namespace {

std::tuple<at::Tensor, at::Tensor> local_degree_exponents_cpu(const at::Tensor& owner_t, const at::Tensor& other_t,
                                                              const at::Tensor& d_owner_t, const at::Tensor& d_other_t,
                                                              int64_t num_rows, int64_t first_row) {
  check_local_degree_args(owner_t, other_t, d_owner_t, d_other_t, num_rows, first_row);
  const at::Tensor owner_c = owner_t.contiguous(), other_c = other_t.contiguous();
  const at::Tensor d_owner_c = d_owner_t.contiguous(), d_other_c = d_other_t.contiguous();
  const int64_t* owner = owner_c.data_ptr<int64_t>();
  const int64_t* other = other_c.data_ptr<int64_t>();
  const int64_t* d_owner = d_owner_c.data_ptr<int64_t>();
  const int64_t* d_other = d_other_c.data_ptr<int64_t>();
  const int64_t p_all = owner_c.numel();

  // Counting sort of the ranked pairs by owner (input order kept within an owner).
  std::vector<int64_t> start(static_cast<size_t>(num_rows) + 1, 0);
  for (int64_t p = 0; p < p_all; ++p) {
    if (d_other[p] <= d_owner[p]) continue;
    const int64_t row = owner[p] - first_row;
    TORCH_CHECK_VALUE(0 <= row && row < num_rows, "local_degree_exponents: owner[", p, "] = ", owner[p],
                      " is outside [first_row, first_row + num_rows) = [", first_row, ", ", first_row + num_rows, ")");
    ++start[row + 1];
  }
  for (int64_t r = 0; r < num_rows; ++r) start[r + 1] += start[r];
  const int64_t ranked = start[num_rows];
  at::Tensor positions = at::empty({ranked}, owner_t.options());
  at::Tensor exponents = at::empty({ranked}, owner_t.options().dtype(at::kDouble));
  int64_t* pos = positions.data_ptr<int64_t>();
  double* expo = exponents.data_ptr<double>();
  {
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t p = 0; p < p_all; ++p) {
      if (d_other[p] > d_owner[p]) pos[fill[owner[p] - first_row]++] = p;
    }
  }
  // Per owner: neighbours by degree descending, then id ascending; rank r -> 1 - log(r) / log(d).
  at::parallel_for(0, num_rows, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t* first = pos + start[r];
      int64_t* last = pos + start[r + 1];
      if (first == last) continue;
      std::stable_sort(first, last, [&](int64_t a, int64_t b) {  // stable: repeated pairs keep input order
        if (d_other[a] != d_other[b]) return d_other[a] > d_other[b];
        return other[a] < other[b];
      });
      const int64_t d = d_owner[*first];
      const double log_d = d > 1 ? std::log(static_cast<double>(d)) : 0.0;
      for (int64_t k = 0; first + k < last; ++k) {
        expo[start[r] + k] = d > 1 ? 1.0 - std::log(static_cast<double>(k + 1)) / log_d : 1.0;
      }
    }
  });
  return {positions, exponents};
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) { m.impl("local_degree_exponents", &local_degree_exponents_cpu); }

}  // namespace rankcore::ops
