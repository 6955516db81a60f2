// Host-side sorted-set intersection used by the CPU graph-structure ops and by exact WIS.
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <utility>

namespace rankcore::ops::cpu {

// |a ∩ b| for ascending, duplicate-free a (na entries) and b (nb entries). Merges when the lengths are
// comparable; when one row is much shorter (a leaf next to a hub), binary-searches its entries in the
// longer row instead: O(min · log(max)) rather than O(na + nb).
template <typename T>
int64_t sorted_intersection_size(const T* a, int64_t na, const T* b, int64_t nb) {
  if (na > nb) {
    std::swap(a, b);
    std::swap(na, nb);
  }
  if (na == 0) return 0;
  int64_t count = 0;
  if (na * 16 < nb) {
    const T* lo = b;
    const T* const end = b + nb;
    for (int64_t i = 0; i < na && lo != end; ++i) {
      lo = std::lower_bound(lo, end, a[i]);
      if (lo != end && *lo == a[i]) {
        ++count;
        ++lo;
      }
    }
    return count;
  }
  int64_t i = 0, j = 0;
  while (i < na && j < nb) {
    const T x = a[i], y = b[j];
    count += (x == y);
    i += (x <= y);
    j += (y <= x);
  }
  return count;
}

// counts[e] = |row(u) ∩ row(col[e])| for every slot e of row u, on a validated symmetric CSR. Each
// undirected edge is intersected once (from its smaller endpoint) and the count is mirrored into the
// reverse slot, found by binary search. Parallel over slot ranges of equal size (hubs do not serialise).
template <typename index_t>
void edge_common_neighbors_host(const int64_t* rowptr, const index_t* col, int64_t n, int64_t* counts) {
  const int64_t nnz = rowptr[n];
  at::parallel_for(0, nnz, 2048, [&](int64_t begin, int64_t end) {
    int64_t u = std::upper_bound(rowptr, rowptr + n + 1, begin) - rowptr - 1;
    for (int64_t e = begin; e < end; ++e) {
      while (rowptr[u + 1] <= e) ++u;
      const int64_t v = static_cast<int64_t>(col[e]);
      if (v < u) continue;  // written by the slot (v, u)
      const int64_t c = sorted_intersection_size(col + rowptr[u], rowptr[u + 1] - rowptr[u], col + rowptr[v],
                                                 rowptr[v + 1] - rowptr[v]);
      counts[e] = c;
      const index_t* rev = std::lower_bound(col + rowptr[v], col + rowptr[v + 1], static_cast<index_t>(u));
      counts[rev - col] = c;
    }
  });
}

}  // namespace rankcore::ops::cpu
