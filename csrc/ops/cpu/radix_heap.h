// A monotone radix min-heap of (uint64 key, uint64 payload): every pushed key must be >= the last popped
// key, which holds for lazy greedy algorithms whose keys only move one way. Entries sit in 65 buckets by
// the highest bit where they differ from the last popped key; a pop that finds bucket 0 empty
// redistributes the first non-empty bucket around its minimum. O(1) push, amortised O(log range) pop,
// and sequential memory access, against a binary heap's log(size) scattered swaps.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

namespace rankcore::ops::cpu {

class RadixHeap {
 public:
  using Item = std::pair<uint64_t, uint64_t>;  // 16 bytes either way: a wider payload is free

  void push(uint64_t key, uint64_t payload) { buckets_[bucket_of(key)].push_back({key, payload}); }

  // The item with the smallest key (ties: any); the heap must not be empty.
  Item pop() {
    if (buckets_[0].empty()) {
      int i = 1;
      while (buckets_[i].empty()) ++i;
      auto& from = buckets_[i];
      uint64_t smallest = from[0].first;
      for (const Item& it : from) smallest = it.first < smallest ? it.first : smallest;
      last_ = smallest;
      for (const Item& it : from) buckets_[bucket_of(it.first)].push_back(it);
      from.clear();
    }
    const Item top = buckets_[0].back();
    buckets_[0].pop_back();
    return top;
  }

 private:
  int bucket_of(uint64_t key) const { return key == last_ ? 0 : 64 - __builtin_clzll(key ^ last_); }

  std::array<std::vector<Item>, 65> buckets_;
  uint64_t last_ = 0;
};

}  // namespace rankcore::ops::cpu
