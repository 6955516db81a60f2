// A distributed rank's own edges and extended positions, as the native WIS rounds hold them
// (ops/wis_rounds.cpp for 1-WIS, ops/wis_rounds_l3.cpp for 2-WIS; python/rankcore/distributed/protocol.py).
//
// The rank owns the vertices [lo, hi) and the edges (u, v), u < v, with u own; its halo is the ascending ids of the
// other endpoints outside [lo, hi). Extended positions: own vertex x at x - lo, then the halo in order.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace rankcore::ops::cpu {

// `t` as a contiguous int64 CPU tensor of `dim` dimensions, else ValueError naming `what` (prefixed by `op`).
inline at::Tensor rank_long_tensor(const at::Tensor& t, const char* op, const char* what, int64_t dim) {
  TORCH_CHECK_VALUE(t.device().is_cpu() && t.scalar_type() == at::kLong && t.dim() == dim, op, ": ", what,
                    " must be a ", dim, "-D int64 CPU tensor, got ", t.scalar_type(), " of shape ", t.sizes(), " on ",
                    t.device());
  return t.contiguous();
}

struct RankEdges {
  int64_t lo = 0, hi = 0;
  std::vector<int64_t> halo;          // ascending global ids
  std::vector<int64_t> u, v, pu, pv;  // edge i = (u[i], v[i]) and its endpoints' extended positions
  std::vector<int64_t> first;         // own vertex x: its edges are [first[x - lo], first[x - lo + 1])

  // edges [m, 2] sorted by (u, v), distinct, u own, v own or halo; ValueError (prefixed by `op`) otherwise.
  RankEdges(const at::Tensor& edges, const at::Tensor& halo_ids, int64_t lo_, int64_t hi_, const char* op)
      : lo(lo_), hi(hi_) {
    TORCH_CHECK_VALUE(0 <= lo && lo <= hi, op, ": need 0 <= lo <= hi, got ", lo, " and ", hi);
    const at::Tensor e = rank_long_tensor(edges, op, "edges", 2), h = rank_long_tensor(halo_ids, op, "halo_ids", 1);
    TORCH_CHECK_VALUE(e.size(1) == 2, op, ": edges must have shape [m, 2], got ", e.sizes());
    halo.assign(h.data_ptr<int64_t>(), h.data_ptr<int64_t>() + h.numel());
    for (size_t i = 0; i < halo.size(); ++i) {
      TORCH_CHECK_VALUE((i == 0 || halo[i - 1] < halo[i]) && (halo[i] < lo || halo[i] >= hi), op,
                        ": halo_ids must be ascending, distinct and outside [lo, hi)");
    }
    const int64_t m = e.size(0);
    const int64_t* ep = e.data_ptr<int64_t>();
    u.resize(m), v.resize(m), pu.resize(m), pv.resize(m);
    first.assign(static_cast<size_t>(hi - lo + 1), 0);
    for (int64_t i = 0; i < m; ++i) {
      const int64_t a = ep[2 * i], b = ep[2 * i + 1];
      TORCH_CHECK_VALUE(lo <= a && a < hi && a < b, op, ": edge ", i, " = (", a, ", ", b,
                        ") is not an own edge (lo <= u < hi, u < v)");
      TORCH_CHECK_VALUE(i == 0 || u[i - 1] < a || (u[i - 1] == a && v[i - 1] < b), op,
                        ": edges must be sorted by (u, v) and distinct");
      const std::optional<int64_t> p = position(b);
      TORCH_CHECK_VALUE(p.has_value(), op, ": endpoint ", b, " of edge ", i, " is neither own nor halo");
      u[i] = a, v[i] = b, pu[i] = a - lo, pv[i] = *p;
      ++first[a - lo + 1];
    }
    for (size_t x = 1; x < first.size(); ++x) first[x] += first[x - 1];
  }

  int64_t size() const { return static_cast<int64_t>(u.size()); }
  int64_t num_extended() const { return (hi - lo) + static_cast<int64_t>(halo.size()); }

  // The extended position of global id x, if it is own or halo.
  std::optional<int64_t> position(int64_t x) const {
    if (lo <= x && x < hi) return x - lo;
    const auto it = std::lower_bound(halo.begin(), halo.end(), x);
    if (it == halo.end() || *it != x) return std::nullopt;
    return (hi - lo) + (it - halo.begin());
  }

  // The own edge {a, b}, if any.
  std::optional<int64_t> id_of(int64_t a, int64_t b) const {
    const int64_t x = std::min(a, b), y = std::max(a, b);
    if (x < lo || x >= hi) return std::nullopt;
    const auto begin = v.begin() + first[x - lo], end = v.begin() + first[x - lo + 1];
    const auto it = std::lower_bound(begin, end, y);
    if (it == end || *it != y) return std::nullopt;
    return it - v.begin();
  }
};

}  // namespace rankcore::ops::cpu
