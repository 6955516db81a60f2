// The guards of a removal order (docs/definitions.md §2, "Guards"): min_degree = k never takes a vertex below
// min(k, its initial degree); keep_connected never splits a connected component. Every sparsifier walks its
// candidates best first and asks try_remove(e); a forbidden candidate is skipped and never asked about
// again, which is sound because a forbidden edge stays forbidden: degrees only fall, and a bridge stays a
// bridge while edges are only removed.
//
// keep_connected keeps a spanning forest F of the current graph. An edge outside F is never a bridge (F
// still spans), so it costs O(1). For a tree edge e = {p, c} (p = parent of c) two searches over F \ e, one
// from c and one from p, advance in turns, one adjacency entry each, until one side is exhausted: that side
// S is the smaller piece, found in O(vol(S)). A non-tree edge from S to outside S is a replacement: it
// joins F, e leaves it (the path from the replacement's end up to c is re-rooted). No replacement: e is a
// bridge, kept and marked. Searches never cross a marked bridge, and may not: a simple path between the
// two ends of a non-bridge edge cannot cross a bridge, so the pieces cut off by bridges are the (shrinking)
// 2-edge-connected blocks, and a refused edge's smaller side is charged O(log n) times per vertex, as in
// Even & Shiloach's decremental connectivity. Which non-tree edges F holds does not change any answer
// (the bridges of the current graph do not depend on F); the forest is built from the edges the caller
// expects to remove last, so that early removals are mostly O(1).
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace rankcore::ops::cpu {

class RemovalGuards {
 public:
  // eu / ev: the undirected edges u < v (id = index); n vertices. min_degree 0 = no degree guard.
  // keep_last: edge ids, those the caller expects to remove LAST first (a preference for the forest; any
  // order gives the same answers). Empty: the edges by min(deg u, deg v) ascending, the first part of the
  // 1-WIS key (the greedies remove high-degree edges first; for L >= 3 the same proxy).
  RemovalGuards(int64_t n, const std::vector<int32_t>& eu, const std::vector<int32_t>& ev, int64_t min_degree,
                bool keep_connected, const std::vector<int32_t>& keep_last)
      : n_(n),
        m_(static_cast<int64_t>(eu.size())),
        eu_(eu),
        ev_(ev),
        min_degree_(min_degree),
        keep_connected_(keep_connected) {
    if (!active()) return;
    deg_.assign(static_cast<size_t>(n), 0);
    for (int64_t e = 0; e < m_; ++e) ++deg_[eu[e]], ++deg_[ev[e]];
    if (min_degree_ > 0) {
      floor_.resize(static_cast<size_t>(n));
      for (int64_t v = 0; v < n; ++v) floor_[v] = static_cast<int32_t>(std::min<int64_t>(min_degree_, deg_[v]));
    }
    if (keep_connected_) build_forest(keep_last);
  }

  bool active() const { return min_degree_ > 0 || keep_connected_; }

  // Removes edge `e` and returns true when the guards allow it now; else returns false and changes nothing
  // (the edge is then forbidden for good).
  bool try_remove(int32_t e) {
    if (!active()) return true;
    const int32_t u = eu_[e], v = ev_[e];
    if (min_degree_ > 0 && (deg_[u] <= floor_[u] || deg_[v] <= floor_[v])) return false;
    if (keep_connected_) {
      if (flags_[e] & kBridge) return false;
      if ((flags_[e] & kTree) && !replace_tree_edge(e)) {
        flags_[e] |= kBridge;
        return false;
      }
      unlink(e);
    }
    --deg_[u];
    --deg_[v];
    return true;
  }

 private:
  static constexpr uint8_t kTree = 1, kBridge = 2;
  struct Slot {
    int32_t other, edge;
  };

  void build_forest(const std::vector<int32_t>& keep_last) {
    // Live adjacency with O(1) removal: row v is adj_[start_[v] .. start_[v] + live_[v]); pos_[2e + side] is
    // edge e's offset in the row of its end `side` (0: eu, 1: ev).
    start_.assign(static_cast<size_t>(n_) + 1, 0);
    for (int64_t v = 0; v < n_; ++v) start_[v + 1] = start_[v] + deg_[v];
    live_.assign(static_cast<size_t>(n_), 0);
    adj_.resize(static_cast<size_t>(2 * m_));
    pos_.resize(static_cast<size_t>(2 * m_));
    for (int64_t e = 0; e < m_; ++e) {
      const int32_t ends[2] = {eu_[e], ev_[e]};
      for (int side = 0; side < 2; ++side) {
        const int32_t x = ends[side];
        pos_[2 * e + side] = live_[x];
        adj_[start_[x] + live_[x]++] = {ends[1 - side], static_cast<int32_t>(e)};
      }
    }
    // Kruskal in the preferred order (then every other edge by id), by union-find.
    const std::vector<int32_t> by_degree = keep_last.empty() ? smallest_degree_first() : std::vector<int32_t>{};
    const std::vector<int32_t>& preferred = keep_last.empty() ? by_degree : keep_last;
    flags_.assign(static_cast<size_t>(m_), 0);
    std::vector<int32_t> root(static_cast<size_t>(n_));
    std::iota(root.begin(), root.end(), 0);
    auto find = [&](int32_t x) {
      while (root[x] != x) x = root[x] = root[root[x]];
      return x;
    };
    auto offer = [&](int32_t e) {
      const int32_t a = find(eu_[e]), b = find(ev_[e]);
      if (a == b) return;
      root[a] = b;
      flags_[e] = kTree;
    };
    std::vector<uint8_t> offered(static_cast<size_t>(m_), 0);
    for (const int32_t e : preferred) {
      if (!offered[e]) offered[e] = 1, offer(e);
    }
    for (int64_t e = 0; e < m_; ++e) {
      if (!offered[e]) offer(static_cast<int32_t>(e));
    }
    // Root every tree (parent_edge_ = -1 at a root) by a breadth-first search over tree edges.
    parent_edge_.assign(static_cast<size_t>(n_), -1);
    stamp_.assign(static_cast<size_t>(n_), 0);
    std::vector<int32_t> queue;
    for (int64_t r = 0; r < n_; ++r) {
      if (stamp_[r]) continue;
      stamp_[r] = 1;
      queue.assign(1, static_cast<int32_t>(r));
      for (size_t head = 0; head < queue.size(); ++head) {
        const int32_t x = queue[head];
        for (int64_t i = start_[x]; i < start_[x] + live_[x]; ++i) {
          const Slot s = adj_[i];
          if ((flags_[s.edge] & kTree) && !stamp_[s.other]) {
            stamp_[s.other] = 1;
            parent_edge_[s.other] = s.edge;
            queue.push_back(s.other);
          }
        }
      }
    }
    std::fill(stamp_.begin(), stamp_.end(), 0);
  }

  // Edge ids by min(deg u, deg v) ascending (initial degrees), by a counting sort: O(n + m).
  std::vector<int32_t> smallest_degree_first() const {
    std::vector<int64_t> start(static_cast<size_t>(n_) + 2, 0);
    auto low = [&](int64_t e) { return std::min(deg_[eu_[e]], deg_[ev_[e]]); };
    for (int64_t e = 0; e < m_; ++e) ++start[low(e) + 1];
    for (int64_t d = 0; d <= n_; ++d) start[d + 1] += start[d];
    std::vector<int32_t> order(static_cast<size_t>(m_));
    for (int64_t e = 0; e < m_; ++e) order[start[low(e)]++] = static_cast<int32_t>(e);
    return order;
  }

  int32_t other_end(int32_t e, int32_t x) const { return eu_[e] == x ? ev_[e] : eu_[e]; }

  void unlink(int32_t e) {
    const int32_t ends[2] = {eu_[e], ev_[e]};
    for (int side = 0; side < 2; ++side) {
      const int32_t x = ends[side];
      const int32_t at = pos_[2 * e + side], last = --live_[x];
      const Slot moved = adj_[start_[x] + last];
      adj_[start_[x] + at] = moved;
      pos_[2 * moved.edge + (eu_[moved.edge] == x ? 0 : 1)] = at;
    }
    flags_[e] &= static_cast<uint8_t>(~kTree);
  }

  // One side of the search: a breadth-first walk over non-bridge tree edges other than `cut`.
  struct Side {
    std::vector<int32_t> queue;
    std::vector<Slot> crossing;  // non-tree edges seen whose far end was not known to be on this side
    size_t head = 0;
    int64_t next = 0;  // offset in the row of queue[head]
    uint32_t mark = 0;
  };

  // Advances `side` by one adjacency entry. Returns 1 when a non-tree edge reaches the other side (written
  // to `found`), -1 when the side is exhausted, 0 otherwise.
  int advance(Side& side, uint32_t other_mark, int32_t cut, Slot& found) {
    while (side.head < side.queue.size()) {
      const int32_t x = side.queue[side.head];
      if (side.next == live_[x]) {
        ++side.head;
        side.next = 0;
        continue;
      }
      const Slot s = adj_[start_[x] + side.next++];
      if (s.edge == cut) return 0;
      if (flags_[s.edge] & kTree) {
        if (!(flags_[s.edge] & kBridge) && stamp_[s.other] != side.mark) {
          stamp_[s.other] = side.mark;
          side.queue.push_back(s.other);
        }
      } else if (stamp_[s.other] == other_mark) {
        found = {x, s.edge};  // x on this side, the far end on the other
        return 1;
      } else if (stamp_[s.other] != side.mark) {
        side.crossing.push_back({x, s.edge});
      }
      return 0;
    }
    return -1;
  }

  // Tree edge `cut` is to be removed: finds a replacement (re-rooting F) and returns true, or returns false
  // when `cut` is a bridge.
  bool replace_tree_edge(int32_t cut) {
    const int32_t c = parent_edge_[eu_[cut]] == cut ? eu_[cut] : ev_[cut];  // the child end
    const int32_t p = other_end(cut, c);
    if (epoch_ >= UINT32_MAX - 2) {
      std::fill(stamp_.begin(), stamp_.end(), 0);
      epoch_ = 0;
    }
    child_.mark = ++epoch_;
    parent_.mark = ++epoch_;
    for (Side* s : {&child_, &parent_}) {
      s->queue.clear();
      s->crossing.clear();
      s->head = 0;
      s->next = 0;
    }
    child_.queue.push_back(c);
    stamp_[c] = child_.mark;
    parent_.queue.push_back(p);
    stamp_[p] = parent_.mark;
    Slot found{};
    Side* done = nullptr;
    bool child_side_found = false;
    while (done == nullptr) {
      int r = advance(child_, parent_.mark, cut, found);
      if (r == 1) {
        child_side_found = true;
        break;
      }
      if (r < 0) {
        done = &child_;
        break;
      }
      r = advance(parent_, child_.mark, cut, found);
      if (r == 1) break;
      if (r < 0) done = &parent_;
    }
    if (done != nullptr) {  // `done` is the whole smaller piece: any crossing edge leaving it is a replacement
      bool any = false;
      for (const Slot& s : done->crossing) {
        if (stamp_[other_end(s.edge, s.other)] != done->mark) {
          found = s;
          any = true;
          break;
        }
      }
      if (!any) return false;
      child_side_found = done == &child_;
    }
    // found = {x, f}: x on the child side when child_side_found, else on the parent side.
    const int32_t y = child_side_found ? found.other : other_end(found.edge, found.other);  // child-side end
    // Re-root the child piece at y: reverse parent pointers along y -> ... -> c, then y hangs off f.
    int32_t cur = y, incoming = found.edge;
    while (true) {
      const int32_t old = parent_edge_[cur];
      parent_edge_[cur] = incoming;
      if (cur == c) break;
      incoming = old;
      cur = other_end(old, cur);
    }
    flags_[found.edge] |= kTree;
    return true;
  }

  int64_t n_, m_;
  const std::vector<int32_t>& eu_;
  const std::vector<int32_t>& ev_;
  int64_t min_degree_;
  bool keep_connected_;
  std::vector<int32_t> deg_, floor_;
  // keep_connected only
  std::vector<int64_t> start_;
  std::vector<int32_t> live_, pos_, parent_edge_;
  std::vector<Slot> adj_;
  std::vector<uint8_t> flags_;
  std::vector<uint32_t> stamp_;
  uint32_t epoch_ = 0;
  Side child_, parent_;
};

}  // namespace rankcore::ops::cpu
