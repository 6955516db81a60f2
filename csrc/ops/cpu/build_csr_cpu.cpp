// CPU implementation of rankcore::build_csr (schema and contract in ops/build_csr.cpp).
//
// Rows are grouped in blocks of 2^shift consecutive rows (about 8k entries per block on average), so
// that every random access lands in a small, cache-resident range. Passes (T column chunks, T <= threads):
//   A  range check + entries per (chunk, block): T * (number of blocks) counters, in L1;
//   B  prefix sums: each chunk's write cursor in every block;
//   C  scatter by block (a few hundred write streams, not one random write per edge): a 12-byte
//      Pending entry (source, origin column or all ones for an added reverse, row within the block);
//      self-loop columns get slot -1;
//   D  per block, in a thread-local buffer: counting sort into rows, sort each row (insertion sort for
//      short rows), dedupe; the block's (already read) Pending words are overwritten by its unique
//      sources (its part of col) and one (origin column, index in the block's col) pair per input column;
//   E  rowptr = prefix sums of the unique counts;
//   F  col = the blocks' unique sources (memcpy), slot[origin] = the block's first position + index;
//   H  (without symmetrize) undirected: equal counts of entries below and above the diagonal, then the
//      lower entries (i in row j, i < j) are moved in order of j to the block of row i (as in C) and
//      each block is sorted into rows by a stable counting sort (in cache) and compared with the rows'
//      upper entries (j in row i, j > i): equal everywhere iff every edge has its reverse. A directed
//      graph under require_undirected then searches the input columns in order for the first whose
//      reverse is missing (error path only).
// Large fresh arrays ask for transparent huge pages (fewer page faults and TLB misses).
// RANKCORE_BUILD_PROFILE=1 prints each pass's wall time to stderr.
// Extra memory besides the outputs (rowptr 8n, col 4 nnz, slot 8m bytes): 12 bytes per entry (m entries,
// 2m with symmetrize) until F, a buffer of 8 bytes per entry of the largest block per thread in D, 8 bytes
// per entry below the diagonal in H (after the 12-byte entries are freed). In all at most 2.5x the
// edge_index bytes + 8n (a star's hub with symmetrize). At most 2^32 - 2 columns.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/scalar_tensor.h>
#include <torch/library.h>

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
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

// hist[t * nb + b] holds how many entries chunk t sends to block b. Replaces each count by chunk t's first
// position in block b (blocks in order, chunks in order within a block) and returns the block starts
// [nb + 1]: a counting sort's prefix over (block, chunk).
std::vector<int64_t> block_chunk_offsets(int64_t* hist, int64_t chunks, int64_t nb) {
  std::vector<int64_t> start(nb + 1, 0);
  for (int64_t b = 0; b < nb; ++b) {
    int64_t cursor = start[b];
    for (int64_t t = 0; t < chunks; ++t) {
      const int64_t count = hist[t * nb + b];
      hist[t * nb + b] = cursor;
      cursor += count;
    }
    start[b + 1] = cursor;
  }
  return start;
}

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

struct PhaseTimer {
  bool on = std::getenv("RANKCORE_BUILD_PROFILE") != nullptr;
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
  void operator()(const char* name) {
    if (!on) return;
    const auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "build_csr %-10s %8.1f ms\n", name,
                 std::chrono::duration<double, std::milli>(now - last).count());
    last = now;
  }
};

// Row boundaries of `parts` contiguous chunks of about equal rows + entries (rp[j] + j is increasing).
std::vector<int64_t> split_rows(const int64_t* rp, int64_t n, int64_t parts) {
  std::vector<int64_t> bounds(parts + 1, n);
  bounds[0] = 0;
  const int64_t total = rp[n] + n;
  for (int64_t c = 1; c < parts; ++c) {
    const int64_t goal = total * c / parts;
    int64_t lo = 0, hi = n;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (rp[mid] + mid < goal)
        lo = mid + 1;
      else
        hi = mid;
    }
    bounds[c] = std::max(lo, bounds[c - 1]);
  }
  return bounds;
}

// Sort a short row in place (most rows are short).
inline void insertion_sort(uint64_t* r, int64_t len) {
  for (int64_t a = 1; a < len; ++a) {
    const uint64_t x = r[a];
    int64_t b = a;
    for (; b > 0 && r[b - 1] > x; --b) r[b] = r[b - 1];
    r[b] = x;
  }
}

// Rows [row_lo, row_lo + R) of the graph on n vertices: every target must lie in that range (row v - row_lo)
// and every source in [0, n). The whole graph is row_lo = 0, R = n; only then may symmetrize or the symmetry
// check (H) run (a row range holds one side of its edges only: its undirected flag is not computed), and only
// then is the slot map made (build_csr_rows returns none: C, D and F skip its writes).
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> build(const int64_t* src, const int64_t* dst, int64_t m,
                                                                 int64_t n, bool symmetrize, bool require_undirected,
                                                                 int64_t row_lo, int64_t R) {
  const bool whole = row_lo == 0 && R == n;
  TORCH_CHECK(whole || (!symmetrize && !require_undirected), "build_csr: internal error (row range with symmetry)");
  PhaseTimer tick;
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  const int64_t T = std::clamp<int64_t>(m / 65536, 1, threads);
  auto col_lo = [&](int64_t t) { return m * t / T; };
  // Row blocks of 2^shift rows, about kBlockEntries entries each on average.
  constexpr int64_t kBlockEntries = 16384;
  const int64_t max_entries = std::max<int64_t>(1, symmetrize ? 2 * m : m);
  int shift = 0;
  while (shift < 20 && (int64_t(2) << shift) * max_entries <= kBlockEntries * std::max<int64_t>(R, 1)) ++shift;
  const int64_t NB = (R + (int64_t(1) << shift) - 1) >> shift;
  auto block_row = [&](int64_t b) { return std::min(R, b << shift); };
  auto bhist = std::make_unique<int64_t[]>(static_cast<size_t>(T * NB) + 1);  // zeroed

  // A: range check + entries per (column chunk, row block).
  std::vector<int64_t> first_bad(T, std::numeric_limits<int64_t>::max());
  at::parallel_for(0, T, 1, [&](int64_t tb, int64_t te) {
    for (int64_t t = tb; t < te; ++t) {
      int64_t* bh = bhist.get() + t * NB;
      for (int64_t c = col_lo(t), hi = col_lo(t + 1); c < hi; ++c) {
        const int64_t u = src[c], v = dst[c];
        if (static_cast<uint64_t>(u) >= static_cast<uint64_t>(n) ||
            static_cast<uint64_t>(v - row_lo) >= static_cast<uint64_t>(R)) {
          first_bad[t] = c;
          break;
        }
        if (u == v) continue;
        ++bh[(v - row_lo) >> shift];
        if (symmetrize) ++bh[u >> shift];
      }
    }
  });
  const int64_t bad = *std::min_element(first_bad.begin(), first_bad.end());
  TORCH_CHECK_VALUE(bad == std::numeric_limits<int64_t>::max() || !whole, "edge_index column ", bad, " (", src[bad],
                    " -> ", dst[bad], ") has a vertex index outside [0, ", n, ") (num_nodes=", n, ")");
  TORCH_CHECK_VALUE(bad == std::numeric_limits<int64_t>::max(), "edge_index column ", bad, " (", src[bad], " -> ",
                    dst[bad], ") has a source outside [0, ", n, ") or a target outside the rows [", row_lo, ", ",
                    row_lo + R, ") (num_nodes=", n, ")");
  tick("A hist");

  // B: block starts; each chunk's cursor per block (in bhist).
  const std::vector<int64_t> bstart = block_chunk_offsets(bhist.get(), T, NB);
  const int64_t E = bstart[NB];
  tick("B prefix");

  // C: move every entry to its block (in chunk order): source, origin column (kNoOrigin for an added
  // reverse), row within the block. Self-loop columns get slot -1 here.
  struct Pending {
    uint32_t source, origin, row;
  };
  constexpr uint32_t kNoOrigin = 0xffffffffu;
  const uint32_t row_mask = static_cast<uint32_t>((int64_t(1) << shift) - 1);
  auto pend = std::unique_ptr<Pending[]>(new Pending[static_cast<size_t>(E) + 1]);
  at::Tensor slot = at::empty({whole ? m : 0}, at::TensorOptions().dtype(at::kLong));
  int64_t* slot_p = whole ? slot.data_ptr<int64_t>() : nullptr;
  advise_huge(pend.get(), static_cast<size_t>(E) * sizeof(Pending));
  if (whole) advise_huge(slot_p, static_cast<size_t>(m) * sizeof(int64_t));
  at::parallel_for(0, T, 1, [&](int64_t tb, int64_t te) {
    for (int64_t t = tb; t < te; ++t) {
      int64_t* bc = bhist.get() + t * NB;
      for (int64_t c = col_lo(t), hi = col_lo(t + 1); c < hi; ++c) {
        const int64_t u = src[c], v = dst[c];
        if (u == v) {
          if (whole) slot_p[c] = -1;
          continue;
        }
        pend[bc[(v - row_lo) >> shift]++] =
            Pending{static_cast<uint32_t>(u), static_cast<uint32_t>(c), static_cast<uint32_t>(v - row_lo) & row_mask};
        if (symmetrize) {
          pend[bc[u >> shift]++] = Pending{static_cast<uint32_t>(v), kNoOrigin, static_cast<uint32_t>(u) & row_mask};
        }
      }
    }
  });
  bhist.reset();
  tick("C scatter");

  // D: per block (all in cache): a counting sort into rows in a local buffer (entry = source << 32 |
  // origin), then per row: sort, count the unique sources. The block's Pending entries, all read by then,
  // are overwritten (as uint32 words, 3 per entry) by its unique sources row after row (its part of col)
  // and by one (origin, index among those unique sources) pair per input column.
  at::Tensor rowptr = at::empty({R + 1}, at::TensorOptions().dtype(at::kLong));
  int64_t* rp = rowptr.data_ptr<int64_t>();  // unique counts at rp[j + 1] until E
  std::vector<int64_t> forward(NB, 0);       // input columns per block
  auto words = [&](int64_t b) { return reinterpret_cast<uint32_t*>(pend.get() + bstart[b]); };
  const std::vector<int64_t> bchunks = cpu::balanced_row_chunks(bstart.data(), NB, 65536, 16);
  for_row_chunks(bchunks, [&](int64_t, int64_t bb, int64_t be) {
    std::vector<uint64_t> buf;
    std::vector<int64_t> rs;
    for (int64_t b = bb; b < be; ++b) {
      const int64_t r0 = block_row(b), rows = block_row(b + 1) - r0, len_b = bstart[b + 1] - bstart[b];
      if (static_cast<int64_t>(buf.size()) < len_b) buf.resize(len_b);
      rs.assign(rows + 1, 0);
      const Pending* pb = pend.get() + bstart[b];
      for (int64_t k = 0; k < len_b; ++k) ++rs[pb[k].row + 1];
      for (int64_t r = 0; r < rows; ++r) rs[r + 1] += rs[r];
      for (int64_t k = 0; k < len_b; ++k) {
        const Pending x = pb[k];
        buf[rs[x.row]++] = (static_cast<uint64_t>(x.source) << 32) | x.origin;
      }
      // rs[r] is now the end of row r
      uint32_t* out = words(b);       // unique sources: words [0, u)
      uint32_t* pairs = out + len_b;  // (origin, index) pairs: words [len_b, len_b + 2f), 2f <= 2 len_b
      int64_t u = 0, f = 0;
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t lo = r ? rs[r - 1] : 0, len = rs[r] - lo;
        uint64_t* row = buf.data() + lo;
        if (len <= 24)
          insertion_sort(row, len);
        else
          std::sort(row, row + len);
        const int64_t u0 = u;
        uint64_t prev = ~uint64_t(0);
        for (int64_t k = 0; k < len; ++k) {
          const uint64_t hiw = row[k] >> 32;
          const uint32_t o = static_cast<uint32_t>(row[k]);
          if (hiw != prev) out[u++] = static_cast<uint32_t>(hiw);
          prev = hiw;
          if (whole && o != kNoOrigin) {
            pairs[2 * f] = o;
            pairs[2 * f + 1] = static_cast<uint32_t>(u - 1);
            ++f;
          }
        }
        rp[r0 + r + 1] = u - u0;
      }
      forward[b] = f;
    }
  });
  tick("D sort");

  // E: rowptr.
  rp[0] = 0;
  for (int64_t j = 0; j < R; ++j) rp[j + 1] += rp[j];
  const int64_t nnz = rp[R];
  tick("E rowptr");

  // F: col (each block's unique sources) and the slots (the block's first CSR position + the index).
  at::Tensor col = at::empty({nnz}, at::TensorOptions().dtype(at::kInt));
  int32_t* cp = col.data_ptr<int32_t>();
  advise_huge(cp, static_cast<size_t>(nnz) * sizeof(int32_t));
  for_row_chunks(bchunks, [&](int64_t, int64_t bb, int64_t be) {
    for (int64_t b = bb; b < be; ++b) {
      const int64_t c0 = rp[block_row(b)], u = rp[block_row(b + 1)] - c0;
      const uint32_t* w = words(b);
      std::memcpy(cp + c0, w, static_cast<size_t>(u) * sizeof(int32_t));
      const uint32_t* pr = w + (bstart[b + 1] - bstart[b]);
      for (int64_t k = 0; k < forward[b]; ++k) slot_p[pr[2 * k]] = c0 + pr[2 * k + 1];
    }
  });
  pend.reset();
  tick("F col");

  // H: symmetry (without symmetrize): for every row i, the sources j > i in row i (its upper entries)
  // must be exactly the rows j > i whose sources include i. The lower entries (i in row j, i < j) are
  // moved, in order of j, to the block of row i (chunks of rows in order, as in C), then each block is
  // sorted into rows by a stable counting sort (so each row's list is increasing in j) and compared
  // with the rows' upper entries. Mismatched totals skip the move.
  bool undirected = whole;
  if (whole && !symmetrize && nnz) {
    const std::vector<int64_t> rchunks = split_rows(rp, n, T);
    std::vector<int64_t> below(T, 0), above(T, 0);
    auto th = std::make_unique<int64_t[]>(static_cast<size_t>(T * NB) + 1);  // zeroed
    at::parallel_for(0, T, 1, [&](int64_t tb, int64_t te) {
      for (int64_t t = tb; t < te; ++t) {
        int64_t* h = th.get() + t * NB;
        int64_t lo = 0;
        for (int64_t j = rchunks[t]; j < rchunks[t + 1]; ++j) {
          for (int64_t e = rp[j]; e < rp[j + 1] && cp[e] < j; ++e) ++h[cp[e] >> shift], ++lo;
        }
        below[t] = lo;
        above[t] = rp[rchunks[t + 1]] - rp[rchunks[t]] - lo;
      }
    });
    int64_t lower = 0, upper = 0;
    for (int64_t t = 0; t < T; ++t) lower += below[t], upper += above[t];
    undirected = lower == upper;
    if (undirected && lower) {
      const std::vector<int64_t> tstart = block_chunk_offsets(th.get(), T, NB);
      // entry: row within the block << 32 | j
      auto tr = std::unique_ptr<uint64_t[]>(new uint64_t[static_cast<size_t>(lower)]);
      advise_huge(tr.get(), static_cast<size_t>(lower) * sizeof(uint64_t));
      at::parallel_for(0, T, 1, [&](int64_t tb, int64_t te) {
        for (int64_t t = tb; t < te; ++t) {
          int64_t* h = th.get() + t * NB;
          for (int64_t j = rchunks[t]; j < rchunks[t + 1]; ++j) {
            for (int64_t e = rp[j]; e < rp[j + 1] && cp[e] < j; ++e) {
              const int32_t i = cp[e];
              tr[h[i >> shift]++] =
                  (static_cast<uint64_t>(static_cast<uint32_t>(i) & row_mask) << 32) | static_cast<uint64_t>(j);
            }
          }
        }
      });
      th.reset();
      std::atomic<bool> missing{false};
      const std::vector<int64_t> hchunks = cpu::balanced_row_chunks(tstart.data(), NB, 65536, 16);
      for_row_chunks(hchunks, [&](int64_t, int64_t bb, int64_t be) {
        std::vector<uint32_t> buf;
        std::vector<int64_t> rs;
        for (int64_t b = bb; b < be && !missing.load(std::memory_order_relaxed); ++b) {
          const int64_t r0 = block_row(b), rows = block_row(b + 1) - r0, len_b = tstart[b + 1] - tstart[b];
          if (static_cast<int64_t>(buf.size()) < len_b) buf.resize(len_b);
          rs.assign(rows + 1, 0);
          const uint64_t* pb = tr.get() + tstart[b];
          for (int64_t k = 0; k < len_b; ++k) ++rs[(pb[k] >> 32) + 1];
          for (int64_t r = 0; r < rows; ++r) rs[r + 1] += rs[r];
          for (int64_t k = 0; k < len_b; ++k) buf[rs[pb[k] >> 32]++] = static_cast<uint32_t>(pb[k]);
          for (int64_t r = 0; r < rows; ++r) {  // rs[r]: the end of row r's list
            const int64_t i = r0 + r, lo = r ? rs[r - 1] : 0, len = rs[r] - lo;
            const int32_t* first = std::upper_bound(cp + rp[i], cp + rp[i + 1], static_cast<int32_t>(i));
            if (cp + rp[i + 1] - first != len ||
                std::memcmp(first, buf.data() + lo, static_cast<size_t>(len) * sizeof(int32_t)) != 0) {
              missing.store(true, std::memory_order_relaxed);
              break;
            }
          }
        }
      });
      undirected = !missing.load();
    }
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
  tick("H sym");
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
  return build(src, dst, m, num_nodes, symmetrize, require_undirected, 0, num_nodes);
}

std::tuple<at::Tensor, at::Tensor> build_csr_rows_cpu(const at::Tensor& edge_index, int64_t num_nodes,
                                                      int64_t first_row, int64_t num_rows) {
  check_build_csr_args(edge_index, num_nodes);
  TORCH_CHECK_VALUE(first_row >= 0 && num_rows >= 0 && first_row + num_rows <= num_nodes,
                    "build_csr_rows: the rows [first_row, first_row + num_rows) = [", first_row, ", ",
                    first_row + num_rows, ") must lie in [0, num_nodes = ", num_nodes, ")");
  const at::Tensor ei = edge_index.contiguous();
  const int64_t m = ei.size(1);
  const int64_t* src = ei.data_ptr<int64_t>();
  const int64_t* dst = src + m;
  TORCH_CHECK_VALUE(m < 0xffffffffLL, "build_csr_rows: at most 2^32 - 2 edge columns are supported, got ", m);
  auto [rowptr, col, undirected, slot] = build(src, dst, m, num_nodes, false, false, first_row, num_rows);
  return {rowptr, col};
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) {
  m.impl("build_csr", &build_csr_cpu);
  m.impl("build_csr_rows", &build_csr_rows_cpu);
}

}  // namespace rankcore::ops
