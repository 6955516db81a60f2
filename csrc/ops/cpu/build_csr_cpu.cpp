// CPU implementation of rankcore::build_csr (schema and contract in ops/build_csr.cpp).
//
// Passes (T column chunks, T <= threads):
//   A  range check + in-degree histogram of the entries (non-loop columns, plus their reverses with
//      symmetrize): one histogram per chunk when T * n int64 fit in the edge_index bytes, else one
//      shared histogram with relaxed atomic increments;
//   B  prefix sums: each chunk's write cursor in every row;
//   C  scatter: one uint64 entry (source << 32 | origin column; all ones for an added reverse) per edge
//      into its row;
//   D  per row (rows split into chunks of equal rows + entries): sort the entries (insertion sort for
//      short rows), count the unique sources and give each origin column its rank in the row; the order
//      within a row before the sort does not matter, so the atomic scatter's order is harmless (the
//      output is deterministic);
//   E  rowptr = prefix sums of the unique counts; F the unique sources into col; G slot += rowptr[target];
//   H  (without symmetrize) undirected: every entry i -> j with i < j finds j in row i (binary search)
//      and the counts of entries below and above the diagonal agree (then the map (i, j) -> (j, i) is a
//      bijection). A directed graph under require_undirected then searches the input columns in order
//      for the first whose reverse is missing (error path only).
// Extra memory: 8 bytes per entry (m entries, 2m with symmetrize), histograms at most the edge_index
// bytes, then the outputs col and slot: at most 3x the edge_index bytes in all. At most 2^32 - 2 columns.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/scalar_tensor.h>
#include <torch/library.h>

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "ops/build_csr.h"
#include "ops/cpu/row_chunks.h"

namespace rankcore::ops {
namespace {

template <typename F>
void for_row_chunks(const std::vector<int64_t>& bounds, const F& f) {
  const int64_t chunks = static_cast<int64_t>(bounds.size()) - 1;
  at::parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) f(c, bounds[c], bounds[c + 1]);
  });
}

// The big scatter target is written at random: transparent huge pages where allowed (fewer TLB misses).
void advise_huge(void* p, size_t bytes) {
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  const auto begin = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (begin + kHuge - 1) & ~(kHuge - 1);
  if (begin + bytes > aligned + kHuge) {
    madvise(reinterpret_cast<void*>(aligned), (begin + bytes - aligned) & ~(kHuge - 1), MADV_HUGEPAGE);
  }
}

bool row_contains(const int64_t* rowptr, const int32_t* col, int64_t row, int32_t value) {
  const int32_t* first = col + rowptr[row];
  const int32_t* last = col + rowptr[row + 1];
  const int32_t* it = std::lower_bound(first, last, value);
  return it != last && *it == value;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> build(const int64_t* src, const int64_t* dst, int64_t m,
                                                                  int64_t n, bool symmetrize,
                                                                  bool require_undirected) {
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  const int64_t T = std::clamp<int64_t>(m / 65536, 1, threads);
  const bool per_chunk = T == 1 || T * n <= 2 * m;  // T histograms of n int64 <= the edge_index bytes
  const int64_t H = per_chunk ? T : 1;
  auto hist = std::make_unique<int64_t[]>(static_cast<size_t>(H * n) + 1);  // zeroed
  auto col_lo = [&](int64_t t) { return m * t / T; };

  // A: range check + histogram.
  std::vector<int64_t> first_bad(T, std::numeric_limits<int64_t>::max());
  at::parallel_for(0, T, 1, [&](int64_t tb, int64_t te) {
    for (int64_t t = tb; t < te; ++t) {
      int64_t* h = per_chunk ? hist.get() + t * n : hist.get();
      for (int64_t c = col_lo(t), hi = col_lo(t + 1); c < hi; ++c) {
        const int64_t u = src[c], v = dst[c];
        if (static_cast<uint64_t>(u) >= static_cast<uint64_t>(n) ||
            static_cast<uint64_t>(v) >= static_cast<uint64_t>(n)) {
          first_bad[t] = c;
          break;
        }
        if (u == v) continue;
        if (per_chunk) {
          ++h[v];
          if (symmetrize) ++h[u];
        } else {
          std::atomic_ref<int64_t>(h[v]).fetch_add(1, std::memory_order_relaxed);
          if (symmetrize) std::atomic_ref<int64_t>(h[u]).fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
  });
  const int64_t bad = *std::min_element(first_bad.begin(), first_bad.end());
  TORCH_CHECK_VALUE(bad == std::numeric_limits<int64_t>::max(), "edge_index column ", bad, " (", src[bad], " -> ",
                    dst[bad], ") has a vertex index outside [0, ", n, ") (num_nodes=", n, ")");

  // B: row starts of the entries, then each chunk's cursor per row (in hist).
  auto start = std::make_unique<int64_t[]>(static_cast<size_t>(n) + 1);
  start[0] = 0;
  for (int64_t j = 0; j < n; ++j) {
    int64_t total = 0;
    for (int64_t t = 0; t < H; ++t) total += hist[t * n + j];
    start[j + 1] = start[j] + total;
  }
  at::parallel_for(0, n, 4096, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) {
      int64_t cursor = start[j];
      for (int64_t t = 0; t < H; ++t) {
        const int64_t count = hist[t * n + j];
        hist[t * n + j] = cursor;
        cursor += count;
      }
    }
  });
  const int64_t E = start[n];

  // C: scatter. Entry = source << 32 | origin column (kNoOrigin for an added reverse).
  constexpr uint64_t kNoOrigin = 0xffffffffu;
  auto ent = std::unique_ptr<uint64_t[]>(new uint64_t[static_cast<size_t>(E) + 1]);
  advise_huge(ent.get(), static_cast<size_t>(E) * sizeof(uint64_t));
  at::parallel_for(0, T, 1, [&](int64_t tb, int64_t te) {
    for (int64_t t = tb; t < te; ++t) {
      int64_t* h = per_chunk ? hist.get() + t * n : hist.get();
      for (int64_t c = col_lo(t), hi = col_lo(t + 1); c < hi; ++c) {
        const int64_t u = src[c], v = dst[c];
        if (u == v) continue;
        const int64_t p = per_chunk ? h[v]++ : std::atomic_ref<int64_t>(h[v]).fetch_add(1, std::memory_order_relaxed);
        ent[p] = (static_cast<uint64_t>(u) << 32) | static_cast<uint64_t>(c);
        if (symmetrize) {
          const int64_t q =
              per_chunk ? h[u]++ : std::atomic_ref<int64_t>(h[u]).fetch_add(1, std::memory_order_relaxed);
          ent[q] = (static_cast<uint64_t>(v) << 32) | kNoOrigin;
        }
      }
    }
  });
  hist.reset();

  // D: sort each row (by source, then origin), count the unique sources; slot = rank within the row.
  at::Tensor slot = at::empty({m}, at::TensorOptions().dtype(at::kLong));
  int64_t* slot_p = slot.data_ptr<int64_t>();
  auto uniq = std::make_unique<int64_t[]>(static_cast<size_t>(n) + 1);
  const std::vector<int64_t> rbounds = cpu::balanced_row_chunks(start.get(), n, 8192, 16);
  for_row_chunks(rbounds, [&](int64_t, int64_t rb, int64_t re) {
    for (int64_t j = rb; j < re; ++j) {
      uint64_t* r = ent.get() + start[j];
      const int64_t len = start[j + 1] - start[j];
      if (len <= 24) {  // insertion sort: most rows are short
        for (int64_t a = 1; a < len; ++a) {
          const uint64_t x = r[a];
          int64_t b = a;
          for (; b > 0 && r[b - 1] > x; --b) r[b] = r[b - 1];
          r[b] = x;
        }
      } else {
        std::sort(r, r + len);
      }
      int64_t rank = -1;
      uint64_t prev = ~uint64_t(0);
      for (int64_t k = 0; k < len; ++k) {
        const uint64_t hiw = r[k] >> 32, o = r[k] & kNoOrigin;
        rank += hiw != prev;
        prev = hiw;
        if (o != kNoOrigin) slot_p[o] = rank;
      }
      uniq[j] = rank + 1;
    }
  });

  // E: rowptr.
  at::Tensor rowptr = at::empty({n + 1}, at::TensorOptions().dtype(at::kLong));
  int64_t* rp = rowptr.data_ptr<int64_t>();
  rp[0] = 0;
  for (int64_t j = 0; j < n; ++j) rp[j + 1] = rp[j] + uniq[j];
  uniq.reset();
  const int64_t nnz = rp[n];

  // F: col (the unique sources of each sorted row).
  at::Tensor col = at::empty({nnz}, at::TensorOptions().dtype(at::kInt));
  int32_t* cp = col.data_ptr<int32_t>();
  for_row_chunks(rbounds, [&](int64_t, int64_t rb, int64_t re) {
    for (int64_t j = rb; j < re; ++j) {
      int32_t* out = cp + rp[j];
      uint64_t prev = ~uint64_t(0);
      for (int64_t k = start[j]; k < start[j + 1]; ++k) {
        const uint64_t hiw = ent[k] >> 32;
        if (hiw != prev) *out++ = static_cast<int32_t>(hiw);
        prev = hiw;
      }
    }
  });
  ent.reset();
  start.reset();

  // G: absolute slots.
  at::parallel_for(0, m, 65536, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) slot_p[c] = src[c] == dst[c] ? -1 : slot_p[c] + rp[dst[c]];
  });

  // H: symmetry.
  bool undirected = true;
  if (!symmetrize && nnz) {
    const std::vector<int64_t> bounds = cpu::balanced_row_chunks(rp, n, 8192, 16);
    std::atomic<bool> missing{false};
    std::vector<int64_t> below(bounds.size(), 0), above(bounds.size(), 0);
    for_row_chunks(bounds, [&](int64_t c, int64_t rb, int64_t re) {
      int64_t lo = 0, hi = 0;
      for (int64_t j = rb; j < re && !missing.load(std::memory_order_relaxed); ++j) {
        for (int64_t e = rp[j]; e < rp[j + 1]; ++e) {
          const int32_t i = cp[e];
          if (i < j) {
            ++lo;
            if (!row_contains(rp, cp, i, static_cast<int32_t>(j))) {
              missing.store(true, std::memory_order_relaxed);
              break;
            }
          } else {
            ++hi;
          }
        }
      }
      below[c] = lo;
      above[c] = hi;
    });
    int64_t lo = 0, hi = 0;
    for (size_t c = 0; c < below.size(); ++c) lo += below[c], hi += above[c];
    undirected = !missing.load() && lo == hi;
    if (require_undirected && !undirected) {
      std::vector<int64_t> first(T, std::numeric_limits<int64_t>::max());
      at::parallel_for(0, T, 1, [&](int64_t tb, int64_t te) {
        for (int64_t t = tb; t < te; ++t) {
          for (int64_t c = col_lo(t), end = col_lo(t + 1); c < end; ++c) {
            if (src[c] != dst[c] && !row_contains(rp, cp, src[c], static_cast<int32_t>(dst[c]))) {
              first[t] = c;
              break;
            }
          }
        }
      });
      const int64_t c = *std::min_element(first.begin(), first.end());
      TORCH_CHECK(c != std::numeric_limits<int64_t>::max(), "build_csr: internal error in the symmetry check");
      const int64_t u = src[c], v = dst[c];
      TORCH_CHECK_VALUE(false, "the graph must be undirected, but edge_index column ", c, " (", u, " -> ", v,
                        ") has no reverse edge (", v, " -> ", u,
                        "); pass symmetrize=True to add the missing directions");
    }
  }
  return {rowptr, col, at::scalar_tensor(undirected, at::TensorOptions().dtype(at::kBool)), slot};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> build_csr_cpu(const at::Tensor& edge_index,
                                                                         int64_t num_nodes, bool symmetrize,
                                                                         bool require_undirected) {
  check_build_csr_args(edge_index, num_nodes);
  const at::Tensor ei = edge_index.contiguous();
  const int64_t m = ei.size(1);
  const int64_t* src = ei.data_ptr<int64_t>();
  const int64_t* dst = src + m;
  TORCH_CHECK_VALUE(m < 0xffffffffLL, "build_csr: at most 2^32 - 2 edge columns are supported, got ", m);
  return build(src, dst, m, num_nodes, symmetrize, require_undirected);
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) {
  m.impl("build_csr", &build_csr_cpu);
}

}  // namespace rankcore::ops
