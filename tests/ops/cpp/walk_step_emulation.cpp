// Host replay of the CUDA walk_count step kernel's index arithmetic (csrc/ops/cuda/walk_count_kernel.cu),
// built and run by tests/test_walk_kernel_layout.py with the system C++ compiler: no GPU needed.
//
// The lanes of a tile are emulated as arrays; a shuffle reads the array at the source lane
// (__shfl_down_sync past the tile's width returns the lane's own value, as on the device). The layout
// (kernels::walk_layout, walk_bin, walk_lane_column / walk_lane_group / walk_source_lane, walk_grid),
// the segment binning, the three tile shapes (short tile, warp, block of kWalkWarps warps), the column
// blocks, the long-row chunks combined in chunk order and the error flags follow the kernel step by
// step, for int64 (saturating) and float64 counts, so an (edge, column) pair read twice or never, or a
// wrong flag, shows up against the direct sums below. Prints "ok <cases>" and exits 0 on success.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "kernels/walk_count.h"

namespace k = rankcore::kernels;

constexpr int kWarp = 32;
constexpr int64_t kChunk = 1024;  // ops::cuda::kLongRowChunk
constexpr int64_t kThreshold = 1024;

static int failures = 0;
#define CHECK(cond, ...)                 \
  do {                                   \
    if (!(cond)) {                       \
      std::printf("FAIL %s: ", #cond);   \
      std::printf(__VA_ARGS__);          \
      std::printf("\n");                 \
      if (++failures > 20) std::exit(1); \
    }                                    \
  } while (0)

template <typename Policy>
struct Emu {
  using acc_t = typename Policy::acc_t;
  using value_t = typename Policy::value_t;
  const std::vector<int64_t>& rowptr;
  const std::vector<int64_t>& col;
  const std::vector<value_t>& x;
  std::vector<value_t>& y;
  int64_t n, kk, threshold;
  k::WalkLayout lay;
  int64_t bad_col = -1;
  bool overflow = false;
  std::vector<int> reads;  // per (edge, column): how many lanes added it (per column block pass)

  void flag_bad(int64_t e) {
    if (bad_col < 0 || e < bad_col) bad_col = e;
  }

  // tile_sums: acc[q][u] for the L lanes
  std::vector<std::vector<acc_t>> tile_sums(int64_t e0, int64_t e1, int64_t cb, int L, int first, int stride) {
    const int W = lay.W, V = lay.V, G = L / W;
    CHECK(L % W == 0 && L <= kWarp && G >= 1, "tile L=%d W=%d", L, W);
    std::vector<std::vector<acc_t>> acc(L, std::vector<acc_t>(V, Policy::load(value_t(0))));
    for (int64_t base = e0 + int64_t(first) * L; base < e1; base += int64_t(stride) * L) {
      std::vector<int64_t> mine(L, -1);
      for (int q = 0; q < L; ++q) {
        const int64_t e = base + q;
        if (e < e1) {
          const int64_t i = col[e];
          if (i >= 0 && i < n)
            mine[q] = i;
          else if (cb == 0)
            flag_bad(e);
        }
      }
      for (int q = 0; q < L; ++q) {
        const int g = k::walk_lane_group(q, W);
        const int64_t c = cb + k::walk_lane_column(q, W, V);
        const bool active = c < kk;
        for (int t = 0; t < W; ++t) {
          const int src = k::walk_source_lane(t, g, G);
          CHECK(src >= 0 && src < L, "source lane %d of %d", src, L);
          const int64_t i = (L == 1) ? mine[q] : mine[src];
          if (active && i >= 0) {
            const int64_t e = base + src;
            for (int u = 0; u < V; ++u) {
              CHECK(c + u < kk, "column %lld past k=%lld", (long long)(c + u), (long long)kk);
              acc[q][u] = Policy::add(acc[q][u], Policy::load(x[i * kk + c + u]));
              ++reads[(e)*kk + c + u];
            }
          }
        }
      }
    }
    for (int off = L / 2; off >= W; off /= 2) {
      const auto old = acc;
      for (int q = 0; q < L; ++q)
        for (int u = 0; u < V; ++u) acc[q][u] = Policy::add(old[q][u], q + off < L ? old[q + off][u] : old[q][u]);
    }
    return acc;
  }

  void finish_row(int64_t j, int64_t c, std::vector<acc_t> acc) {
    for (int u = 0; u < lay.V; ++u) {
      acc[u] = Policy::add(acc[u], Policy::load(x[j * kk + c + u]));
      overflow |= Policy::overflowed(acc[u]);
      y[j * kk + c + u] = Policy::store(acc[u]);
    }
  }

  void tile_row(int64_t j, int64_t e0, int64_t e1, int L) {
    for (int64_t cb = 0; cb < kk; cb += lay.W * lay.V) {
      auto acc = tile_sums(e0, e1, cb, L, 0, 1);
      for (int q = 0; q < L; ++q) {
        const int64_t c = cb + k::walk_lane_column(q, lay.W, lay.V);
        if (k::walk_lane_group(q, lay.W) == 0 && c < kk) finish_row(j, c, acc[q]);
      }
    }
  }

  // block_sums: the totals of threads t < W
  std::vector<std::vector<acc_t>> block_sums(int64_t e0, int64_t e1, int64_t cb) {
    const int W = lay.W, V = lay.V;
    std::vector<acc_t> red(k::kWalkWarps * W * V);
    for (int w = 0; w < k::kWalkWarps; ++w) {
      auto acc = tile_sums(e0, e1, cb, kWarp, w, k::kWalkWarps);
      for (int q = 0; q < W; ++q)
        for (int u = 0; u < V; ++u) red[(w * W + q) * V + u] = acc[q][u];
    }
    std::vector<std::vector<acc_t>> out(W, std::vector<acc_t>(V));
    for (int t = 0; t < W; ++t) {
      for (int u = 0; u < V; ++u) out[t][u] = red[t * V + u];
      for (int w = 1; w < k::kWalkWarps; ++w)
        for (int u = 0; u < V; ++u) out[t][u] = Policy::add(out[t][u], red[(w * W + t) * V + u]);
    }
    return out;
  }

  void run(const std::vector<int64_t>& long_rows, int64_t max_chunks, int64_t max_blocks) {
    const k::WalkGrid gr = k::walk_grid(n, int64_t(long_rows.size()), max_chunks, max_blocks);
    CHECK(gr.seg_blocks <= max_blocks && gr.long_blocks <= max_blocks, "grid over the cap");
    const int64_t nnz = int64_t(col.size());
    std::vector<int> row_done(n, 0);
    for (int64_t b = 0; b < gr.seg_blocks; ++b) {
      for (int64_t seg = b; seg < gr.num_segments; seg += gr.seg_blocks) {
        const int64_t row0 = seg * k::kWalkSegmentRows;
        std::vector<int> lists[3];
        for (int t = 0; t < k::kWalkBlockThreads; ++t) {
          const int64_t j = row0 + t;
          if (j >= n) continue;
          const int64_t e0 = std::max<int64_t>(rowptr[j], 0), e1 = std::min<int64_t>(rowptr[j + 1], nnz);
          const int bin = k::walk_bin(e1 - e0, lay, threshold);
          if (bin != k::kWalkBinLong) lists[bin].push_back(t);
        }
        // the kernel's lists are filled by atomics in any order: process them reversed to show the
        // result does not depend on it
        for (auto& l : lists) std::reverse(l.begin(), l.end());
        for (int bin = 0; bin < 3; ++bin) {
          for (const int t : lists[bin]) {
            const int64_t j = row0 + t;
            ++row_done[j];
            const int64_t e0 = std::max<int64_t>(rowptr[j], 0), e1 = std::min<int64_t>(rowptr[j + 1], nnz);
            if (bin == k::kWalkBinShort) {
              CHECK(lay.Ls < kWarp && k::kWalkBlockThreads % lay.Ls == 0, "short tile Ls=%d", lay.Ls);
              tile_row(j, e0, e1, lay.Ls);
            } else if (bin == k::kWalkBinWarp) {
              tile_row(j, e0, e1, kWarp);
            } else {
              for (int64_t cb = 0; cb < kk; cb += lay.W * lay.V) {
                auto acc = block_sums(e0, e1, cb);
                for (int t2 = 0; t2 < lay.W; ++t2) {
                  const int64_t c = cb + int64_t(t2) * lay.V;
                  CHECK(c == cb + k::walk_lane_column(t2, lay.W, lay.V), "block column");
                  if (c < kk) finish_row(j, c, acc[t2]);
                }
              }
            }
          }
        }
      }
    }
    // long rows
    std::vector<acc_t> partial(long_rows.size() * max_chunks * kk);
    std::vector<int64_t> counters(long_rows.size(), 0);
    for (int64_t b = 0; b < gr.long_blocks; ++b) {
      for (int64_t item = b; item < gr.long_items; item += gr.long_blocks) {
        const int64_t r = item / max_chunks, chunk = item % max_chunks;
        const int64_t j = long_rows[r];
        const int64_t e0 = std::max<int64_t>(rowptr[j], 0), e1 = std::min<int64_t>(rowptr[j + 1], nnz);
        const int64_t chunks = (e1 - e0 + kChunk - 1) / kChunk;
        if (chunk >= chunks) continue;
        const int64_t c0 = e0 + chunk * kChunk, c1 = std::min(c0 + kChunk, e1);
        for (int64_t cb = 0; cb < kk; cb += lay.W * lay.V) {
          auto acc = block_sums(c0, c1, cb);
          for (int t = 0; t < lay.W; ++t) {
            const int64_t c = cb + int64_t(t) * lay.V;
            if (c < kk)
              for (int u = 0; u < lay.V; ++u) partial[(r * max_chunks + chunk) * kk + c + u] = acc[t][u];
          }
        }
        if (++counters[r] == chunks) {
          ++row_done[j];
          for (int64_t c = 0; c < kk; ++c) {
            acc_t a = Policy::load(x[j * kk + c]);
            for (int64_t ch = 0; ch < chunks; ++ch) a = Policy::add(a, partial[(r * max_chunks + ch) * kk + c]);
            overflow |= Policy::overflowed(a);
            y[j * kk + c] = Policy::store(a);
          }
          counters[r] = 0;
        }
      }
    }
    for (int64_t j = 0; j < n; ++j) CHECK(row_done[j] == 1, "row %lld written %d times", (long long)j, row_done[j]);
  }
};

struct Graph {
  int64_t n;
  std::vector<int64_t> rowptr, col;
};

// Rows of every bin: degrees 0..40, a few of 100-900 and (with hubs) of 1025..3000; some bad col entries.
static Graph make_graph(std::mt19937_64& rng, int64_t n, bool hubs, bool bad) {
  Graph g{n, {0}, {}};
  std::uniform_int_distribution<int64_t> pick(0, n - 1);
  for (int64_t j = 0; j < n; ++j) {
    int64_t deg = rng() % 41;
    if (rng() % 23 == 0) deg = 100 + rng() % 800;
    if (hubs && rng() % 97 == 0) deg = 1025 + rng() % 2000;
    for (int64_t e = 0; e < deg; ++e) g.col.push_back(pick(rng));
    g.rowptr.push_back(int64_t(g.col.size()));
  }
  if (bad) {
    for (int t = 0; t < 3; ++t) g.col[rng() % g.col.size()] = (t % 2 == 0) ? n + int64_t(rng() % 5) : -1;
  }
  return g;
}

template <typename Policy>
static int64_t check_case(std::mt19937_64& rng, const Graph& g, int64_t kk, bool aligned, bool use_plan,
                          int64_t max_blocks, bool big_values) {
  using value_t = typename Policy::value_t;
  using acc_t = typename Policy::acc_t;
  const int64_t n = g.n, nnz = int64_t(g.col.size());
  std::vector<value_t> x(n * kk), y(n * kk, value_t(-7));
  for (auto& v : x) v = big_values ? value_t(int64_t(rng() >> 4)) : value_t(int64_t(rng() % 1000));
  std::vector<int64_t> long_rows;
  int64_t max_chunks = 0;
  if (use_plan) {
    for (int64_t j = 0; j < n; ++j) {
      const int64_t d = g.rowptr[j + 1] - g.rowptr[j];
      if (d > kThreshold) {
        long_rows.push_back(j);
        max_chunks = std::max(max_chunks, (d + kChunk - 1) / kChunk);
      }
    }
  }
  const bool has_long = !long_rows.empty();
  Emu<Policy> emu{g.rowptr, g.col, x, y, n, kk, has_long ? kThreshold : INT64_MAX, k::walk_layout(kk, nnz, n, aligned)};
  const k::WalkLayout& lay = emu.lay;
  CHECK(lay.V == 1 || (kk >= 4 && aligned && kk % lay.V == 0), "vector width %d for k=%lld", lay.V, (long long)kk);
  CHECK(lay.W * lay.V >= std::min<int64_t>(kk, 32 * lay.V) && lay.W <= 32, "W=%d V=%d k=%lld", lay.W, lay.V,
        (long long)kk);
  CHECK(lay.Ls >= lay.W && lay.Ls <= 32 && 32 % lay.Ls == 0, "Ls=%d", lay.Ls);
  emu.reads.assign(nnz * kk, 0);
  emu.run(long_rows, max_chunks, max_blocks);
  // direct sums, every (edge, column) read exactly once
  int64_t bad_col = -1;
  bool overflow = false;
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t c = 0; c < kk; ++c) {
      acc_t a = Policy::load(x[j * kk + c]);
      for (int64_t e = g.rowptr[j]; e < g.rowptr[j + 1]; ++e) {
        const int64_t i = g.col[e];
        if (i < 0 || i >= n) {
          if (bad_col < 0) bad_col = e;
          CHECK(emu.reads[e * kk + c] == 0, "bad edge %lld read", (long long)e);
          continue;
        }
        CHECK(emu.reads[e * kk + c] == 1, "edge %lld column %lld read %d times (k=%lld V=%d W=%d Ls=%d)", (long long)e,
              (long long)c, emu.reads[e * kk + c], (long long)kk, lay.V, lay.W, lay.Ls);
        a = Policy::add(a, Policy::load(x[i * kk + c]));
      }
      overflow |= Policy::overflowed(a);
      if constexpr (std::is_floating_point_v<value_t>) {
        const double want = Policy::store(a), got = y[j * kk + c];
        CHECK(std::abs(got - want) <= 1e-12 * std::abs(want), "y[%lld,%lld] %g vs %g", (long long)j, (long long)c, got,
              want);
      } else {
        CHECK(y[j * kk + c] == Policy::store(a), "y[%lld,%lld] %lld vs %lld", (long long)j, (long long)c,
              (long long)y[j * kk + c], (long long)Policy::store(a));
      }
    }
  }
  CHECK(emu.bad_col == bad_col, "bad col %lld vs %lld", (long long)emu.bad_col, (long long)bad_col);
  CHECK(emu.overflow == overflow, "overflow flag %d vs %d", int(emu.overflow), int(overflow));
  return overflow ? 1 : 0;
}

int main() {
  std::mt19937_64 rng(15);
  int cases = 0;
  int64_t overflowed = 0;
  const int64_t ks[] = {1, 2, 3, 4, 5, 6, 8, 12, 16, 17, 32, 33, 64, 67, 128, 130};
  for (int rep = 0; rep < 2; ++rep) {
    const bool hubs = rep == 1;
    for (const int64_t n : {1, 37, 300, 700}) {
      const Graph g = make_graph(rng, n, hubs && n >= 300, false);
      for (const int64_t kk : ks) {
        if (kk > 33 && n > 300) continue;  // keep the replay quick
        for (const bool aligned : {true, false}) {
          const bool plan = hubs && (kk % 2 == 1 || aligned);
          check_case<k::ExactCount>(rng, g, kk, aligned, plan, kk % 3 == 0 ? 2 : 65535, false);
          check_case<k::FloatCount>(rng, g, kk, aligned, plan, 3, false);
          cases += 2;
        }
      }
    }
  }
  // saturation (int64) in short, warp, block and long rows, and bad col entries
  for (const int64_t kk : {1, 4, 6, 16, 64}) {
    const Graph g = make_graph(rng, 600, true, true);
    overflowed += check_case<k::ExactCount>(rng, g, kk, true, true, 65535, true);
    check_case<k::ExactCount>(rng, g, kk, true, true, 4, false);
    check_case<k::FloatCount>(rng, g, kk, kk != 6, true, 65535, false);
    cases += 3;
  }
  // an average degree that gives every short-tile width
  for (const int64_t deg : {1, 2, 3, 5, 9, 17, 40}) {
    Graph g{512, {0}, {}};
    for (int64_t j = 0; j < g.n; ++j) {
      for (int64_t e = 0; e < deg + int64_t(rng() % 3); ++e) g.col.push_back(int64_t(rng() % g.n));
      g.rowptr.push_back(int64_t(g.col.size()));
    }
    for (const int64_t kk : {1, 2, 4, 8}) {
      check_case<k::ExactCount>(rng, g, kk, true, false, 65535, false);
      ++cases;
    }
  }
  if (overflowed == 0) {
    std::printf("FAIL: no overflow case exercised\n");
    return 1;
  }
  if (failures) return 1;
  std::printf("ok %d\n", cases);
  return 0;
}
