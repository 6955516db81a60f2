// CPU implementation of rankcore::local_degree_exponents (schema and contract in ops/local_degree.cpp).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include "ops/csr_checks.h"
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
      for (int64_t k = 0; first + k < last; ++k) expo[start[r] + k] = local_degree_exponent(k + 1, d);
    }
  });
  return {positions, exponents};
}

template <typename index_t>
at::Tensor local_degree_scores_impl(const at::Tensor& rowptr_t, const at::Tensor& col_t, const at::Tensor& upper_t,
                                    const at::Tensor& mirror_t) {
  const int64_t n = rowptr_t.numel() - 1, nnz = col_t.numel(), m = upper_t.numel();
  const int64_t* rowptr = rowptr_t.data_ptr<int64_t>();
  const index_t* col = col_t.data_ptr<index_t>();
  const int64_t* upper = upper_t.data_ptr<int64_t>();
  const int64_t* mirror = mirror_t.data_ptr<int64_t>();
  check_host_rowptr(rowptr, n, nnz, "local_degree_scores");
  // The degrees in one array: one random read per slot instead of two of rowptr.
  std::vector<int64_t> deg(static_cast<size_t>(n));
  at::parallel_for(0, n, 1 << 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) deg[i] = rowptr[i + 1] - rowptr[i];
  });
  // Each slot (row i, col j) gets the exponent i gives j when i ranks j (deg j > deg i), else 0; an edge's score
  // is the larger of its two slots' (at most one is non-zero).
  std::vector<double> by_slot(static_cast<size_t>(nnz), 0.0);
  at::parallel_for(0, n, 2048, [&](int64_t begin, int64_t end) {
    std::vector<std::pair<int64_t, int64_t>> ranked;  // (-deg j, slot) of the slots row i ranks
    for (int64_t i = begin; i < end; ++i) {
      const int64_t d = deg[i];
      ranked.clear();
      for (int64_t s = rowptr[i]; s < rowptr[i + 1]; ++s) {
        const int64_t j = col[s];
        TORCH_CHECK_VALUE(0 <= j && j < n, "local_degree_scores: col[", s, "] = ", j, " is outside [0, num_nodes = ", n,
                          ")");
        if (deg[j] > d) ranked.push_back({-deg[j], s});
      }
      if (ranked.empty()) continue;
      // degree descending, then neighbour id ascending, whatever the order of the row
      std::sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
        return a.first != b.first ? a.first < b.first : col[a.second] < col[b.second];
      });
      for (size_t k = 0; k < ranked.size(); ++k) by_slot[ranked[k].second] = local_degree_exponent(k + 1, d);
    }
  });
  at::Tensor scores = at::empty({m}, upper_t.options().dtype(at::kDouble));
  double* out = scores.data_ptr<double>();
  at::parallel_for(0, m, 1 << 16, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) {
      TORCH_CHECK_VALUE(0 <= upper[e] && upper[e] < nnz && 0 <= mirror[e] && mirror[e] < nnz,
                        "local_degree_scores: the slots of edge ", e, " (", upper[e], ", ", mirror[e],
                        ") are outside [0, nnz = ", nnz, ")");
      out[e] = std::max(by_slot[upper[e]], by_slot[mirror[e]]);
    }
  });
  return scores;
}

at::Tensor local_degree_scores_cpu(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& upper,
                                   const at::Tensor& mirror) {
  check_local_degree_scores_args(rowptr, col, upper, mirror);
  const at::Tensor rowptr_c = rowptr.contiguous(), col_c = col.contiguous();
  const at::Tensor upper_c = upper.contiguous(), mirror_c = mirror.contiguous();
  return AT_DISPATCH_INDEX_TYPES(col_c.scalar_type(), "local_degree_scores_cpu",
                                 [&] { return local_degree_scores_impl<index_t>(rowptr_c, col_c, upper_c, mirror_c); });
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) {
  m.impl("local_degree_exponents", &local_degree_exponents_cpu);
  m.impl("local_degree_scores", &local_degree_scores_cpu);
}

}  // namespace rankcore::ops
