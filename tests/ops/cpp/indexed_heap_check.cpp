// cpu::IndexedHeap (csrc/ops/cpu/indexed_heap.h), the addressable 4-ary min-heap of the 2-WIS subgroups, against a
// std::set under the same strict total order on random operation sequences: pushes, pops, erases of present and
// absent ids, replace_top with a better, equal or worse key (its bool must say whether the new entry goes before
// every other entry), assign (heapify) of a random batch, moves of the heap, and two heaps sharing one positions
// vector with disjoint id sets (contiguous ranges or a random split; empty or pre-sized positions). After every
// operation each heap's top(), size() and empty() must match its reference and contains(id) must be right for every
// id (and for ids past the positions vector); at the end both heaps are drained in the reference's order.
//  * keyed ids (as the engine's subgroups: XOrder on xkeys_): int32_t ids ordered by int64 keys in an outside array,
//    then by id; a key changes only while its id is in no heap, or for the top just before replace_top(top);
//  * packed ints: int64_t entries key * 2^20 + id under std::less (the key travels in the entry; replace_top gets a
//    new value with the same id);
//  * plain ints: int32_t entries that are their own ids under std::less (replace_top only with the top itself).
// Heaps of 0, 1, 2, 5 entries (the 4-ary edge cases: 5 is the first size with a grandchild), around full levels
// (21 = 1 + 4 + 16) and of a few thousand. A FAIL line names the variant, the case, the seed and the step.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "ops/cpu/indexed_heap.h"

using rankcore::ops::cpu::IndexedHeap;

static int failures = 0;

// Entries that are ids ordered by keys kept outside the heap (the engine's pattern).
struct KeyedIds {
  static constexpr const char* kName = "keyed ids";
  static constexpr bool kRekeyable = true;
  using Entry = int32_t;
  struct Less {
    const std::vector<int64_t>* keys;
    bool operator()(int32_t a, int32_t b) const {
      const int64_t ka = (*keys)[static_cast<size_t>(a)], kb = (*keys)[static_cast<size_t>(b)];
      return ka != kb ? ka < kb : a < b;
    }
  };
  struct IdOf {
    int32_t operator()(int32_t e) const { return e; }
  };
  std::vector<int64_t> keys;
  Less less() const { return Less{&keys}; }
  Entry entry(int32_t id) const { return id; }
};

// Entries that carry their key: key * 2^20 + id (ordered by key, then id, negative keys included).
struct PackedInts {
  static constexpr const char* kName = "packed ints";
  static constexpr bool kRekeyable = true;
  static constexpr int64_t kIdSpan = int64_t{1} << 20;
  using Entry = int64_t;
  using Less = std::less<int64_t>;
  struct IdOf {
    int32_t operator()(int64_t e) const { return static_cast<int32_t>(e & (kIdSpan - 1)); }
  };
  std::vector<int64_t> keys;  // the key the next entry of each id carries
  Less less() const { return Less{}; }
  Entry entry(int32_t id) const { return keys[static_cast<size_t>(id)] * kIdSpan + id; }
};

// Plain ints, their own ids and keys.
struct PlainInts {
  static constexpr const char* kName = "plain ints";
  static constexpr bool kRekeyable = false;
  using Entry = int32_t;
  using Less = std::less<int32_t>;
  struct IdOf {
    int32_t operator()(int32_t e) const { return e; }
  };
  std::vector<int64_t> keys;  // unused
  Less less() const { return Less{}; }
  Entry entry(int32_t id) const { return id; }
};

enum class Layout { kRanges, kMixed };  // heap 0 takes ids [0, n0), heap 1 [n0, n0 + n1); or a random split

struct Case {
  const char* name;
  int32_t n0, n1;  // the two heaps' id counts (n1 = 0: heap 1 stays empty)
  Layout layout;
  bool presized;      // positions start at the full size (else empty: they grow on demand)
  int64_t key_range;  // random keys in [0, key_range): small ranges give many equal keys (the id breaks ties)
  size_t steps;
  uint64_t seeds;  // runs with seeds 1 .. seeds
};

template <typename P>
class Run {
 public:
  using Entry = typename P::Entry;
  using Less = typename P::Less;
  using IdOf = typename P::IdOf;
  using Heap = IndexedHeap<Entry, Less, IdOf>;

  Run(const Case& c, uint64_t seed) : case_(c), seed_(seed), rng_(seed) {}

  void go() {
    const int32_t universe = case_.n0 + case_.n1;
    probe_end_ = universe + 8;  // ids past every heap's: never in one, past the positions vector at first
    policy_.keys.resize(static_cast<size_t>(probe_end_));
    for (auto& k : policy_.keys) k = random_key();
    in_.assign(static_cast<size_t>(probe_end_), 0);
    if (case_.presized) positions_.assign(static_cast<size_t>(universe), -1);
    std::vector<int32_t> order(static_cast<size_t>(universe));
    for (int32_t i = 0; i < universe; ++i) order[static_cast<size_t>(i)] = i;
    if (case_.layout == Layout::kMixed) std::shuffle(order.begin(), order.end(), rng_);
    sides_.reserve(2);
    for (int s = 0; s < 2; ++s) {
      const auto first = order.begin() + (s == 0 ? 0 : case_.n0);
      sides_.push_back(Side{Heap(policy_.less(), IdOf{}, &positions_), std::set<Entry, Less>(policy_.less()),
                            std::vector<int32_t>(first, first + (s == 0 ? case_.n0 : case_.n1))});
    }
    if (!verify("start")) return;
    const size_t phase = std::min<size_t>(2 * static_cast<size_t>(universe) + 16, 1'000);  // growing, shrinking
    size_t largest = 0;
    for (step_ = 0; step_ < case_.steps; ++step_) {
      Side& side = sides_[rng_() % 2];
      const bool grow = (step_ / phase) % 2 == 0;
      const char* op = operate(side, grow);
      if (!verify(op)) return;
      largest = std::max({largest, sides_[0].ref.size(), sides_[1].ref.size()});
    }
    // The workload itself (it does not depend on the heap): some heap held all of its ids at some point.
    check(largest == static_cast<size_t>(std::max(case_.n0, case_.n1)), "no heap was ever full (test too short)",
          "the last step");
    for (Side& side : sides_) {  // drain in the reference's order
      while (!side.ref.empty()) {
        pop(side);
        if (!verify("drain")) return;
      }
    }
  }

 private:
  struct Side {
    Heap heap;
    std::set<Entry, Less> ref;
    std::vector<int32_t> ids;  // the ids this heap may hold
  };

  bool check(bool ok, const char* what, const char* op) {
    if (!ok && failures++ < 10) {
      std::printf("FAIL %s after %s (%s, case %s, seed %llu, step %zu)\n", what, op, P::kName, case_.name,
                  (unsigned long long)seed_, step_);
    }
    return ok;
  }

  int64_t random_key() { return static_cast<int64_t>(rng_() % static_cast<uint64_t>(case_.key_range)); }
  int32_t id_of(const Entry& e) const { return IdOf{}(e); }
  size_t at(int32_t id) const { return static_cast<size_t>(id); }

  // A random id of `side` that is (present = true) or is not in its heap; -1 when there is none.
  int32_t pick(const Side& side, bool present) {
    if (side.ids.empty()) return -1;
    for (int tries = 0; tries < 8; ++tries) {
      const int32_t id = side.ids[rng_() % side.ids.size()];
      if ((in_[at(id)] != 0) == present) return id;
    }
    const size_t start = rng_() % side.ids.size();
    for (size_t i = 0; i < side.ids.size(); ++i) {
      const int32_t id = side.ids[(start + i) % side.ids.size()];
      if ((in_[at(id)] != 0) == present) return id;
    }
    return -1;
  }

  void pop(Side& side) {
    in_[at(id_of(*side.ref.begin()))] = 0;
    side.ref.erase(side.ref.begin());
    side.heap.pop();
  }

  void push(Side& side, int32_t id) {
    if (P::kRekeyable && rng_() % 2 == 0) policy_.keys[at(id)] = random_key();  // re-keyed while out
    const Entry e = policy_.entry(id);
    in_[at(id)] = 1;
    side.ref.insert(e);
    side.heap.push(e);
  }

  const char* operate(Side& side, bool grow) {
    const int r = static_cast<int>(rng_() % 100);
    if (r < 50) {  // the size changes: a push, or a pop or an erase of a present id
      const int32_t absent = pick(side, false);
      if (absent >= 0 && (side.ref.empty() || static_cast<int>(rng_() % 100) < (grow ? 75 : 25))) {
        push(side, absent);
        return "push";
      }
      if (side.ref.empty()) return "nothing (no id to push or remove)";
      if (rng_() % 2 == 0) {
        pop(side);
        return "pop";
      }
      const int32_t id = pick(side, true);
      const Entry e = policy_.entry(id);
      in_[at(id)] = 0;
      side.ref.erase(e);
      side.heap.erase(id);
      return "erase (present id)";
    }
    if (r < 58) {  // an absent id: one of this heap's, or past every heap's
      int32_t id = rng_() % 2 == 0 ? pick(side, false) : -1;
      if (id < 0) id = case_.n0 + case_.n1 + static_cast<int32_t>(rng_() % 8);
      side.heap.erase(id);
      return "erase (absent id)";
    }
    if (r < 78) return replace_top(side);
    if (r < 84) return assign(side);
    if (r < 92) {  // keys change while their ids are in no heap
      for (int i = 0; i < 3 && P::kRekeyable; ++i) {
        const int32_t id = pick(side, false);
        if (id >= 0) policy_.keys[at(id)] = random_key();
      }
      return "re-key of absent ids";
    }
    if (r < 96) {  // moved away and back (the engine keeps its heaps in a growing vector)
      Heap moved(std::move(side.heap));
      side.heap = std::move(moved);
      return "move";
    }
    const int32_t absent = pick(side, false);  // a push of the best key so far: sift_up to the root
    if (absent < 0 || !P::kRekeyable) return "nothing (no id to push at the root)";
    policy_.keys[at(absent)] = side.ref.empty() ? 0 : policy_.keys[at(id_of(*side.ref.begin()))] - 1;
    const Entry e = policy_.entry(absent);
    in_[at(absent)] = 1;
    side.ref.insert(e);
    side.heap.push(e);
    return "push (new best)";
  }

  const char* replace_top(Side& side) {
    if (side.ref.empty()) return "nothing (replace_top on an empty heap)";
    const int32_t id = id_of(*side.ref.begin());
    side.ref.erase(side.ref.begin());  // before the key changes: the set finds it by its key
    const int variant = P::kRekeyable ? static_cast<int>(rng_() % 4) : 1;
    const int64_t old_key = policy_.keys[at(id)];
    const char* op = "replace_top";
    switch (variant) {
      case 0:
        policy_.keys[at(id)] = old_key - 1 - static_cast<int64_t>(rng_() % 3);
        op = "replace_top (better key)";
        break;
      case 1:
        op = "replace_top (same key)";
        break;
      case 2:
        policy_.keys[at(id)] = old_key + 1 + (old_key < 4 * case_.key_range ? random_key() : 0);  // no drift past
        op = "replace_top (worse key)";
        break;
      default:
        policy_.keys[at(id)] = random_key();
        op = "replace_top (random key)";
    }
    const Entry e = policy_.entry(id);
    const Less less = policy_.less();
    bool first = true;  // e goes before every other entry (by the order itself, not the set's begin() only)
    for (const Entry& other : side.ref) first = first && less(e, other) && !less(other, e);
    check(first == (side.ref.empty() || less(e, *side.ref.begin())), "the reference's order is not total", op);
    if (variant <= 1) check(first, "the test's better or same key does not go first", op);
    side.ref.insert(e);
    const bool got = side.heap.replace_top(e);
    check(got == first, first ? "replace_top returned false for a new top" : "replace_top returned true for a non-top",
          op);
    return op;
  }

  const char* assign(Side& side) {
    std::vector<int32_t> absent;  // ids in no heap (this heap's present ones are not "not in the heap yet")
    for (int32_t id : side.ids) {
      if (in_[at(id)] == 0) absent.push_back(id);
    }
    std::shuffle(absent.begin(), absent.end(), rng_);
    const size_t sizes[] = {0, 1, 2, 5, rng_() % (absent.size() + 1), absent.size()};
    const size_t count = std::min(absent.size(), sizes[rng_() % 6]);
    for (const Entry& e : side.ref) in_[at(id_of(e))] = 0;
    side.ref.clear();
    std::vector<Entry> batch;
    for (size_t i = 0; i < count; ++i) {
      const int32_t id = absent[i];
      if (P::kRekeyable && rng_() % 2 == 0) policy_.keys[at(id)] = random_key();
      batch.push_back(policy_.entry(id));
      in_[at(id)] = 1;
      side.ref.insert(batch.back());
    }
    side.heap.assign(std::move(batch));
    return "assign";
  }

  bool verify(const char* op) {
    for (size_t s = 0; s < sides_.size(); ++s) {
      const Side& side = sides_[s];
      if (!check(side.heap.size() == side.ref.size(), "size() differs from the reference's", op)) return false;
      if (!check(side.heap.empty() == side.ref.empty(), "empty() differs from the reference's", op)) return false;
      if (!side.ref.empty() && !check(side.heap.top() == *side.ref.begin(), "top() is not the reference's first", op))
        return false;
    }
    for (int32_t id = 0; id < probe_end_; ++id) {  // positions are shared: both heaps see every id
      for (const Side& side : sides_) {
        if (!check(side.heap.contains(id) == (in_[at(id)] != 0), "contains(id) is wrong", op)) return false;
      }
    }
    return check(!sides_[0].heap.contains(int32_t{1} << 30), "contains(id) is true far past the positions", op);
  }

  const Case& case_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  P policy_;
  std::vector<int32_t> positions_;
  std::vector<Side> sides_;
  std::vector<char> in_;  // id -> in a heap (which one: its owner, sides_[s].ids)
  int32_t probe_end_ = 0;
  size_t step_ = 0;
};

int main() {
  std::setvbuf(stdout, nullptr, _IONBF, 0);  // a FAIL line survives a later crash
  const Case cases[] = {
      // name, ids of heap 0 and heap 1, layout, positions pre-sized, key range, steps, seeds
      {"size 0", 0, 0, Layout::kRanges, false, 4, 100, 2},
      {"size 1", 1, 0, Layout::kRanges, false, 4, 500, 20},
      {"size 2", 2, 0, Layout::kRanges, false, 4, 1'000, 20},
      {"size 3", 3, 0, Layout::kRanges, true, 4, 1'000, 20},
      {"size 4", 4, 0, Layout::kRanges, false, 4, 1'000, 20},
      {"size 5", 5, 0, Layout::kRanges, false, 3, 2'000, 20},
      {"size 5, distinct keys", 5, 0, Layout::kRanges, true, 1 << 30, 2'000, 20},
      {"size 6", 6, 0, Layout::kRanges, true, 1 << 30, 2'000, 20},
      {"size 9", 9, 0, Layout::kRanges, false, 5, 2'000, 20},
      {"size 21", 21, 0, Layout::kRanges, false, 8, 3'000, 10},
      {"size 22", 22, 0, Layout::kRanges, true, 1 << 30, 3'000, 10},
      {"size 100", 100, 0, Layout::kRanges, false, 20, 5'000, 4},
      {"size 3000, many equal keys", 3'000, 0, Layout::kRanges, false, 16, 6'000, 1},
      {"size 3000", 3'000, 0, Layout::kRanges, true, 1 << 30, 6'000, 1},
      {"two heaps 0 + 5", 0, 5, Layout::kRanges, false, 4, 1'000, 10},
      {"two heaps 1 + 2", 1, 2, Layout::kMixed, false, 2, 1'000, 10},
      {"two heaps 5 + 5", 5, 5, Layout::kRanges, false, 3, 3'000, 20},
      {"two heaps 5 + 5 mixed", 5, 5, Layout::kMixed, true, 3, 3'000, 20},
      {"two heaps 300 + 40 mixed", 300, 40, Layout::kMixed, false, 50, 5'000, 2},
      {"two heaps 2000 + 2000", 2'000, 2'000, Layout::kRanges, false, 64, 6'000, 1},
      {"two heaps 2 + 2500 mixed", 2, 2'500, Layout::kMixed, true, 1 << 30, 5'000, 1},
  };
  int runs = 0;
  for (const Case& c : cases) {
    for (uint64_t seed = 1; seed <= c.seeds; ++seed) {
      Run<KeyedIds>(c, seed).go();
      Run<PackedInts>(c, seed).go();
      Run<PlainInts>(c, seed).go();
      runs += 3;
    }
  }
  if (failures == 0) std::printf("ok %d indexed heap workloads\n", runs);
  return failures == 0 ? 0 : 1;
}
