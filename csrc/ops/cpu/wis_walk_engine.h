// Exact (L-1)-WIS for L >= 3 on the CPU: one edge per step, ties to the smallest (u, v).
//
// Ranking without the score vector (docs/definitions.md §2): removing e changes s only on a small vertex set
// Δ_e (L = 3: u, v and their common neighbours; general L: the t with d(t,u) + d(t,v) <= L - 1). With R_e
// the old and A_e the new values on Δ_e, sorted(M - R_1 + A_1) vs sorted(M - R_2 + A_2) compares like the
// signed multisets D_e = A_e - R_e: at the smallest value where D_1 and D_2 differ, the candidate with
// the smaller count wins (it leaves fewer copies of that small score). So every candidate has a key D_e
// that does not depend on the other candidates, and an ordered set of (key, edge id) gives the greedy
// step exactly. After a removal only the candidates whose key can have changed need attention:
//   L = 3: lazily (see step_l3): keys only get worse except for the 2c edges joining the removed edge's
//          endpoints to their common neighbours, which are re-keyed at once;
//   L >= 4: edges with an endpoint within distance L of the removed edge (a key reads scores and
//          closed walks within that radius) are re-keyed at once.
// Keys are exact int64 (closed walk counts; overflow raises). Nothing dense.
//
// L = 3 on hubs. Removing an edge at a hub h changes s_h, which every edge at h has in its key: the
// lazy re-keying above would re-key all deg(h) of them per removal (a star: D^2 key computations).
// So the edges of a hub (a vertex of degree >= hub_degree, fixed at the start; an edge with two hub
// ends belongs to the larger) live in subgroups by (h, c), c = their number of common neighbours:
// an edge {h, x}'s key is H_h(c) + X_e, with H_h(c) the (old, new) pair of s_h, the same for the whole
// subgroup, and X_e the pairs of x and of the common neighbours. Comparing two keys with the same H
// part is comparing their X parts (the counts of D_1 - D_2 at every value are those of X_1 - X_2), so a
// subgroup ordered by X does not reorder when s_h changes; it is one entry ("token") of the queue with
// the key of its best member. X parts only get worse (the lemma above), except when c changes, which
// happens exactly to the 2c edges re-keyed at once: they move to the subgroup of their new c.
// Rows of the adjacency keep removed edges as tombstones (compacted when half dead), so removing an
// edge of a hub is O(1), and common neighbours of a hub and a small vertex are found by binary search.
//
// L = 3 on hubs as common neighbours. An edge of two small ends whose common neighbours include hubs has
// those hubs' pairs in its key: a hub closing triangles with N such edges made all N stale with every
// removal at the hub (a hub joined to a ring: quadratic). Such edges live in groups by their set of hub
// common neighbours, with the same argument as above (the hubs' pairs are common to the group, so the
// members are ordered by the rest, X); an edge's hub set only shrinks, when it is one of the 2c edges
// re-keyed at once, and it then moves to the group of its new set (or, with none left, to the plain queue).
//
// L = 3 costs. A stale pop re-keys from the edge's cached common-neighbour list (build_common_cache), not
// by merging two rows; the queue's elements carry the first two entries of their keys, so most comparisons
// read no key vector (bench/RESULTS.md).
#pragma once

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ops/cpu/indexed_heap.h"
#include "ops/cpu/local_walks.h"
#include "ops/cpu/wis_score.h"
#include "ops/csr_checks.h"  // kOverflowPrefix

namespace rankcore::ops::cpu {

class WalkGreedy {
 public:
  // Edges are given as u < v in lexicographic order (edge id = rank: the tie rule); adjacency is built
  // from them; eu and ev must outlive the engine. `depth` = L >= 3. `scores` are the singleton scores
  // s_t of the whole graph (0 for isolated t) and, for L = 3, `triangles` the triangle count of every
  // vertex (the caller computes both with the closed_walk_counts / edge_common_neighbors host code).
  // hub_degree: L = 3 groups the edges of vertices of at least this degree (see above).
  WalkGreedy(int64_t n, const std::vector<int32_t>& eu, const std::vector<int32_t>& ev, int64_t depth,
             std::vector<int64_t> scores, std::vector<int64_t> triangles, int64_t hub_degree)
      : n_(n),
        m_(static_cast<int64_t>(eu.size())),
        L_(depth),
        eu_(eu),
        ev_(ev),
        adj_(n),
        deg_(n, 0),
        dead_in_row_(n, 0),
        s_(std::move(scores)),
        tri_(std::move(triangles)),
        keys_(eu_.size()),
        owner_(eu_.size(), -1),
        sg_of_(eu_.size(), -1),
        dead_(eu_.size(), 0),
        discarded_(eu_.size(), 0),
        edge_stamp_(eu_.size(), 0),
        vertex_stamp_(n, 0),
        ball_depth_(n, 0),
        main_scratch_(depth == 3 ? 0 : n),
        queue_(this) {
    const int64_t m = m_;
    for (int64_t e = 0; e < m; ++e) {
      adj_[eu_[e]].push_back({ev_[e], static_cast<int32_t>(e)});
      adj_[ev_[e]].push_back({eu_[e], static_cast<int32_t>(e)});
    }
    for (int64_t v = 0; v < n; ++v) {
      std::sort(adj_[v].begin(), adj_[v].end());
      deg_[v] = static_cast<int64_t>(adj_[v].size());
    }
    if (L_ == 3) {
      for (int64_t e = 0; e < m; ++e) {
        const int32_t u = eu_[e], v = ev_[e];
        const bool hub_u = deg_[u] >= hub_degree, hub_v = deg_[v] >= hub_degree;
        if (hub_u || hub_v) owner_[e] = (hub_u && (!hub_v || deg_[u] > deg_[v])) ? u : v;
      }
      xkeys_.resize(eu_.size());
      cn_hub_.assign(n, 0);
      for (int64_t v = 0; v < n; ++v) cn_hub_[v] = deg_[v] >= hub_degree;
    }
    if (L_ == 3) build_common_cache();
    // Initial keys are independent: compute them in parallel (each thread with its own scratch).
    std::vector<int64_t> common_count(L_ == 3 ? m : 0);
    std::vector<uint8_t> cn_member(L_ == 3 ? m : 0);  // L = 3: an edge of two small ends with hub common neighbours
    std::atomic<bool> overflow{false};
    at::parallel_for(0, m, 256, [&](int64_t begin, int64_t end) {
      Scratch scratch(L_ == 3 ? 0 : n_);
      for (int64_t e = begin; e < end; ++e) {
        if (L_ != 3) {
          compute_key(static_cast<int32_t>(e), keys_[e], scratch);
          continue;
        }
        common_count[e] = compute_x_key(static_cast<int32_t>(e), xkeys_[e], scratch);
        if (owner_[e] < 0 && !scratch.hubs.empty()) {
          cn_member[e] = 1;          // a hub among its common neighbours: grouped by them (see cn_group_for)
        } else if (owner_[e] < 0) {  // plain: the whole key
          xkeys_[e].clear();
          compute_key(static_cast<int32_t>(e), keys_[e], scratch);
        }
      }
      if (scratch.expander.overflow()) overflow = true;
    });
    check_overflow(overflow.load());
    std::vector<int32_t> plain;
    for (int64_t e = 0; e < m; ++e) {
      if (owner_[e] < 0 && (L_ != 3 || !cn_member[e])) {
        plain.push_back(static_cast<int32_t>(e));
      } else {
        const int32_t g = owner_[e] >= 0 ? subgroup_for(owner_[e], common_count[e])
                                         : cn_group_for(hub_commons(static_cast<int32_t>(e)));
        subgroups_[g].members.push(static_cast<int32_t>(e));
        sg_of_[e] = g;
      }
    }
    queue_.insert_all(plain);
    for (int32_t g = 0; g < static_cast<int32_t>(subgroups_.size()); ++g) queue_token(g);
  }

  // Removes the best edge that `allow(e)` accepts and re-keys the candidates it affected; returns its id, or
  // -1 when no candidate is left. allow(e) is asked about the best candidate (its key exact); it returns
  // true when e may go (its removal is then recorded by the caller's guards), false when e is forbidden for
  // good: e stays in the graph, leaves the queue and is never re-keyed again (cpu/removal_guards.h).
  template <typename Allow>
  int32_t step(Allow&& allow) {
    if (L_ == 3) return step_l3(allow);
    int32_t best = -1;
    while (best < 0) {
      if (queue_.empty()) return -1;
      const int32_t top = queue_.top();
      queue_.pop_top();
      if (allow(top)) {
        best = top;
      } else {
        discarded_[top] = 1;
      }
    }
    const int32_t a = eu_[best], b = ev_[best];
    std::vector<int32_t> ball;
    collect_ball(a, b, ball);  // before removal: distances can only grow after it
    remove_edge(a, b);
    refresh_scores_near(ball);
    collect_incident(ball);
    for (const int32_t e : affected_) {
      if (discarded_[e]) continue;
      queue_.erase(e);  // found by its stored (old) key
      compute_key(e, keys_[e], main_scratch_);
      queue_.insert(e);
    }
    check_overflow(main_scratch_.expander.overflow());
    return best;
  }

 private:
  // L = 3, lazily. Removing {a, b} changes an edge's key in one of two ways:
  //  * for {a, w} and {b, w} with w a common neighbour of a and b, the common-neighbour set itself
  //    shrinks (b or a leaves it): the key may get better, so these 2c edges are re-keyed at once;
  //  * for every other edge the change is a pure downward shift of some (old score, new score) pairs of
  //    its delta (an endpoint or common neighbour in Δ lost score; its own structure is unchanged),
  //    and shifting a pair (-1 at s, +1 at n < s) down always makes the key strictly worse: the new
  //    +1 lands below every other changed value.
  // So stored keys are exact or optimistic. The set's first edge is re-keyed before it is taken; if
  // its key held, no other edge can beat it (their true keys are at most their stored ones); if not,
  // it goes back with its true key (a "stale pop", as in the 1-WIS lazy heap).
  template <typename Allow>
  int32_t step_l3(Allow& allow) {
    int32_t best = -1, from_group = -1;
    while (best < 0) {
      if (queue_.empty()) return -1;
      const int32_t id = queue_.top();
      if (id < m_) {  // a plain edge
        compute_key(id, fresh_key_, main_scratch_);
        queue_.pop_top();
        if (fresh_key_ != keys_[id]) {
          keys_[id].swap(fresh_key_);
          // Still ahead of every other stored key (each an upper bound of its true key): it is the best.
          if (!queue_.leads(id)) {
            queue_.insert(id);
            continue;
          }
        }
        if (allow(id)) {
          best = id;
        } else {
          discarded_[id] = 1;  // forbidden for good: out of the queue, never re-keyed
        }
        continue;
      }
      const int32_t g = id - static_cast<int32_t>(m_);
      const int32_t top = clean_top(g);
      full_key(g, xkeys_[top], fresh_key_);
      queue_.pop_top();
      if (fresh_key_ != subgroups_[g].key || top != subgroups_[g].top_edge) {
        // stale: the subgroup's best got worse; taken at once if it still leads
        subgroups_[g].key.swap(fresh_key_);
        subgroups_[g].top_edge = top;
        if (!queue_.leads(id)) {
          queue_.insert(id);
          continue;
        }
      }
      {
        subgroups_[g].members.pop();
        subgroups_[g].queued = false;
        sg_of_[top] = -1;
        if (allow(top)) {
          best = top;
          from_group = g;
        } else {  // forbidden for good: out of its subgroup, whose next member gets the token
          discarded_[top] = 1;
          queue_token(g);
        }
      }
    }
    const int32_t a = eu_[best], b = ev_[best];
    std::vector<int32_t> changed;
    remove_edge_l3(a, b, best, changed);
    if (from_group >= 0) queue_token(from_group);  // optimistic key: its top's stored X part
    // changed = {a, b, common neighbours...}: {a, w} loses b from its common neighbours and {b, w} loses a;
    // re-key them exactly.
    for (size_t i = 2; i < changed.size(); ++i) {
      for (const auto& [x, lost] : {std::pair{a, b}, std::pair{b, a}}) {
        const int32_t e = edge_id(x, changed[i]);
        drop_common(e, lost);
        rekey_now(e);
      }
    }
    return best;
  }

  // Re-keys edge e at once (its common-neighbour count changed): a plain edge in the queue, an owned
  // edge into the subgroup of its new count, whose token is improved when e beats it.
  void rekey_now(int32_t e) {
    if (discarded_[e]) return;
    if (owner_[e] < 0 && sg_of_[e] < 0) {  // plain (common-neighbour sets only shrink: it stays plain)
      queue_.erase(e);                     // found by its stored (old) key
      compute_key(e, keys_[e], main_scratch_);
      queue_.insert(e);
      return;
    }
    const int32_t old_group = sg_of_[e];
    subgroups_[old_group].members.erase(e);  // found by its stored (old) X part
    if (subgroups_[old_group].members.empty() && subgroups_[old_group].queued) {
      queue_.erase(static_cast<int32_t>(m_) + old_group);
      subgroups_[old_group].queued = false;
    }
    const int64_t c = compute_x_key(e, xkeys_[e], main_scratch_);
    if (owner_[e] < 0 && main_scratch_.hubs.empty()) {  // lost its last hub common neighbour: plain now
      sg_of_[e] = -1;
      xkeys_[e].clear();
      compute_key(e, keys_[e], main_scratch_);
      queue_.insert(e);
      return;
    }
    const int32_t g = owner_[e] >= 0 ? subgroup_for(owner_[e], c) : cn_group_for(main_scratch_.hubs);
    subgroups_[g].members.push(e);
    sg_of_[e] = g;
    Subgroup& group = subgroups_[g];
    full_key(g, xkeys_[e], fresh_key_);
    if (group.queued) {
      const int order = delta_compare(fresh_key_, group.key);
      const bool better = order < 0 || (order == 0 && e < group.top_edge);
      if (!better) return;
      queue_.erase(static_cast<int32_t>(m_) + g);
    }
    group.key.swap(fresh_key_);
    group.top_edge = e;
    group.queued = true;
    queue_.insert(static_cast<int32_t>(m_) + g);
  }

  // A subgroup's order: its members' X parts, then the edge id.
  struct XOrder {
    const WalkGreedy* self;
    bool operator()(int32_t x, int32_t y) const {
      const int order = delta_compare(self->xkeys_[x], self->xkeys_[y]);
      return order != 0 ? order < 0 : x < y;
    }
  };
  struct SelfId {
    int32_t operator()(int32_t e) const { return e; }
  };
  using Members = IndexedHeap<int32_t, XOrder, SelfId>;

  // A subgroup is either the edges {hub, x} of a hub with c common neighbours (hub >= 0), or (hub = -1) the
  // edges of two small ends whose hub common neighbours are exactly cn_hubs: their keys are X + the pairs
  // (s_h - 2, +1), (s_h, -1) of every h in cn_hubs, the same for all, so s_h falling re-keys the one token,
  // not every edge whose triangles the hub closes (a hub joined to a ring: N edges per removal before).
  struct Subgroup {
    int32_t hub;
    int64_t common;         // c: the common-neighbour count of every member (hub >= 0)
    Members members;        // positions in member_pos_ (an edge is in one subgroup at most)
    ScoreDelta key;         // the token's key in the queue (an optimistic bound of the best member's)
    int32_t top_edge = -1;  // the member that key was computed from (the tie-break id)
    bool queued = false;
    std::vector<int32_t> cn_hubs = {};  // hub = -1: the members' hub common neighbours, ascending
  };

  int32_t subgroup_for(int32_t hub, int64_t c) {
    const int64_t slot = static_cast<int64_t>(hub) * (n_ + 1) + c;
    const auto it = subgroup_index_.find(slot);
    if (it != subgroup_index_.end()) return it->second;
    const int32_t g = static_cast<int32_t>(subgroups_.size());
    subgroups_.push_back(Subgroup{hub, c, Members(XOrder{this}, SelfId{}, &member_pos_), ScoreDelta{}, -1, false});
    subgroup_index_.emplace(slot, g);
    return g;
  }

  // The group of the small-ended edges whose hub common neighbours are `hubs` (ascending).
  int32_t cn_group_for(const std::vector<int32_t>& hubs) {
    const auto it = cn_group_index_.find(hubs);
    if (it != cn_group_index_.end()) return it->second;
    const int32_t g = static_cast<int32_t>(subgroups_.size());
    subgroups_.push_back(Subgroup{-1, 0, Members(XOrder{this}, SelfId{}, &member_pos_), ScoreDelta{}, -1, false, hubs});
    cn_group_index_.emplace(hubs, g);
    return g;
  }
  // The hub common neighbours of edge e, ascending.
  std::vector<int32_t> hub_commons(int32_t e) {
    const auto [common, c] = common_of(e, main_scratch_.common);
    std::vector<int32_t> hubs;
    for (const int32_t w : std::span(common, static_cast<size_t>(c))) {
      if (cn_hub_[w]) hubs.push_back(w);
    }
    std::sort(hubs.begin(), hubs.end());
    return hubs;
  }

  // The subgroup's best member with its X part made current (stale tops re-keyed); must not be empty.
  int32_t clean_top(int32_t g) {
    auto& members = subgroups_[g].members;
    while (true) {
      const int32_t top = members.top();
      compute_x_key(top, fresh_x_, main_scratch_);
      if (fresh_x_ == xkeys_[top]) return top;
      xkeys_[top].swap(fresh_x_);
      if (members.replace_top(top)) return top;  // still ahead of every other member's stored (optimistic) X part
    }
  }

  // (Re)queues the token of a subgroup that has none, keyed by its top's stored X part.
  void queue_token(int32_t g) {
    Subgroup& group = subgroups_[g];
    if (group.queued || group.members.empty()) return;
    group.top_edge = group.members.top();
    full_key(g, xkeys_[group.top_edge], group.key);
    group.queued = true;
    queue_.insert(static_cast<int32_t>(m_) + g);
  }

  // H_hub(c) + X: the full key of a member of subgroup g with X part x.
  void full_key(int32_t g, const ScoreDelta& x, ScoreDelta& out) const {
    out.assign(x.begin(), x.end());
    const Subgroup& group = subgroups_[g];
    if (group.hub >= 0) {
      push_endpoint_pair(out, group.hub, group.common);
    } else {
      for (const int32_t h : group.cn_hubs) push_common_pair_l3(out, s_[h]);
    }
    normalize_delta(out);
  }

  // Id of the current edge {x, y} (must exist).
  int32_t edge_id(int32_t x, int32_t y) const {
    const auto& row = adj_[x];
    return std::lower_bound(row.begin(), row.end(), Neighbor{y, INT32_MIN})->second;
  }

  struct Scratch {
    explicit Scratch(int64_t n) : expander(n), dist_u(n, -1), dist_v(n, -1) {}
    LocalWalkExpander expander;
    std::vector<int32_t> common;
    std::vector<int32_t> hubs;  // compute_x_key of a small-ended edge: its hub common neighbours, ascending
    std::vector<int32_t> dist_u, dist_v, ball_u, ball_v;  // L >= 4: BFS distances (-1: not reached)
  };
  // Queue order: ids < m are plain edges, m + g the token of subgroup g (its key and its top edge's id).
  // Each set element carries the first kPrefixEntries entries of its key encoded so that comparing the
  // encodings compares the keys (delta_better) whenever they differ there; only keys equal on those entries
  // read the full key. Keeps most comparisons inside the tree node (the full keys live behind two pointers).
  // Four, not two: on a power-law graph many keys share their first two entries (1M edges: 2-WIS about 5% faster).
  static constexpr size_t kPrefixEntries = 4;
  struct Prefix {
    // Entry i as (tag, value, count): tag 0 = a negative count at `value` (better the smaller the value),
    // 1 = the key ended, 2 = a positive count (value stored negated: better the larger the value).
    int64_t value[kPrefixEntries] = {};
    int32_t count[kPrefixEntries] = {};
    uint8_t tag[kPrefixEntries] = {1, 1, 1, 1};
    bool more = false;  // the key has more than kPrefixEntries entries
  };
  struct QEntry {
    Prefix prefix;
    int32_t edge;  // the tie-break edge id
    int32_t id;
  };
  static Prefix prefix_of(const ScoreDelta& key) {
    Prefix p;
    for (size_t i = 0; i < kPrefixEntries && i < key.size(); ++i) {
      const KeyEntry e = encode_entry(key[i]);
      p.tag[i] = static_cast<uint8_t>(e.tag);
      p.value[i] = e.value;
      p.count[i] = key[i].second;
    }
    p.more = key.size() > kPrefixEntries;
    return p;
  }
  struct Order {
    const WalkGreedy* self;
    bool operator()(const QEntry& x, const QEntry& y) const {
      const Prefix &a = x.prefix, &b = y.prefix;
      for (size_t i = 0; i < kPrefixEntries; ++i) {
        if (a.tag[i] != b.tag[i]) return a.tag[i] < b.tag[i];
        if (a.tag[i] == 1) break;  // both ended: equal keys
        if (a.value[i] != b.value[i]) return a.value[i] < b.value[i];
        if (a.count[i] != b.count[i]) return a.count[i] < b.count[i];
      }
      if (a.more || b.more) {  // equal on the prefix: the rest decides
        const int order = delta_compare(self->queue_key(x.id), self->queue_key(y.id));
        if (order != 0) return order < 0;
      }
      if (x.edge != y.edge) return x.edge < y.edge;
      return x.id < y.id;
    }
  };
  // The queue: the ordered set plus each queued id's element (to erase it by value after its key changed).
  class Queue {
   public:
    explicit Queue(const WalkGreedy* self) : self_(self), set_(Order{self}) {}
    bool empty() const { return set_.empty(); }
    int32_t top() const { return set_.begin()->id; }
    void pop_top() { set_.erase(set_.begin()); }
    void insert(int32_t id) {
      const QEntry entry = entry_of(id);
      slot(id) = entry;
      set_.insert(entry);
    }
    // Inserts many ids at once: sorted first and then appended with the end hint (amortised O(1) each), a
    // third of the engine's setup when inserted one by one (1M edges: scattered tree nodes, 20 compares each).
    void insert_all(const std::vector<int32_t>& ids) {
      std::vector<QEntry> entries;
      entries.reserve(ids.size());
      for (const int32_t id : ids) {
        entries.push_back(entry_of(id));
        slot(id) = entries.back();
      }
      std::sort(entries.begin(), entries.end(), Order{self_});
      for (const QEntry& entry : entries) set_.insert(set_.end(), entry);
    }
    void erase(int32_t id) { set_.erase(slot(id)); }
    // True when `id` (not queued, its key current) goes before every queued element.
    bool leads(int32_t id) const {
      if (set_.empty()) return true;
      return Order{self_}(entry_of(id), *set_.begin());
    }

   private:
    // The set element of `id` from its current key.
    QEntry entry_of(int32_t id) const { return QEntry{prefix_of(self_->queue_key(id)), self_->queue_edge(id), id}; }
    QEntry& slot(int32_t id) {
      const size_t i = static_cast<size_t>(id);
      if (i >= entries_.size()) entries_.resize(std::max(i + 1, 2 * entries_.size()));
      return entries_[i];
    }
    const WalkGreedy* self_;
    std::set<QEntry, Order> set_;
    std::vector<QEntry> entries_;
  };
  const ScoreDelta& queue_key(int32_t id) const { return id < m_ ? keys_[id] : subgroups_[id - m_].key; }
  int32_t queue_edge(int32_t id) const { return id < m_ ? id : subgroups_[id - m_].top_edge; }
  using Neighbor = std::pair<int32_t, int32_t>;  // (vertex, edge id), rows sorted by vertex

  void check_overflow(bool overflow) const {
    TORCH_CHECK(!overflow, kOverflowPrefix, " closed walk counts of length ", L_,
                " exceed the int64 range (2^63 - 1) during WIS scoring");
  }

  // Common neighbours of a and b in the current graph: a sorted-row merge, or binary searches of the
  // shorter row's entries in the longer one when the lengths differ a lot (a hub and a small vertex).
  // Rows may hold tombstones (removed edges): skipped.
  void common_neighbors(int32_t a, int32_t b, std::vector<int32_t>& out) const {
    out.clear();
    const auto* ra = &adj_[a];
    const auto* rb = &adj_[b];
    if (ra->size() > rb->size()) std::swap(ra, rb);
    if (8 * ra->size() < rb->size()) {
      for (const auto& [w, e] : *ra) {
        if (dead_[e]) continue;
        const auto it = std::lower_bound(rb->begin(), rb->end(), Neighbor{w, INT32_MIN});
        if (it != rb->end() && it->first == w && !dead_[it->second]) out.push_back(w);
      }
      return;
    }
    size_t i = 0, j = 0;
    while (i < ra->size() && j < rb->size()) {
      if ((*ra)[i].first < (*rb)[j].first) {
        ++i;
      } else if ((*rb)[j].first < (*ra)[i].first) {
        ++j;
      } else {
        if (!dead_[(*ra)[i].second] && !dead_[(*rb)[j].second]) out.push_back((*ra)[i].first);
        ++i, ++j;
      }
    }
  }

  // L = 3: the common neighbours of every edge, cached. An edge's set only shrinks, and only when one of
  // the 2c edges of a removal (step_l3) loses a vertex, so stale keys are recomputed from the list instead
  // of by merging two rows (on power-law graphs most merges find nothing: 307M row entries scanned for
  // 0.66M common neighbours at 1M edges). Lists live in one pool, edge by edge; sum_t tri(t) = sum_e c_e
  // gives its size up front, and beyond kCommonCacheEntriesPerEdge per edge the cache is off (merges).
  static constexpr int64_t kCommonCacheEntriesPerEdge = 16;
  void build_common_cache() {
    int64_t total = 0;
    for (const int64_t t : tri_) total += t;
    if (total > kCommonCacheEntriesPerEdge * m_ + (int64_t{1} << 24)) return;
    constexpr int64_t kBlock = 4096;
    const int64_t blocks = (m_ + kBlock - 1) / kBlock;
    std::vector<std::vector<int32_t>> pool_of_block(blocks);
    cn_count_.assign(m_, 0);
    at::parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
      std::vector<int32_t> common;
      for (int64_t blk = begin; blk < end; ++blk) {
        for (int64_t e = blk * kBlock; e < std::min(m_, (blk + 1) * kBlock); ++e) {
          common_neighbors(eu_[e], ev_[e], common);
          cn_count_[e] = static_cast<int32_t>(common.size());
          pool_of_block[blk].insert(pool_of_block[blk].end(), common.begin(), common.end());
        }
      }
    });
    cn_offset_.resize(m_ + 1);
    cn_offset_[0] = 0;
    for (int64_t e = 0; e < m_; ++e) cn_offset_[e + 1] = cn_offset_[e] + cn_count_[e];
    cn_pool_.reserve(cn_offset_[m_]);
    for (auto& block : pool_of_block) {
      cn_pool_.insert(cn_pool_.end(), block.begin(), block.end());
      std::vector<int32_t>().swap(block);
    }
    cn_cached_ = true;
  }
  // The current common neighbours of edge e: its cached list, or a merge into `scratch` (cache off).
  std::pair<const int32_t*, int64_t> common_of(int32_t e, std::vector<int32_t>& scratch) const {
    if (cn_cached_) return {cn_pool_.data() + cn_offset_[e], cn_count_[e]};
    common_neighbors(eu_[e], ev_[e], scratch);
    return {scratch.data(), static_cast<int64_t>(scratch.size())};
  }
  void drop_common(int32_t e, int32_t lost) {
    if (!cn_cached_) return;
    int32_t* list = cn_pool_.data() + cn_offset_[e];
    int32_t& count = cn_count_[e];
    for (int32_t i = 0; i < count; ++i) {
      if (list[i] == lost) {
        list[i] = list[--count];
        return;
      }
    }
    TORCH_CHECK(false, "wis_greedy: internal error: common-neighbour cache out of date");
  }

  int64_t closed_walks(LocalWalkExpander& expander, int64_t t, int32_t skip_edge) const {
    if (adj_[t].empty() || (adj_[t].size() == 1 && adj_[t][0].second == skip_edge)) return 0;  // isolated: s = 0
    return expander.closed_walks(t, L_, [&](int64_t i, auto&& f) {
      for (const auto& [j, e] : adj_[i]) {
        if (e != skip_edge) f(j);
      }
    });
  }

  int64_t score_l3(int32_t t) const { return singleton_score_l3(deg_[t], tri_[t]); }

  // L = 3: the X part of a grouped edge's key, normalised; returns its common-neighbour count c. An owned edge:
  // the pairs of its non-owner end and of every common neighbour. An edge of two small ends: the pairs of both
  // ends and of its small common neighbours (its hub common neighbours land in scratch.hubs, ascending).
  int64_t compute_x_key(int32_t e, ScoreDelta& key, Scratch& scratch) const {
    key.clear();
    const auto [common, c] = common_of(e, scratch.common);
    if (owner_[e] >= 0) {
      push_endpoint_pair(key, eu_[e] == owner_[e] ? ev_[e] : eu_[e], c);
      push_common_pairs(key, common, c);
    } else {  // both ends small: the hub common neighbours' pairs are the group's (full_key)
      push_endpoint_pair(key, eu_[e], c);
      push_endpoint_pair(key, ev_[e], c);
      scratch.hubs.clear();
      for (const int32_t w : std::span(common, static_cast<size_t>(c))) {
        if (cn_hub_[w]) {
          scratch.hubs.push_back(w);
        } else {
          push_common_pair_l3(key, s_[w]);
        }
      }
      std::sort(scratch.hubs.begin(), scratch.hubs.end());
    }
    normalize_delta(key);
    return c;
  }

  // L = 3 key pairs of an endpoint x and of the common neighbours (cpu/wis_score.h), from the kept scores.
  void push_endpoint_pair(ScoreDelta& key, int32_t x, int64_t c) const {
    push_endpoint_pair_l3(key, deg_[x], tri_[x], c, s_[x]);
  }
  void push_common_pairs(ScoreDelta& key, const int32_t* common, int64_t count) const {
    for (const int32_t w : std::span(common, static_cast<size_t>(count))) push_common_pair_l3(key, s_[w]);
  }

  void compute_key(int32_t e, ScoreDelta& key, Scratch& scratch) const {
    key.clear();
    const int32_t u = eu_[e], v = ev_[e];
    if (L_ == 3) {
      const auto [common, c] = common_of(e, scratch.common);
      for (const int32_t x : {u, v}) push_endpoint_pair(key, x, c);
      push_common_pairs(key, common, c);
    } else {
      // Δ_e = {t : d(t,u) + d(t,v) <= L - 1}: breadth-first search from u and from v to depth L - 1.
      bfs(u, L_ - 1, scratch.dist_u, scratch.ball_u);
      bfs(v, L_ - 1, scratch.dist_v, scratch.ball_v);
      for (const int32_t t : scratch.ball_u) {
        if (scratch.dist_v[t] >= 0 && scratch.dist_u[t] + scratch.dist_v[t] <= L_ - 1) {
          key.push_back({closed_walks(scratch.expander, t, e), +1});
          key.push_back({s_[t], -1});
        }
      }
      for (const int32_t t : scratch.ball_u) scratch.dist_u[t] = -1;
      for (const int32_t t : scratch.ball_v) scratch.dist_v[t] = -1;
    }
    normalize_delta(key);
  }

  // Breadth-first search from `root` to `depth`: dist[x] set for the reached x (listed in `ball`);
  // the caller resets them to -1.
  void bfs(int32_t root, int64_t depth, std::vector<int32_t>& dist, std::vector<int32_t>& ball) const {
    ball.assign(1, root);
    dist[root] = 0;
    for (size_t head = 0; head < ball.size(); ++head) {
      const int32_t x = ball[head];
      if (dist[x] >= depth) break;  // ball is in BFS order: every later vertex is this deep too
      for (const auto& nb : adj_[x]) {
        if (dist[nb.first] < 0) {
          dist[nb.first] = dist[x] + 1;
          ball.push_back(nb.first);
        }
      }
    }
  }

  void erase_neighbor(int32_t x, int32_t y) {
    auto& row = adj_[x];
    auto it = std::lower_bound(row.begin(), row.end(), Neighbor{y, INT32_MIN});
    row.erase(it);
  }
  void remove_edge(int32_t a, int32_t b) {  // L >= 4 (no tombstones there)
    erase_neighbor(a, b);
    erase_neighbor(b, a);
    --deg_[a];
    --deg_[b];
  }

  // L = 3: the edge becomes a tombstone in both rows (O(1) at a hub); a row is compacted when half of
  // it is dead, so rows stay O(degree) long.
  void bury_edge(int32_t a, int32_t b, int32_t e) {
    dead_[e] = 1;
    for (const int32_t x : {a, b}) {
      --deg_[x];
      if (++dead_in_row_[x] > deg_[x]) {
        auto& row = adj_[x];
        row.erase(std::remove_if(row.begin(), row.end(), [&](const Neighbor& nb) { return dead_[nb.second] != 0; }),
                  row.end());
        dead_in_row_[x] = 0;
      }
    }
  }

  void remove_edge_l3(int32_t a, int32_t b, int32_t e, std::vector<int32_t>& changed) {
    const auto [common, c] = common_of(e, main_scratch_.common);
    bury_edge(a, b, e);
    tri_[a] -= c;
    tri_[b] -= c;
    changed.assign({a, b});
    for (const int32_t w : std::span(common, static_cast<size_t>(c))) {
      tri_[w] -= 1;
      changed.push_back(w);
    }
    for (const int32_t t : changed) s_[t] = score_l3(t);
  }

  void mark_edge(int32_t e) {
    if (edge_stamp_[e] != stamp_) {
      edge_stamp_[e] = stamp_;
      affected_.push_back(e);
    }
  }

  // L >= 4: every vertex within distance L of {a, b} (current graph, before the removal), with its
  // distance in ball_depth_.
  void collect_ball(int32_t a, int32_t b, std::vector<int32_t>& ball) {
    ++vstamp_;
    ball = {a, b};
    vertex_stamp_[a] = vertex_stamp_[b] = vstamp_;
    ball_depth_[a] = ball_depth_[b] = 0;
    for (size_t head = 0; head < ball.size(); ++head) {
      const int32_t x = ball[head];
      if (ball_depth_[x] >= L_) break;
      for (const auto& nb : adj_[x]) {
        if (vertex_stamp_[nb.first] != vstamp_) {
          vertex_stamp_[nb.first] = vstamp_;
          ball_depth_[nb.first] = ball_depth_[x] + 1;
          ball.push_back(nb.first);
        }
      }
    }
  }

  // Recomputes s_t after removing {a, b} where it can change: d(t,a) + d(t,b) <= L - 1 implies
  // min(d(t,a), d(t,b)) <= L / 2 (the two distances differ by at most one).
  void refresh_scores_near(const std::vector<int32_t>& ball) {
    for (const int32_t t : ball) {
      if (ball_depth_[t] <= L_ / 2) s_[t] = closed_walks(main_scratch_.expander, t, -1);
    }
  }

  void collect_incident(const std::vector<int32_t>& ball) {
    affected_.clear();
    ++stamp_;
    for (const int32_t x : ball) {
      for (const auto& [y, e] : adj_[x]) mark_edge(e);
    }
  }

  int64_t n_, m_, L_;
  const std::vector<int32_t>& eu_;
  const std::vector<int32_t>& ev_;
  std::vector<std::vector<Neighbor>> adj_;
  std::vector<int64_t> deg_;          // current degrees (rows may hold tombstones at L = 3)
  std::vector<int32_t> dead_in_row_;  // tombstones per row
  std::vector<int64_t> s_, tri_;
  std::vector<ScoreDelta> keys_;     // plain edges: the full key
  std::vector<ScoreDelta> xkeys_;    // owned edges (L = 3): the X part
  std::vector<int32_t> owner_;       // the hub owning an edge, -1 for a plain edge
  std::vector<int32_t> sg_of_;       // an owned edge's subgroup (-1 once removed)
  std::vector<uint8_t> dead_;        // removed edges (tombstones)
  std::vector<uint8_t> discarded_;   // candidates the guards forbade: in the graph, out of the queue for good
  std::vector<int32_t> member_pos_;  // each edge's position in its subgroup's heap (-1: in none)
  std::vector<Subgroup> subgroups_;
  std::unordered_map<int64_t, int32_t> subgroup_index_;     // hub * (n + 1) + c -> subgroup
  std::map<std::vector<int32_t>, int32_t> cn_group_index_;  // hub common neighbours -> subgroup
  std::vector<uint8_t> cn_hub_;  // L = 3: initial degree >= hub_degree (a hub as a common neighbour)
  ScoreDelta fresh_x_;
  std::vector<uint32_t> edge_stamp_, vertex_stamp_;
  uint32_t stamp_ = 0, vstamp_ = 0;
  std::vector<int32_t> ball_depth_;
  std::vector<int32_t> affected_;
  std::vector<int64_t> cn_offset_;  // L = 3 cache of common neighbours (build_common_cache)
  std::vector<int32_t> cn_count_, cn_pool_;
  bool cn_cached_ = false;
  ScoreDelta fresh_key_;
  Scratch main_scratch_;
  Queue queue_;
};

}  // namespace rankcore::ops::cpu
