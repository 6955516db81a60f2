// Exact 1-WIS (L = 2) as a lazy greedy over (min degree, max degree, smallest id), with hub groups: the
// single-process op (cpu/wis_greedy_cpu.cpp) runs it on the whole graph, and a distributed round
// (ops/wis_rounds.cpp, wis_round_commits) on the round's proposals, with the round's sentinel as a stop.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <queue>
#include <vector>

#include "ops/cpu/class_queue.h"
#include "ops/cpu/hub_groups.h"
#include "ops/cpu/progress_slot.h"
#include "ops/cpu/removal_guards.h"
#include "ops/cpu/wis_score.h"

namespace rankcore::ops::cpu {

// The removal order as it is written: edge (u, v) and its id (its rank in the (u, v) order of list_edges,
// which is the order of rankcore::undirected_edges, so callers map the order onto columns without a search).
struct GreedyOutput {
  int64_t* pairs;
  int64_t* ids;
  void put(int64_t step, int64_t id, int64_t u, int64_t v) const {
    pairs[2 * step] = u;
    pairs[2 * step + 1] = v;
    ids[step] = id;
  }
};

struct DegreeEntry {
  int64_t low, high, id;                        // stored key: (min deg, max deg), then the edge id
  bool operator<(const DegreeEntry& o) const {  // "less urgent than": max-heap on (low, high), then min id
    if (low != o.low) return low < o.low;
    if (high != o.high) return high < o.high;
    return id > o.id;
  }
};

// Never stops: the single-process greedy.
struct NeverStop {
  bool operator()(int64_t, int64_t, int64_t) const { return false; }
};

// Binary lazy max-heap: the general fallback when (low, high, id) does not pack into 64 bits. Returns the
// number of edges removed (fewer than num_remove only when the guards forbid every edge left).
template <typename Stop>
int64_t degree_greedy_binary_heap(std::vector<int64_t>& deg, const std::vector<int32_t>& eu,
                                  const std::vector<int32_t>& ev, int64_t num_remove, GreedyOutput out,
                                  RemovalGuards& guards, ProgressSlot progress, Stop& stop) {
  const int64_t m = static_cast<int64_t>(eu.size());
  auto key = [&](int64_t id) {
    const int64_t a = deg[eu[id]], b = deg[ev[id]];
    return DegreeEntry{std::min(a, b), std::max(a, b), id};
  };
  std::vector<DegreeEntry> initial(m);
  for (int64_t id = 0; id < m; ++id) initial[id] = key(id);
  std::priority_queue<DegreeEntry> heap(std::less<DegreeEntry>(), std::move(initial));
  for (int64_t step = 0; step < num_remove; ++step) {
    while (true) {
      if (heap.empty()) return step;
      const DegreeEntry top = heap.top();
      heap.pop();
      const DegreeEntry now = key(top.id);
      if (now.low == top.low && now.high == top.high) {
        if (stop(top.id, now.low, now.high)) return step;
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
// queue with one bucket per degree class (cpu/class_queue.h) when the degree and id ranges fit, else a
// binary heap. The edges of hubs (initial degree
// >= hub_degree()) are not entries of their own: each hub's group (cpu/hub_groups.h) has one entry keyed
// by its best edge, so a hub losing an edge re-keys one entry instead of all of its edges (a star with
// D leaves: D log D instead of D^2 / 2 stale pops).
// The threshold: vertices this many edges cost the plain lazy heap up to deg re-keys per lost edge.
// $RANKCORE_WIS_HUB_DEGREE overrides it (tests set 1 or 2 so that tiny brute-force graphs run the groups).
inline int64_t hub_degree() {
  constexpr int64_t kHubDegree = 512;  // measured: 256-1024 equal the plain heap on hub-free power-law graphs
  const char* env = std::getenv("RANKCORE_WIS_HUB_DEGREE");
  if (env == nullptr || *env == '\0') return kHubDegree;
  const long long value = std::atoll(env);
  return value >= 1 ? static_cast<int64_t>(value) : kHubDegree;
}

// deg: every vertex's current degree (at least its number of edges in eu / ev; more when the edges are a part of a
// graph, as a distributed round's proposals). stop(id, low, high) is asked about each edge about to be removed,
// with its current key: true ends the greedy there (the removals so far are returned).
// Returns the number of edges removed (fewer than num_remove when stop said so or the guards forbid every edge left).
template <typename Stop>
int64_t degree_greedy(std::vector<int64_t> deg, const std::vector<int32_t>& eu, const std::vector<int32_t>& ev,
                      int64_t num_remove, GreedyOutput out, RemovalGuards& guards, ProgressSlot progress, Stop&& stop) {
  const int64_t n = static_cast<int64_t>(deg.size());
  const int64_t m = static_cast<int64_t>(eu.size());
  const int64_t max_deg = n > 0 ? *std::max_element(deg.begin(), deg.end()) : 0;
  // The smaller end's degree never exceeds its initial maximum over the edges (degrees only fall), which
  // is at most sqrt(2m): a star of 10^7 leaves needs 1 bit for it, not 24.
  int64_t max_low = 0;
  for (int64_t id = 0; id < m; ++id) max_low = std::max(max_low, std::min(deg[eu[id]], deg[ev[id]]));
  const PackedDegreeKey packing(max_low, max_deg, m);
  if (!packing.fits()) {
    return degree_greedy_binary_heap(deg, eu, ev, num_remove, out, guards, progress, stop);
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
  HubGroups groups(std::move(group_of), num_groups);
  auto group_key = [&](int32_t g) {  // the group's best edge key (its stale tops re-keyed first)
    const auto& top = groups.clean_top(g, degree);
    return packed(top.id, top.deg_other, deg32[groups.hub(g)]);
  };

  // The payload carries the endpoints (the id is the key's low bits): a stale check reads two degrees
  // and nothing else, the heap being bound by such random reads.
  // Edges of one (min deg, max deg) class are popped in id order: an entry goes straight to its class's
  // bucket, and a class is sorted by id once when it becomes the best. A stale entry always moves to a
  // strictly worse class (one of its degrees fell); only because the look-ahead below pops up to 16
  // entries early can that class already be the queue's current one (the queue's side heap takes it).
  // Plain entries have both degrees below the hub threshold (their owner is no hub), so their classes are
  // all dense buckets; group entries of hubs above it wait in the queue's binary heap.
  DegreeClassQueue heap(packing, std::min<int64_t>(max_deg + 1, hub_min_degree));
  int64_t in_heap = 0;
  {
    std::vector<DegreeClassQueue::Item> initial;
    initial.reserve(static_cast<size_t>(m) + static_cast<size_t>(num_groups));
    for (int64_t id = 0; id < m; ++id) {
      const int32_t u = eu[id], v = ev[id];
      const int32_t owner = deg32[u] > deg32[v] ? u : v, other = owner == u ? v : u;
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
  std::array<DegreeClassQueue::Item, kAhead + 1> window;
  int head = 0, size = 0;  // window[head .. head + size) in a ring of kAhead + 1
  uint64_t heap_floor = 0;
  std::priority_queue<DegreeClassQueue::Item, std::vector<DegreeClassQueue::Item>, std::greater<DegreeClassQueue::Item>>
      below;
  auto prefetch = [&](uint64_t ends) {
    if (ends & kGroupFlag) return;
    __builtin_prefetch(&deg32[ends >> 32]);
    __builtin_prefetch(&deg32[ends & 0xffffffffULL]);
  };
  auto at = [&](int i) -> DegreeClassQueue::Item& { return window[(head + i) % (kAhead + 1)]; };
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
  auto flip = [&](int32_t from, const HubGroups::Member& edge) {
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
    groups.release_overtaken(g, old_degree, degree, [&](const HubGroups::Member& e) { flip(v, e); });
    if (groups.empty(g)) groups.entry_key(g) = HubGroups::kNoEntry;
  };

  for (int64_t step = 0; step < num_remove; ++step) {
    while (true) {
      refill();
      if (size == 0 && below.empty()) return step;  // the guards forbid every edge left
      const bool from_window = below.empty() || (size > 0 && at(0).first < below.top().first);
      DegreeClassQueue::Item item;
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
        const auto& best = groups.clean_top(g, degree);  // current: group_key(g) == stored
        if (stop(best.id, best.deg_other, deg32[groups.hub(g)])) return step;
        const auto edge = groups.pop_top(g);
        groups.entry_key(g) = HubGroups::kNoEntry;
        const bool removed = guards.try_remove(edge.id);  // else forbidden for good: dropped from the group
        if (removed) {
          const int32_t hub = groups.hub(g);  // the endpoints without a random read of eu / ev
          out.put(step, edge.id, std::min(hub, edge.other), std::max(hub, edge.other));
          lose_edge(hub);
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
        if (stop(id, std::min(a, b), std::max(a, b))) return step;
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

}  // namespace rankcore::ops::cpu
