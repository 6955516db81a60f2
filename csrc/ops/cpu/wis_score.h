// The singleton scores of (L-1)-WIS at L = 2 and L = 3 in closed form, and the removal key built from them
// (docs/definitions.md §2): the one source every path reads them from: closed_walk_counts, the 1-WIS / 2-WIS
// greedy and the walk engine's keys, and (through the op rankcore::wis_removal_key, csrc/ops/wis_key.cpp) the
// distributed protocol (python/rankcore/distributed/protocol.py).
//   (Â^2)_tt = deg(t) + 1,   (Â^3)_tt = 2·tri(t) + 3·deg(t) + 1,   s_t = (Â^L)_tt, or 0 when t is isolated.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace rankcore::ops::cpu {

// (Â^L)_tt for L = 2 or 3 from deg(t) and (L = 3) tri(t); 1 at an isolated vertex.
inline int64_t closed_walks_l2(int64_t deg) { return deg + 1; }
inline int64_t closed_walks_l3(int64_t deg, int64_t tri) { return 2 * tri + 3 * deg + 1; }

// The singleton score s_t at L = 3: (Â^3)_tt, or 0 when t is isolated.
inline int64_t singleton_score_l3(int64_t deg, int64_t tri) { return deg == 0 ? 0 : closed_walks_l3(deg, tri); }
inline int64_t singleton_score_l2(int64_t deg) { return deg == 0 ? 0 : closed_walks_l2(deg); }

// D_e as (score value, signed count) pairs, ascending by value, counts non-zero.
using ScoreDelta = std::vector<std::pair<int64_t, int32_t>>;

// -1 when removing the edge with delta `a` leaves a lexicographically larger sorted score vector than removing
// the edge with delta `b` (a is better), +1 when b's is larger, 0 when the deltas are equal. One walk where a
// strict order needs both delta_better(a, b) and delta_better(b, a).
inline int delta_compare(const ScoreDelta& a, const ScoreDelta& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  const bool a_end = i == a.size(), b_end = i == b.size();
  if (a_end && b_end) return 0;
  const int64_t va = a_end ? INT64_MAX : a[i].first, vb = b_end ? INT64_MAX : b[i].first;
  const int64_t v = std::min(va, vb);
  const int32_t ca = va == v ? a[i].second : 0, cb = vb == v ? b[i].second : 0;
  return ca < cb ? -1 : (cb < ca ? 1 : 0);
}

// True when removing the edge with delta `a` leaves a lexicographically larger sorted score vector
// than removing the edge with delta `b`.
inline bool delta_better(const ScoreDelta& a, const ScoreDelta& b) { return delta_compare(a, b) < 0; }

// Sorts raw (value, ±1) entries by value, merges equal values and drops zero counts.
inline void normalize_delta(ScoreDelta& d) {
  std::sort(d.begin(), d.end());
  size_t out = 0;
  for (size_t i = 0; i < d.size();) {
    int64_t v = d[i].first;
    int32_t c = 0;
    for (; i < d.size() && d[i].first == v; ++i) c += d[i].second;
    if (c != 0) d[out++] = {v, c};
  }
  d.resize(out);
}

// One entry of D_e encoded so that comparing encodings lexicographically (tag, value, count) compares keys as
// delta_better does at the first entry where they differ: tag 0 = a negative count at `value` (the smaller the
// value the better), 2 = a positive count (value stored negated: the larger the value the better); a key that
// has ended sorts as tag 1. The walk engine's queue prefixes and the distributed protocol's keys use it.
struct KeyEntry {
  int64_t tag, value, count;
};
inline KeyEntry encode_entry(const std::pair<int64_t, int32_t>& entry) {
  const auto [value, count] = entry;
  return count < 0 ? KeyEntry{0, value, count} : KeyEntry{2, -value, count};
}

// Key pairs at L = 3, given each vertex's current score s = singleton_score_l3(deg, tri) (the walk engine keeps
// them): an endpoint of a removed edge with c common neighbours loses the edge and c triangles (s -> 0 when it
// becomes isolated); each common neighbour loses one triangle: s(deg, tri - 1) = s - 2 (its deg >= 2).
inline void push_endpoint_pair_l3(ScoreDelta& key, int64_t deg, int64_t tri, int64_t c, int64_t s) {
  key.push_back({singleton_score_l3(deg - 1, tri - c), +1});
  key.push_back({s, -1});
}
inline void push_common_pair_l3(ScoreDelta& key, int64_t s) {
  key.push_back({s - 2, +1});
  key.push_back({s, -1});
}
// At L = 2 the key D_e of an edge {u, v} depends on deg(u) and deg(v) alone, and its order is that of
// (min degree, max degree), larger first (tests/ops/test_wis_key.py checks it against delta_better): the form
// the 1-WIS greedy (cpu/wis_greedy_cpu.cpp, packed) and the distributed rounds (ops/wis_rounds.cpp) compare.
struct DegreeKeyL2 {
  int64_t low, high;
  bool operator==(const DegreeKeyL2&) const = default;
  // Strictly better: removed first.
  bool better_than(const DegreeKeyL2& o) const { return low != o.low ? low > o.low : high > o.high; }
};
inline DegreeKeyL2 degree_key_l2(int64_t deg_u, int64_t deg_v) {
  return {std::min(deg_u, deg_v), std::max(deg_u, deg_v)};
}

inline int bits_for(uint64_t x) { return x == 0 ? 0 : 64 - __builtin_clzll(x); }

// A DegreeKeyL2 and an edge id (the tie rule: smaller first) in one uint64, ascending = removed first:
// (max_low - low), then (max_deg - high), then the id. Degrees only fall, so the initial maxima bound them for
// good; the 1-WIS greedy's radix heap and the distributed rounds' rank queue use it when it fits().
struct PackedDegreeKey {
  int64_t max_low, max_deg;
  int deg_bits, id_bits;
  PackedDegreeKey(int64_t max_low_, int64_t max_deg_, int64_t num_ids)
      : max_low(max_low_),
        max_deg(max_deg_),
        deg_bits(bits_for(static_cast<uint64_t>(max_deg_))),
        id_bits(bits_for(static_cast<uint64_t>(num_ids))) {}
  bool fits() const { return bits_for(static_cast<uint64_t>(max_low)) + deg_bits + id_bits <= 64; }
  uint64_t pack(int64_t low, int64_t high, int64_t id) const {
    return (static_cast<uint64_t>(max_low - low) << (deg_bits + id_bits)) |
           (static_cast<uint64_t>(max_deg - high) << id_bits) | static_cast<uint64_t>(id);
  }
  int64_t id(uint64_t packed) const { return static_cast<int64_t>(packed & ((uint64_t{1} << id_bits) - 1)); }
  DegreeKeyL2 key(uint64_t packed) const {
    return {max_low - static_cast<int64_t>(packed >> (deg_bits + id_bits)),
            max_deg - static_cast<int64_t>((packed >> id_bits) & ((uint64_t{1} << deg_bits) - 1))};
  }
};

// At L = 2 an endpoint loses one edge (s -> 0 when it becomes isolated).
inline void push_endpoint_pair_l2(ScoreDelta& key, int64_t deg) {
  key.push_back({singleton_score_l2(deg - 1), +1});
  key.push_back({singleton_score_l2(deg), -1});
}

// D_e at L = 3 of removing {u, v} from the (deg, tri) of u, v and the c common neighbours w_1..w_c (index 0, 1 the
// endpoints, then the common neighbours), sorted and merged: the op rankcore::wis_removal_key and the distributed
// 2-WIS rounds (ops/wis_rounds_l3.cpp) build it here.
inline ScoreDelta removal_delta_l3(const int64_t* deg, const int64_t* tri, size_t count) {
  ScoreDelta key;
  key.reserve(2 * count);
  const int64_t c = static_cast<int64_t>(count) - 2;
  for (size_t i = 0; i < count; ++i) {
    const int64_t s = singleton_score_l3(deg[i], tri[i]);
    if (i < 2) {
      push_endpoint_pair_l3(key, deg[i], tri[i], c, s);
    } else {
      push_common_pair_l3(key, s);
    }
  }
  normalize_delta(key);
  return key;
}

}  // namespace rankcore::ops::cpu
