// The singleton scores of (L-1)-WIS at L = 2 and L = 3 in closed form (docs/definitions.md §2), the one source
// every CPU path reads them from: closed_walk_counts, the 1-WIS / 2-WIS greedy and the walk engine's keys.
//   (Â^2)_tt = deg(t) + 1,   (Â^3)_tt = 2·tri(t) + 3·deg(t) + 1,   s_t = (Â^L)_tt, or 0 when t is isolated.
// The distributed protocol (python/rankcore/distributed/sparsify.py, _score) restates the same formula in
// Python; tests/distributed compare its orders with these.
#pragma once

#include <cstdint>

namespace rankcore::ops::cpu {

// (Â^L)_tt for L = 2 or 3 from deg(t) and (L = 3) tri(t); 1 at an isolated vertex.
inline int64_t closed_walks_l2(int64_t deg) { return deg + 1; }
inline int64_t closed_walks_l3(int64_t deg, int64_t tri) { return 2 * tri + 3 * deg + 1; }

// The singleton score s_t at L = 3: (Â^3)_tt, or 0 when t is isolated.
inline int64_t singleton_score_l3(int64_t deg, int64_t tri) { return deg == 0 ? 0 : closed_walks_l3(deg, tri); }

}  // namespace rankcore::ops::cpu
