// A distributed rank's own edges and extended positions, as the native WIS rounds hold them
// (ops/wis_rounds.cpp for 1-WIS, ops/wis_rounds_l3.cpp for 2-WIS; python/rankcore/distributed/protocol.py).
//
// The rank owns the vertices [lo, hi) and, by one of two rules, edges (u, v), u < v, with an own endpoint; its halo
// is the ascending ids of the other endpoints outside [lo, hi). Extended positions: own vertex x at x - lo, then
// the halo in order. The rules (EdgeOwnership):
//   * kSmallerEndpoint (2-WIS): the rank of u owns (u, v). Its replay of a round needs its own vertices' rows.
//   * kSplitCrossEdges (1-WIS): an edge inside a rank is that rank's; an edge between two ranks is owned by the rank
//     of u when u + v is even, of v when it is odd (cross_edge_owned_by_smaller). With the smaller-endpoint rule the
//     rank of the smaller ids owned every edge between two ranks: 75% of the edges of the 1M-column power-law graph
//     on rank 0 of 2, which proposed for half as long again while rank 1 waited.
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

enum class EdgeOwnership { kSmallerEndpoint, kSplitCrossEdges };

// kSplitCrossEdges: is the edge {u, v}, u < v, whose endpoints lie on different ranks, owned by the rank of u?
// (python/rankcore/distributed/protocol.py selects the same edges; RankEdges checks every edge it is given.)
inline bool cross_edge_owned_by_smaller(int64_t u, int64_t v) { return ((u + v) & 1) == 0; }

struct RankEdges {
  int64_t lo = 0, hi = 0;
  EdgeOwnership ownership = EdgeOwnership::kSmallerEndpoint;
  std::vector<int64_t> halo;          // ascending global ids
  std::vector<int64_t> u, v, pu, pv;  // edge i = (u[i], v[i]) and its endpoints' extended positions
  std::vector<int64_t> first;         // kSmallerEndpoint: own vertex x's edges are [first[x - lo], first[x - lo + 1])
  std::vector<int64_t> run_begin, run_end;  // kSplitCrossEdges: the edges with u at extended position p

  // edges [m, 2] sorted by (u, v), distinct, u < v, owned by the rule, both endpoints own or halo; ValueError
  // (prefixed by `op`) otherwise.
  RankEdges(const at::Tensor& edges, const at::Tensor& halo_ids, int64_t lo_, int64_t hi_, const char* op,
            EdgeOwnership rule = EdgeOwnership::kSmallerEndpoint)
      : lo(lo_), hi(hi_), ownership(rule) {
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
    const bool by_smaller = ownership == EdgeOwnership::kSmallerEndpoint;
    if (by_smaller) first.assign(static_cast<size_t>(hi - lo + 1), 0);
    for (int64_t i = 0; i < m; ++i) {
      const int64_t a = ep[2 * i], b = ep[2 * i + 1];
      TORCH_CHECK_VALUE(a < b && owns(a, b), op, ": edge ", i, " = (", a, ", ", b, ") is not an own edge (",
                        by_smaller ? "lo <= u < hi, u < v" : "u < v, inside [lo, hi) or owned by the cross-edge rule",
                        ")");
      TORCH_CHECK_VALUE(i == 0 || u[i - 1] < a || (u[i - 1] == a && v[i - 1] < b), op,
                        ": edges must be sorted by (u, v) and distinct");
      const std::optional<int64_t> p = position(a), q = position(b);
      TORCH_CHECK_VALUE(p.has_value(), op, ": endpoint ", a, " of edge ", i, " is neither own nor halo");
      TORCH_CHECK_VALUE(q.has_value(), op, ": endpoint ", b, " of edge ", i, " is neither own nor halo");
      u[i] = a, v[i] = b, pu[i] = *p, pv[i] = *q;
      if (by_smaller) ++first[a - lo + 1];
    }
    for (size_t x = 1; x < first.size(); ++x) first[x] += first[x - 1];
    if (!by_smaller) {  // (u, v) order: the edges of one u are contiguous
      run_begin.assign(static_cast<size_t>(num_extended()), 0);
      run_end.assign(static_cast<size_t>(num_extended()), 0);
      for (int64_t i = m - 1; i >= 0; --i) {
        if (i == m - 1 || u[i + 1] != u[i]) run_end[pu[i]] = i + 1;
        run_begin[pu[i]] = i;
      }
    }
  }

  bool is_own(int64_t x) const { return lo <= x && x < hi; }

  // Whether the edge {a, b} is this rank's under its rule (whether or not it exists).
  bool owns(int64_t a, int64_t b) const {
    const int64_t x = std::min(a, b), y = std::max(a, b);
    if (ownership == EdgeOwnership::kSmallerEndpoint) return is_own(x);
    if (is_own(x) && is_own(y)) return true;
    if (is_own(x)) return cross_edge_owned_by_smaller(x, y);
    return is_own(y) && !cross_edge_owned_by_smaller(x, y);
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
    if (!owns(x, y)) return std::nullopt;
    auto begin = v.begin(), end = v.begin();
    if (ownership == EdgeOwnership::kSmallerEndpoint) {
      begin += first[x - lo], end += first[x - lo + 1];
    } else {  // the run of u == x in the (u, v) order
      const std::optional<int64_t> p = position(x);
      if (!p) return std::nullopt;
      begin += run_begin[*p], end += run_end[*p];
    }
    const auto it = std::lower_bound(begin, end, y);
    if (it == end || *it != y) return std::nullopt;
    return it - v.begin();
  }
};

}  // namespace rankcore::ops::cpu
