// CPU implementation of rankcore::wis_greedy (exact WIS; see ops/wis_greedy.cpp).
//
// L = 2: a lazy greedy over (min degree, max degree, -edge id). Degrees only decrease, so a popped entry
// whose stored key still equals the edge's current key is the true maximum (every other entry's
// current key is at most its stored key, which is at most the top's); a stale one is pushed back
// with its current key. Edge ids follow the lexicographic (u, v) order, so "smallest id" is the tie
// rule of docs/definitions.md §2. The key packs into a uint64 for a monotone radix heap (a binary heap when
// the ranges do not fit). No dense matrix.
// L >= 3: cpu/wis_walk_engine.h, seeded with scores from the closed_walk_counts host code.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <queue>
#include <tuple>
#include <vector>

#include "ops/cpu/closed_walks_host.h"
#include "ops/cpu/hub_groups.h"
#include "ops/cpu/progress_slot.h"
#include "ops/cpu/radix_heap.h"
#include "ops/cpu/removal_guards.h"
#include "ops/cpu/wis_walk_engine.h"
#include "ops/wis_greedy.h"

namespace rankcore::ops {
namespace {

// The removal order as it is written: edge (u, v) and its id (its rank in the (u, v) order of list_edges,
// which is the order of rankcore::undirected_edges, so callers map the order onto columns without a search).
struct Output {
  int64_t* pairs;
  int64_t* ids;
  void put(int64_t step, int64_t id, int64_t u, int64_t v) const {
    pairs[2 * step] = u;
    pairs[2 * step + 1] = v;
    ids[step] = id;
  }
};

struct Entry {
  int64_t low, high, id;                  // stored key: (min deg, max deg), then the edge id
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

// Binary lazy max-heap: the general fallback when (low, high, id) does not pack into 64 bits. Returns the
// number of edges removed (fewer than num_remove only when the guards forbid every edge left).
int64_t degree_greedy_binary_heap(std::vector<int64_t>& deg, const std::vector<int32_t>& eu,
                                  const std::vector<int32_t>& ev, int64_t num_remove, Output out,
                                  cpu::RemovalGuards& guards, cpu::ProgressSlot progress) {
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
      if (heap.empty()) return step;
      const Entry top = heap.top();
      heap.pop();
      const Entry now = key(top.id);
      if (now.low == top.low && now.high == top.high) {
        if (!guards.try_remove(static_cast<int32_t>(top.id))) continue;  // forbidden for good: dropped
        --deg[eu[top.id]];
        --deg[ev[top.id]];
        out.put(step, top.id, eu[top.id], ev[top.id]);
        break;
      }
      heap.push(now);  // stale: degrees dropped since it was pushed
    }
    if ((step & 1023) == 0) progress.store(step, std::memory_order_relaxed);
  }
  return num_remove;
}

// Exact 1-WIS by a lazy greedy over (min deg, max deg, smallest id). Degrees only fall, so a popped
// entry whose stored key still matches the edge's current degrees is the maximum; a stale one goes
// back with its current key. The key packs into one uint64 (ascending = better first) for a monotone
// radix heap when the degree and id ranges fit, else a binary heap. The edges of hubs (initial degree
// >= hub_degree()) are not entries of their own: each hub's group (cpu/hub_groups.h) has one entry keyed
// by its best edge, so a hub losing an edge re-keys one entry instead of all of its edges (a star with
// D leaves: D log D instead of D^2 / 2 stale pops).
// The threshold: vertices this many edges cost the plain lazy heap up to deg re-keys per lost edge.
// $RANKCORE_WIS_HUB_DEGREE overrides it (tests set 1 or 2 so that tiny brute-force graphs run the groups).
int64_t hub_degree() {
  constexpr int64_t kHubDegree = 512;  // measured: 256-1024 equal the plain heap on hub-free power-law graphs
  const char* env = std::getenv("RANKCORE_WIS_HUB_DEGREE");
  if (env == nullptr || *env == '\0') return kHubDegree;
  const long long value = std::atoll(env);
  return value >= 1 ? static_cast<int64_t>(value) : kHubDegree;
}

// Returns the number of edges removed (fewer than num_remove only when the guards forbid every edge left).
int64_t degree_greedy(int64_t n, const std::vector<int32_t>& eu, const std::vector<int32_t>& ev, int64_t num_remove,
                      Output out, cpu::RemovalGuards& guards, cpu::ProgressSlot progress) {
  const int64_t m = static_cast<int64_t>(eu.size());
  std::vector<int64_t> deg(n, 0);
  for (int64_t id = 0; id < m; ++id) ++deg[eu[id]], ++deg[ev[id]];
  const int64_t max_deg = n > 0 ? *std::max_element(deg.begin(), deg.end()) : 0;
  // The smaller end's degree never exceeds its initial maximum over the edges (degrees only fall), which
  // is at most sqrt(2m): a star of 10^7 leaves needs 1 bit for it, not 24.
  int64_t max_low = 0;
  for (int64_t id = 0; id < m; ++id) max_low = std::max(max_low, std::min(deg[eu[id]], deg[ev[id]]));
  const cpu::PackedDegreeKey packing(max_low, max_deg, m);
  if (!packing.fits()) {
    return degree_greedy_binary_heap(deg, eu, ev, num_remove, out, guards, progress);
  }
  // Packed min-key: smaller = better (cpu/wis_score.h).
  auto packed = [&](int64_t id, int64_t low, int64_t high) { return packing.pack(low, high, id); };
  std::vector<int32_t> deg32(deg.begin(), deg.end());  // half the cache footprint of the hot array
  auto degree = [&](int64_t v) { return deg32[v]; };
  auto edge_key = [&](int64_t id) {
    const int64_t a = deg32[eu[id]], b = deg32[ev[id]];
    return packed(id, std::min(a, b), std::max(a, b));
  };
  auto edge_payload = [&](int64_t id) { return (static_cast<uint64_t>(eu[id]) << 32) | static_cast<uint32_t>(ev[id]); };
  constexpr uint64_t kGroupFlag = uint64_t{1} << 63;

  // Hubs own their edges towards vertices of no larger degree (ties: the larger vertex id owns; equal
  // degrees make both endpoints hubs or neither). Everything else is one plain heap entry per edge.
  std::vector<int32_t> group_of(static_cast<size_t>(n), -1);
  int32_t num_groups = 0;
  const int64_t hub_min_degree = hub_degree();
  for (int64_t v = 0; v < n; ++v) {
    if (deg[v] >= hub_min_degree) group_of[v] = num_groups++;
  }
  cpu::HubGroups groups(std::move(group_of), num_groups);
  auto group_key = [&](int32_t g) {  // the group's best edge key (its stale tops re-keyed first)
    const auto& top = groups.clean_top(g, degree);
    return packed(top.id, top.deg_other, deg32[groups.hub(g)]);
  };

  // The payload carries the endpoints (the id is the key's low bits): a stale check reads two degrees
  // and nothing else, the heap being bound by such random reads.
  // Edges of one (min deg, max deg) class are popped in id order: the heap's radix levels split classes
  // only, and a class is sorted by id once when it becomes the best. A stale entry always moves to a
  // strictly worse class (one of its degrees fell); only because the look-ahead below pops up to 16
  // entries early can that class already be the heap's current one (the heap's side heap takes it).
  cpu::RadixHeap heap(packing.id_bits);
  int64_t in_heap = 0;
  {
    std::vector<cpu::RadixHeap::Item> initial;
    initial.reserve(static_cast<size_t>(m) + static_cast<size_t>(num_groups));
    for (int64_t id = 0; id < m; ++id) {
      const int32_t u = eu[id], v = ev[id];
      const int32_t owner = deg[u] > deg[v] ? u : v, other = owner == u ? v : u;
      const int32_t g = groups.group_of(owner);
      if (g >= 0) {
        groups.append(g, {deg32[other], static_cast<int32_t>(id), other});
      } else {
        initial.push_back({edge_key(id), edge_payload(id)});
      }
    }
    for (int32_t g = 0; g < num_groups; ++g) {
      groups.build(g);
      if (groups.empty(g)) continue;
      groups.entry_key(g) = group_key(g);
      initial.push_back({groups.entry_key(g), kGroupFlag | static_cast<uint64_t>(g)});
    }
    in_heap = static_cast<int64_t>(initial.size());
    heap.assign(std::move(initial));  // exact bucket sizes, `initial` freed
  }

  // Look-ahead: the next kAhead entries are popped early and their degrees prefetched, so the random
  // reads of a stale check overlap instead of stalling one by one. The window holds the smallest keys
  // in ascending order; every key left in the heap is >= heap_floor (the last key popped into it).
  // A stale entry's new key goes back into the window when it is below heap_floor (the monotone heap
  // cannot take it), else into the heap. Entries pushed by the hub groups below heap_floor (a flip can
  // improve a group, or hand out an edge whose key is already in the window's range) wait in `below`,
  // a binary min-heap; the next entry is the smaller of its top and the window's first.
  constexpr int kAhead = 16;
  std::array<cpu::RadixHeap::Item, kAhead + 1> window;
  int head = 0, size = 0;  // window[head .. head + size) in a ring of kAhead + 1
  uint64_t heap_floor = 0;
  std::priority_queue<cpu::RadixHeap::Item, std::vector<cpu::RadixHeap::Item>, std::greater<cpu::RadixHeap::Item>>
      below;
  auto prefetch = [&](uint64_t ends) {
    if (ends & kGroupFlag) return;
    __builtin_prefetch(&deg32[ends >> 32]);
    __builtin_prefetch(&deg32[ends & 0xffffffffULL]);
  };
  auto at = [&](int i) -> cpu::RadixHeap::Item& { return window[(head + i) % (kAhead + 1)]; };
  auto refill = [&] {
    while (size < kAhead && in_heap > 0) {
      const auto item = heap.pop();
      --in_heap;
      heap_floor = item.first;
      prefetch(item.second);
      at(size++) = item;
    }
  };
  auto insert_sorted = [&](uint64_t key, uint64_t ends) {  // key <= heap_floor: belongs to the window
    int i = size++;
    while (i > 0 && at(i - 1).first > key) {
      at(i) = at(i - 1);
      --i;
    }
    at(i) = {key, ends};
  };
  auto push_entry = [&](uint64_t key, uint64_t payload) {  // any entry made outside the pop loop
    if (key >= heap_floor) {
      heap.push(key, payload);
      ++in_heap;
    } else {
      below.push({key, payload});
    }
  };
  // An owned edge whose other endpoint now has the larger degree leaves the group of `from`.
  auto flip = [&](int32_t from, const cpu::HubGroups::Member& edge) {
    const int32_t to = edge.other;
    const uint64_t key = packed(edge.id, deg32[from], deg32[to]);
    const int32_t g = groups.group_of(to);
    if (g < 0) {  // no hub: a plain entry from now on
      push_entry(key, edge_payload(edge.id));
      return;
    }
    groups.add(g, {deg32[from], edge.id, from});
    if (key < groups.entry_key(g)) {  // the group got better: its live entry is superseded
      groups.entry_key(g) = key;
      push_entry(key, kGroupFlag | static_cast<uint64_t>(g));
    }
  };
  auto lose_edge = [&](int32_t v) {
    const int32_t old_degree = deg32[v]--;
    const int32_t g = groups.group_of(v);
    if (g < 0 || groups.empty(g)) return;
    groups.release_overtaken(g, old_degree, degree, [&](const cpu::HubGroups::Member& e) { flip(v, e); });
    if (groups.empty(g)) groups.entry_key(g) = cpu::HubGroups::kNoEntry;
  };

  for (int64_t step = 0; step < num_remove; ++step) {
    while (true) {
      refill();
      if (size == 0 && below.empty()) return step;  // the guards forbid every edge left
      const bool from_window = below.empty() || (size > 0 && at(0).first < below.top().first);
      cpu::RadixHeap::Item item;
      if (from_window) {
        item = at(0);
        head = (head + 1) % (kAhead + 1);
        --size;
      } else {
        item = below.top();
        below.pop();
      }
      const auto [stored, ends] = item;
      if (ends & kGroupFlag) {
        const int32_t g = static_cast<int32_t>(ends & 0x7fffffffULL);
        if (stored != groups.entry_key(g)) continue;  // superseded by a better entry of the group
        const uint64_t now = group_key(g);
        if (now != stored) {  // stale: the group's best edge got worse (now > stored)
          groups.entry_key(g) = now;
          push_entry(now, ends);
          continue;
        }
        const auto edge = groups.pop_top(g);
        groups.entry_key(g) = cpu::HubGroups::kNoEntry;
        const bool removed = guards.try_remove(edge.id);  // else forbidden for good: dropped from the group
        if (removed) {
          out.put(step, edge.id, eu[edge.id], ev[edge.id]);
          lose_edge(groups.hub(g));
          lose_edge(edge.other);
        }
        if (!groups.empty(g)) {
          groups.entry_key(g) = group_key(g);
          push_entry(groups.entry_key(g), ends);
        }
        if (removed) break;
        continue;
      }
      const int64_t u = static_cast<int64_t>(ends >> 32), v = static_cast<int64_t>(ends & 0xffffffffULL);
      const int64_t id = packing.id(stored);
      const int64_t a = deg32[u], b = deg32[v];
      const uint64_t now = packed(id, std::min(a, b), std::max(a, b));
      if (now == stored) {
        if (!guards.try_remove(static_cast<int32_t>(id))) continue;  // forbidden for good: dropped
        out.put(step, id, u, v);
        if (num_groups == 0) {  // the hot path of hub-free graphs
          --deg32[u];
          --deg32[v];
        } else {
          lose_edge(static_cast<int32_t>(u));
          lose_edge(static_cast<int32_t>(v));
        }
        break;
      }
      // stale: a degree dropped since it was pushed (now > stored)
      if (now >= heap_floor) {
        heap.push(now, ends);
        ++in_heap;
      } else if (from_window) {
        insert_sorted(now, ends);
      } else {
        below.push({now, ends});
      }
    }
    if ((step & 1023) == 0) progress.store(step, std::memory_order_relaxed);
  }
  return num_remove;
}

template <typename index_t>
std::tuple<at::Tensor, at::Tensor> wis_greedy_impl(const at::Tensor& rowptr_t, const at::Tensor& col_t,
                                                   int64_t num_remove, int64_t depth, int64_t min_degree,
                                                   bool keep_connected, cpu::ProgressSlot progress) {
  const int64_t n = rowptr_t.numel() - 1;
  const int64_t* rowptr = rowptr_t.data_ptr<int64_t>();
  const index_t* col = col_t.data_ptr<index_t>();
  check_host_simple_symmetric(rowptr, col, n, "wis_greedy");
  std::vector<int32_t> eu, ev;
  eu.reserve(static_cast<size_t>(col_t.numel() / 2));  // exact: a symmetric simple CSR holds each edge twice
  ev.reserve(static_cast<size_t>(col_t.numel() / 2));
  list_edges(rowptr, col, n, eu, ev);
  const int64_t m = static_cast<int64_t>(eu.size());
  TORCH_CHECK_VALUE(num_remove >= 0 && num_remove <= m, "wis_greedy: num_remove must be in [0, ", m,
                    "] (the number of undirected edges), got ", num_remove);

  at::Tensor removed = at::empty({num_remove, 2}, rowptr_t.options().dtype(at::kLong));
  at::Tensor removed_ids = at::empty({num_remove}, rowptr_t.options().dtype(at::kLong));
  const Output out{removed.data_ptr<int64_t>(), removed_ids.data_ptr<int64_t>()};
  cpu::RemovalGuards guards(n, eu, ev, min_degree, keep_connected, {});  // forest: its default preference
  int64_t done = num_remove;
  if (depth == 2) {
    done = degree_greedy(n, eu, ev, num_remove, out, guards, progress);
  } else if (num_remove > 0) {
    // Singleton scores of the whole graph from the closed_walk_counts code (L = 3: from the triangle
    // counts, which the engine also keeps up to date); isolated vertices score 0.
    std::vector<int64_t> scores(static_cast<size_t>(n)), triangles;
    if (depth == 3) {
      triangles = cpu::triangle_counts_host(rowptr, col, n);
      for (int64_t t = 0; t < n; ++t) scores[t] = cpu::closed_walks_l3(rowptr[t + 1] - rowptr[t], triangles[t]);
    } else {
      TORCH_CHECK(cpu::closed_walk_counts_host(rowptr, col, n, depth, scores.data()), kOverflowPrefix,
                  " closed walk counts of length ", depth, " exceed the int64 range (2^63 - 1) during WIS scoring");
    }
    for (int64_t t = 0; t < n; ++t) {
      if (rowptr[t + 1] == rowptr[t]) scores[t] = 0;
    }
    cpu::WalkGreedy greedy(n, eu, ev, depth, std::move(scores), std::move(triangles), hub_degree());
    auto allow = [&](int32_t e) { return guards.try_remove(e); };
    for (int64_t step = 0; step < num_remove; ++step) {
      const int32_t e = greedy.step(allow);
      if (e < 0) {  // the guards forbid every edge left
        done = step;
        break;
      }
      out.put(step, e, eu[e], ev[e]);
      if ((step & 63) == 0) progress.store(step, std::memory_order_relaxed);
    }
  }
  progress.store(done, std::memory_order_relaxed);
  if (done < num_remove) return {removed.narrow(0, 0, done).clone(), removed_ids.narrow(0, 0, done).clone()};
  return {removed, removed_ids};
}

std::tuple<at::Tensor, at::Tensor> wis_greedy_cpu(const at::Tensor& rowptr, const at::Tensor& col, int64_t num_remove,
                                                  int64_t depth, const at::Tensor& progress, int64_t min_degree,
                                                  bool keep_connected) {
  check_wis_greedy_args(rowptr, col, depth, progress, min_degree);
  const at::Tensor rowptr_c = rowptr.contiguous(), col_c = col.contiguous();
  check_host_rowptr(rowptr_c.data_ptr<int64_t>(), rowptr_c.numel() - 1, col_c.numel(), "wis_greedy");
  cpu::ProgressSlot done(progress.data_ptr<int64_t>(), progress.numel());
  done.store(0);
  return AT_DISPATCH_INDEX_TYPES(col_c.scalar_type(), "wis_greedy_cpu", [&] {
    return wis_greedy_impl<index_t>(rowptr_c, col_c, num_remove, depth, min_degree, keep_connected, done);
  });
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) { m.impl("wis_greedy", &wis_greedy_cpu); }

}  // namespace rankcore::ops
