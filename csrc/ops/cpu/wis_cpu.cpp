// CPU implementation of rankcore::wis_greedy (exact WIS; see ops/wis.cpp).
//
// L = 2: a lazy max-heap of (min degree, max degree, -edge id). Degrees only decrease, so a popped entry
// whose stored key still equals the edge's current key is the true maximum (every other entry's
// current key is at most its stored key, which is at most the top's); a stale one is pushed back
// with its current key. Edge ids follow the lexicographic (u, v) order, so "smallest id" is the tie
// rule of DESIGN section 2. O((m + stale pops) log m), no dense matrix.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <cstdint>
#include <atomic>
#include <queue>
#include <vector>

#include "ops/cpu/radix_heap.h"
#include "ops/cpu/wis_walk_engine.h"
#include "ops/csr_checks.h"

namespace rankcore::ops {
namespace {

struct Entry {
  int64_t low, high, id;  // stored key: (min deg, max deg), then the edge id
  bool operator<(const Entry& o) const {  // "less urgent than": max-heap on (low, high), then min id
    if (low != o.low) return low < o.low;
    if (high != o.high) return high < o.high;
    return id > o.id;
  }
};

// Edges u < v in lexicographic order (edge id = rank in that order: the tie rule).
template <typename index_t>
void list_edges(const int64_t* rowptr, const index_t* col, int64_t n, std::vector<int32_t>& eu,
                std::vector<int32_t>& ev) {
  for (int64_t u = 0; u < n; ++u) {
    for (int64_t e = rowptr[u]; e < rowptr[u + 1]; ++e) {
      const int64_t v = static_cast<int64_t>(col[e]);
      if (v > u) {
        eu.push_back(static_cast<int32_t>(u));
        ev.push_back(static_cast<int32_t>(v));
      }
    }
  }
}

// Binary lazy max-heap: the general fallback when (low, high, id) does not pack into 64 bits.
void degree_greedy_binary_heap(std::vector<int64_t>& deg, const std::vector<int32_t>& eu,
                               const std::vector<int32_t>& ev, int64_t num_remove, int64_t* out,
                               std::atomic_ref<int64_t> progress) {
  const int64_t m = static_cast<int64_t>(eu.size());
  auto key = [&](int64_t id) {
    const int64_t a = deg[eu[id]], b = deg[ev[id]];
    return Entry{std::min(a, b), std::max(a, b), id};
  };
  std::vector<Entry> initial(m);
  for (int64_t id = 0; id < m; ++id) initial[id] = key(id);
  std::priority_queue<Entry> heap(std::less<Entry>(), std::move(initial));
  for (int64_t step = 0; step < num_remove; ++step) {
    while (true) {
      const Entry top = heap.top();
      heap.pop();
      const Entry now = key(top.id);
      if (now.low == top.low && now.high == top.high) {
        --deg[eu[top.id]];
        --deg[ev[top.id]];
        out[2 * step] = eu[top.id];
        out[2 * step + 1] = ev[top.id];
        break;
      }
      heap.push(now);  // stale: degrees dropped since it was pushed
    }
    if ((step & 1023) == 0) progress.store(step, std::memory_order_relaxed);
  }
}

int bits_for(uint64_t x) { return x == 0 ? 0 : 64 - __builtin_clzll(x); }

// Exact 1-WIS: repeatedly remove the edge with the largest (min deg, max deg), smallest id on ties.
//
// A lazy heap over edges re-pushes an edge every time a degree at it drops before it reaches the top; at
// hubs that is most of the work (70M stale pops for 5M removals). Instead every edge is filed under its
// "high" endpoint h (larger (degree, vertex id)), in a per-vertex max-heap ordered by the other
// endpoint's degree, then smallest id: all edges of one group share max deg = deg(h), so a hub losing
// degree changes one group key, not deg(h) edge keys. A global monotone radix heap holds one key per
// group, (low, high, id) of its top edge packed into a uint64, smaller = better. All keys are lazy and
// optimistic (stored >= true, degrees only fall):
//   * a group's top is re-validated before use: a stale low degree is refreshed in place; an edge whose
//     high side changed (h dropped below the other endpoint) moves to the other endpoint's group, which
//     gets a global entry with that edge's exact key;
//   * a popped global entry that still equals its group's validated top key is the true maximum (every
//     other edge's true key is at most its group's stored key, which is at most the popped one).
// Pushed keys are always exact keys of some edge, hence never better than the last popped one: the
// radix heap's monotonicity holds.
void degree_greedy(int64_t n, const std::vector<int32_t>& eu, const std::vector<int32_t>& ev, int64_t num_remove,
                   int64_t* out, std::atomic_ref<int64_t> progress) {
  const int64_t m = static_cast<int64_t>(eu.size());
  std::vector<int64_t> deg(n, 0);
  for (int64_t id = 0; id < m; ++id) ++deg[eu[id]], ++deg[ev[id]];
  const int64_t max_deg = n > 0 ? *std::max_element(deg.begin(), deg.end()) : 0;
  const int deg_bits = bits_for(static_cast<uint64_t>(max_deg)), id_bits = bits_for(static_cast<uint64_t>(m));
  if (2 * deg_bits + id_bits > 64 || m > INT32_MAX) {
    degree_greedy_binary_heap(deg, eu, ev, num_remove, out, progress);
    return;
  }
  // Global key, smaller = better: (max_deg - low), then (max_deg - high), then id.
  auto packed = [&](int64_t id, int64_t low, int64_t high) {
    return (static_cast<uint64_t>(max_deg - low) << (deg_bits + id_bits)) |
           (static_cast<uint64_t>(max_deg - high) << id_bits) | static_cast<uint64_t>(id);
  };
  // Group entries, larger = better: (stored low degree, then smallest id), with the other endpoint kept
  // next to the key so that re-validating a top costs one random read (its degree), not three.
  struct GroupEntry {
    uint64_t key;
    int32_t other;
    bool operator<(const GroupEntry& o) const { return key < o.key; }
  };
  auto entry = [](int64_t low, int64_t id, int64_t y) {
    return GroupEntry{(static_cast<uint64_t>(low) << 32) | (0xffffffffULL - static_cast<uint64_t>(id)),
                      static_cast<int32_t>(y)};
  };
  auto entry_low = [](const GroupEntry& e) { return static_cast<int64_t>(e.key >> 32); };
  auto entry_id = [](const GroupEntry& e) { return static_cast<int64_t>(0xffffffffULL - (e.key & 0xffffffffULL)); };
  auto is_high = [&](int64_t h, int64_t y) { return deg[h] != deg[y] ? deg[h] > deg[y] : h > y; };

  // Groups live in one flat array: a group only ever holds edges at its own vertex, so the vertex's
  // initial degree is its capacity (no per-vertex allocations, one indirection less per access).
  std::vector<int64_t> group_start(n + 1, 0);
  for (int64_t h = 0; h < n; ++h) group_start[h + 1] = group_start[h] + deg[h];
  std::vector<int32_t> group_size(n, 0);
  std::vector<GroupEntry> flat(static_cast<size_t>(group_start[n]));
  auto begin_of = [&](int64_t h) { return flat.data() + group_start[h]; };
  for (int64_t id = 0; id < m; ++id) {
    const bool u_high = is_high(eu[id], ev[id]);
    const int64_t h = u_high ? eu[id] : ev[id], y = u_high ? ev[id] : eu[id];
    begin_of(h)[group_size[h]++] = entry(deg[y], id, y);
  }
  for (int64_t h = 0; h < n; ++h) std::make_heap(begin_of(h), begin_of(h) + group_size[h]);

  cpu::RadixHeap heap;
  std::vector<uint64_t> live_key(n, UINT64_MAX);  // the key of h's newest global entry still in the heap
  auto push_group = [&](int64_t h, uint64_t key) {
    if (live_key[h] != key) {
      heap.push(key, static_cast<int32_t>(h));
      live_key[h] = key;
    }
  };
  // Makes h's top entry exact (see above); false when the group is empty.
  auto validate_top = [&](int64_t h) {
    GroupEntry* const g = begin_of(h);
    while (group_size[h] > 0) {
      const GroupEntry top = g[0];
      const int64_t id = entry_id(top), y = top.other;
      if (!is_high(h, y)) {  // y is the high side now: the edge moves to y's group
        std::pop_heap(g, g + group_size[h]--);
        GroupEntry* const gy = begin_of(y);
        gy[group_size[y]++] = entry(deg[h], id, h);
        std::push_heap(gy, gy + group_size[y]);
        push_group(y, packed(id, deg[h], deg[y]));
        continue;
      }
      if (entry_low(top) != deg[y]) {  // y lost degree since this entry was made
        std::pop_heap(g, g + group_size[h]);
        g[group_size[h] - 1] = entry(deg[y], id, y);
        std::push_heap(g, g + group_size[h]);
        continue;
      }
      return true;
    }
    return false;
  };
  auto top_key = [&](int64_t h) {
    const GroupEntry& top = begin_of(h)[0];
    return packed(entry_id(top), entry_low(top), deg[h]);
  };
  for (int64_t h = 0; h < n; ++h) {
    if (group_size[h] > 0) push_group(h, top_key(h));  // initial entries are exact
  }

  for (int64_t step = 0; step < num_remove; ++step) {
    while (true) {
      const auto [stored, h32] = heap.pop();
      const int64_t h = h32;
      if (live_key[h] == stored) live_key[h] = UINT64_MAX;
      if (!validate_top(h)) continue;
      const uint64_t now = top_key(h);
      if (now != stored) {
        push_group(h, now);  // stale: h or its top's other endpoint lost degree
        continue;
      }
      GroupEntry* const g = begin_of(h);
      const int64_t id = entry_id(g[0]), y = g[0].other;
      std::pop_heap(g, g + group_size[h]--);
      --deg[h];
      --deg[y];
      out[2 * step] = eu[id];
      out[2 * step + 1] = ev[id];
      if (validate_top(h)) push_group(h, top_key(h));
      break;
    }
    if ((step & 1023) == 0) progress.store(step, std::memory_order_relaxed);
  }
}

template <typename index_t>
at::Tensor wis_greedy_impl(const at::Tensor& rowptr_t, const at::Tensor& col_t, int64_t num_remove, int64_t depth,
                           std::atomic_ref<int64_t> progress) {
  const int64_t n = rowptr_t.numel() - 1;
  const int64_t* rowptr = rowptr_t.data_ptr<int64_t>();
  const index_t* col = col_t.data_ptr<index_t>();
  check_host_simple_symmetric(rowptr, col, n, "wis");
  std::vector<int32_t> eu, ev;
  list_edges(rowptr, col, n, eu, ev);
  const int64_t m = static_cast<int64_t>(eu.size());
  TORCH_CHECK_VALUE(num_remove >= 0 && num_remove <= m, "wis: num_remove must be in [0, ", m,
                    "] (the number of undirected edges), got ", num_remove);

  at::Tensor removed = at::empty({num_remove, 2}, rowptr_t.options().dtype(at::kLong));
  int64_t* out = removed.data_ptr<int64_t>();
  if (depth == 2) {
    degree_greedy(n, eu, ev, num_remove, out, progress);
  } else if (num_remove > 0) {
    std::vector<int32_t> eu_copy = eu, ev_copy = ev;
    cpu::WalkGreedy greedy(n, std::move(eu_copy), std::move(ev_copy), depth);
    for (int64_t step = 0; step < num_remove; ++step) {
      const int32_t e = greedy.step();
      out[2 * step] = eu[e];
      out[2 * step + 1] = ev[e];
      if ((step & 63) == 0) progress.store(step, std::memory_order_relaxed);
    }
  }
  progress.store(num_remove, std::memory_order_relaxed);
  return removed;
}

at::Tensor wis_greedy_cpu(const at::Tensor& rowptr, const at::Tensor& col, int64_t num_remove, int64_t depth,
                          const at::Tensor& progress) {
  TORCH_CHECK_TYPE(rowptr.scalar_type() == at::kLong && rowptr.dim() == 1 && rowptr.numel() >= 1,
                   "wis: rowptr must be a 1-D int64 tensor with num_nodes + 1 entries");
  TORCH_CHECK_TYPE(col.dim() == 1 && (col.scalar_type() == at::kInt || col.scalar_type() == at::kLong),
                   "wis: col must be a 1-D int32 or int64 tensor");
  TORCH_CHECK_VALUE(depth >= 2, "wis: depth must be >= 2, got ", depth);
  TORCH_CHECK_VALUE(progress.scalar_type() == at::kLong && progress.numel() == 1 && progress.is_contiguous() &&
                        progress.device().is_cpu(),
                    "wis: progress must be a one-element contiguous int64 CPU tensor");
  TORCH_CHECK_VALUE(rowptr.numel() - 1 <= INT32_MAX, "wis: graphs with more than 2^31 - 1 vertices are not supported");
  const at::Tensor rowptr_c = rowptr.contiguous(), col_c = col.contiguous();
  const int64_t n = rowptr_c.numel() - 1;
  check_host_rowptr(rowptr_c.data_ptr<int64_t>(), n, col_c.numel(), "wis");
  TORCH_CHECK_VALUE(col_c.numel() / 2 <= INT32_MAX, "wis: graphs with more than 2^31 - 1 edges are not supported");
  std::atomic_ref<int64_t> done(*progress.data_ptr<int64_t>());
  done.store(0);
  if (col_c.scalar_type() == at::kInt) return wis_greedy_impl<int32_t>(rowptr_c, col_c, num_remove, depth, done);
  return wis_greedy_impl<int64_t>(rowptr_c, col_c, num_remove, depth, done);
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) {
  m.impl("wis_greedy", &wis_greedy_cpu);
}

}  // namespace rankcore::ops
