// The WIS singleton score and removal key of cpu/wis_score.h as ops, for the distributed protocol
// (python/rankcore/distributed/protocol.py), so that it reads the same source as the native greedy:
//
//   wis_removal_key(depth, deg, tri) -> int[]
//     The key D_e of removing the edge {u, v} (docs/definitions.md §2) at depth L = 2 or 3, from deg = [deg(u),
//     deg(v), deg(w_1), ...] and (L = 3) tri likewise, w_i the c common neighbours of u and v (L = 2: no common
//     neighbours; tri may be empty). Returned as the flat (tag, value, count) triples of encode_entry, ascending
//     by score value: comparing two such sequences lexicographically, with an ended sequence as the triple
//     (1, ...), compares the keys (the smaller removes first, before ties by (u, v)).
//   wis_singleton_scores(deg, tri, depth) -> Tensor
//     s_t (definitions §2) of every entry of the int64 tensors deg and (L = 3) tri, elementwise. CPU only.
//
// Both check their values: a removal key needs deg >= 1 at u and v, tri >= c there, and deg >= 2, tri >= 1 at
// a common neighbour (else ValueError; such a state would not come from a graph).
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty_like.h>
#include <c10/util/Exception.h>
#include <torch/library.h>

#include <cstdint>
#include <vector>

#include "ops/cpu/wis_score.h"

namespace rankcore::ops {
namespace {

std::vector<int64_t> wis_removal_key(int64_t depth, c10::ArrayRef<int64_t> deg, c10::ArrayRef<int64_t> tri) {
  TORCH_CHECK_VALUE(depth == 2 || depth == 3, "wis_removal_key: depth must be 2 or 3, got ", depth);
  TORCH_CHECK_VALUE(deg.size() >= 2,
                    "wis_removal_key: deg must hold deg(u), deg(v) and the common neighbours' "
                    "degrees, got ",
                    deg.size(), " values");
  const int64_t c = static_cast<int64_t>(deg.size()) - 2;
  if (depth == 2) {
    TORCH_CHECK_VALUE(c == 0, "wis_removal_key: depth 2 takes deg = [deg(u), deg(v)], got ", deg.size(), " values");
  } else {
    TORCH_CHECK_VALUE(tri.size() == deg.size(), "wis_removal_key: tri must have one value per entry of deg (",
                      deg.size(), "), got ", tri.size());
  }
  for (size_t i = 0; i < deg.size(); ++i) {
    const bool endpoint = i < 2;
    TORCH_CHECK_VALUE(deg[i] >= (endpoint ? 1 : 2), "wis_removal_key: deg[", i, "] = ", deg[i], " is below ",
                      endpoint ? "1 at an endpoint of the edge" : "2 at a common neighbour");
    if (depth == 3) {
      TORCH_CHECK_VALUE(tri[i] >= (endpoint ? c : 1), "wis_removal_key: tri[", i, "] = ", tri[i], " is below ",
                        endpoint ? "the common-neighbour count " + std::to_string(c) : std::string("1"),
                        " (the triangles through the edge)");
    }
  }
  cpu::ScoreDelta key;
  if (depth == 2) {
    cpu::push_endpoint_pair_l2(key, deg[0]);
    cpu::push_endpoint_pair_l2(key, deg[1]);
    cpu::normalize_delta(key);
  } else {
    key = cpu::removal_delta_l3(deg.data(), tri.data(), deg.size());
  }
  std::vector<int64_t> flat;
  flat.reserve(3 * key.size());
  for (const auto& entry : key) {
    const cpu::KeyEntry e = cpu::encode_entry(entry);
    flat.insert(flat.end(), {e.tag, e.value, e.count});
  }
  return flat;
}

at::Tensor wis_singleton_scores_cpu(const at::Tensor& deg, const at::Tensor& tri, int64_t depth) {
  TORCH_CHECK_VALUE(depth == 2 || depth == 3, "wis_singleton_scores: depth must be 2 or 3, got ", depth);
  TORCH_CHECK_VALUE(deg.scalar_type() == at::kLong && tri.scalar_type() == at::kLong,
                    "wis_singleton_scores: deg and tri must be int64, got ", deg.scalar_type(), " and ",
                    tri.scalar_type());
  TORCH_CHECK_VALUE(depth == 2 || deg.sizes() == tri.sizes(),
                    "wis_singleton_scores: deg and tri must have one "
                    "shape at depth 3, got ",
                    deg.sizes(), " and ", tri.sizes());
  const at::Tensor d = deg.contiguous(), t = depth == 3 ? tri.contiguous() : tri;
  at::Tensor out = at::empty_like(d);
  const int64_t* dp = d.data_ptr<int64_t>();
  const int64_t* tp = depth == 3 ? t.data_ptr<int64_t>() : nullptr;
  int64_t* op = out.data_ptr<int64_t>();
  for (int64_t i = 0, n = d.numel(); i < n; ++i) {
    TORCH_CHECK_VALUE(dp[i] >= 0 && (depth == 2 || tp[i] >= 0),
                      "wis_singleton_scores: negative degree or "
                      "triangle count at position ",
                      i);
    op[i] = depth == 2 ? cpu::singleton_score_l2(dp[i]) : cpu::singleton_score_l3(dp[i], tp[i]);
  }
  return out;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.def("wis_removal_key(int depth, int[] deg, int[] tri) -> int[]", &wis_removal_key);
  m.def("wis_singleton_scores(Tensor deg, Tensor tri, int depth) -> Tensor");
}

TORCH_LIBRARY_IMPL(rankcore, CPU, m) { m.impl("wis_singleton_scores", &wis_singleton_scores_cpu); }

}  // namespace rankcore::ops
