// Hub groups for exact 1-WIS: the edges of high-degree vertices, kept so that a hub losing an edge costs
// O(log deg) instead of re-keying every edge of the hub.
//
// The plain lazy greedy keys every edge by (min deg, max deg, id). When a hub h of degree D loses an
// edge, every one of its edges becomes stale and is re-keyed once when it reaches the top of the heap:
// a star with D leaves costs D^2 / 2 stale pops. Here the edges of a hub h whose other endpoint x has
// deg(x) <= deg(h) ("h owns the edge") live in h's group instead of the global heap, ordered by
// (deg(x) descending, id ascending). Every edge e = {h, x} owned by h has the key (deg x, deg h, id),
// so ordering the group by (deg x, id) orders it by the global key, and that order does NOT change when
// deg(h) drops. The group appears in the global heap as ONE entry whose key is its best edge's key.
//
// What can change:
//  * deg(x) drops (x lost another edge): x's entries in its owners' groups are stale (their stored
//    deg(x) is too high); they are re-keyed lazily when they reach the top of their group, exactly as
//    the global heap treats stale entries. (Stored degrees are upper bounds: a group's stored top is an
//    upper bound of its true best edge.)
//  * deg(h) drops from d to d - 1: an owned edge with deg(x) = d now has deg(x) > deg(h), so its key is
//    (deg h, deg x) and h no longer owns it. Those edges are the group's top entries (stored deg >= d);
//    they move out at once ("flip"): into x's group if x is a hub, else to the global heap as a plain
//    edge entry. A flip can IMPROVE x's group key, so the caller pushes a fresh group entry then.
//  * The group's own global entry goes stale (its best edge's key got worse): the caller re-keys it
//    when popped, like any stale entry. Each group keeps the key of its one live entry; entries with
//    another key are superseded duplicates and are dropped when popped.
// Hubs are the vertices whose initial degree reaches a threshold; an edge whose owner is no hub (or
// stops owning it towards a non-hub) is a plain entry for good: both its endpoints' degrees are then
// below the threshold, so its stale re-keys cost O(threshold) per removal at most.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace rankcore::ops::cpu {

class HubGroups {
 public:
  static constexpr uint64_t kNoEntry = std::numeric_limits<uint64_t>::max();

  struct Member {
    int32_t deg_other;  // stored deg(other endpoint): an upper bound of its current degree
    int32_t id;         // edge id (lexicographic (u, v) rank: the tie rule)
    int32_t other;      // the endpoint that is not the hub
  };

  // group_of[v] >= 0 numbers the hubs; -1 for other vertices.
  explicit HubGroups(std::vector<int32_t> group_of, int64_t num_groups)
      : group_of_(std::move(group_of)),
        members_(static_cast<size_t>(num_groups)),
        entry_key_(static_cast<size_t>(num_groups), kNoEntry),
        hub_of_group_(static_cast<size_t>(num_groups)) {
    for (size_t v = 0; v < group_of_.size(); ++v) {
      if (group_of_[v] >= 0) hub_of_group_[group_of_[v]] = static_cast<int32_t>(v);
    }
  }

  int32_t group_of(int64_t v) const { return group_of_[v]; }
  int32_t hub(int32_t g) const { return hub_of_group_[g]; }
  uint64_t& entry_key(int32_t g) { return entry_key_[g]; }
  bool empty(int32_t g) const { return members_[g].empty(); }

  // Adds an edge to group g (no heap order restored: call build() once after bulk adds, or add()).
  void append(int32_t g, Member m) { members_[g].push_back(m); }
  void build(int32_t g) { std::make_heap(members_[g].begin(), members_[g].end(), Worse{}); }
  void add(int32_t g, Member m) {
    auto& h = members_[g];
    h.push_back(m);
    std::push_heap(h.begin(), h.end(), Worse{});
  }

  // The best member of g with its stored degree made current (stale tops re-keyed); g must not be empty.
  template <typename Degree>
  const Member& clean_top(int32_t g, const Degree& degree) {
    auto& h = members_[g];
    while (true) {
      const int32_t now = degree(h.front().other);
      if (now == h.front().deg_other) return h.front();
      std::pop_heap(h.begin(), h.end(), Worse{});
      h.back().deg_other = now;  // degrees only fall: the entry moves down
      std::push_heap(h.begin(), h.end(), Worse{});
    }
  }

  Member pop_top(int32_t g) {
    auto& h = members_[g];
    std::pop_heap(h.begin(), h.end(), Worse{});
    const Member m = h.back();
    h.pop_back();
    return m;
  }

  // The hub of g fell from degree old_degree to old_degree - 1: hands every member whose other endpoint
  // now has the larger degree (= old_degree) to `flip(member)`, which takes it out of g.
  template <typename Degree, typename Flip>
  void release_overtaken(int32_t g, int32_t old_degree, const Degree& degree, Flip&& flip) {
    auto& h = members_[g];
    while (!h.empty() && h.front().deg_other >= old_degree) {
      std::pop_heap(h.begin(), h.end(), Worse{});
      Member m = h.back();
      h.pop_back();
      const int32_t now = degree(m.other);
      if (now >= old_degree) {  // = old_degree: the owner had the larger degree until now
        flip(m);
      } else {  // merely stale: back in with its current degree (now below old_degree: not seen again)
        m.deg_other = now;
        h.push_back(m);
        std::push_heap(h.begin(), h.end(), Worse{});
      }
    }
  }

 private:
  struct Worse {  // heap order: the front is the largest deg_other, then the smallest id
    bool operator()(const Member& a, const Member& b) const {
      if (a.deg_other != b.deg_other) return a.deg_other < b.deg_other;
      return a.id > b.id;
    }
  };

  std::vector<int32_t> group_of_;
  std::vector<std::vector<Member>> members_;
  std::vector<uint64_t> entry_key_;
  std::vector<int32_t> hub_of_group_;
};

}  // namespace rankcore::ops::cpu
