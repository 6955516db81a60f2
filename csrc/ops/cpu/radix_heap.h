// A monotone radix min-heap of (uint64 key, uint64 payload): every pushed key must be >= the last popped
// key, which holds for lazy greedy algorithms whose keys only move one way. Entries sit in 65 buckets by
// the highest bit where they differ from the last popped key; a pop that finds bucket 0 empty
// redistributes the first non-empty bucket around its minimum. O(1) push, amortised O(log range) pop,
// and sequential memory access, against a binary heap's log(size) scattered swaps. With sorted_bits,
// bucket 0 holds a whole group of keys (equal above the low bits), sorted when it becomes current.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace rankcore::ops::cpu {

class RadixHeap {
 public:
  using Item = std::pair<uint64_t, uint64_t>;  // 16 bytes either way: a wider payload is free

  // Keys equal in all bits but the lowest `sorted_bits` form one group: the radix levels split groups
  // only, and a group is sorted once when it becomes the smallest (later pushes into it wait in a small
  // binary heap beside it). Worth it when many keys share a group (a lazy greedy's score with an id
  // tie-break in the low bits): their items are no longer passed down the id bits' levels one by one.
  // 0 = plain radix heap.
  explicit RadixHeap(int sorted_bits = 0) : shift_(sorted_bits) {}

  // Loads `items` into an empty heap (none pushed or popped yet). One counting pass sizes every bucket exactly: pushing
  // m items one by one lets the vectors' doubling hold up to twice their bytes (at 10^8 edges, gigabytes).
  void assign(std::vector<Item>&& items) {
    std::array<size_t, 65> count{};
    for (const Item& it : items) ++count[bucket_of(it.first)];
    for (int b = 0; b < 65; ++b) buckets_[b].reserve(buckets_[b].size() + count[b]);
    for (const Item& it : items) buckets_[bucket_of(it.first)].push_back(it);
    std::vector<Item>().swap(items);
    if (count[0] > 0) current_sorted_ = false;  // bucket 0 got unsorted items: sort it when it is consumed
  }

  void push(uint64_t key, uint64_t payload) {
    const int b = bucket_of(key);
    if (b == 0 && current_sorted_ && shift_ > 0) {  // into the group being consumed: a small side heap
      pending_.push_back({key, payload});
      std::push_heap(pending_.begin(), pending_.end(), std::greater<Item>());
    } else {
      buckets_[b].push_back({key, payload});
    }
  }

  // The item with the smallest key (ties: any); the heap must not be empty.
  Item pop() {
    auto& current = buckets_[0];
    if (current.empty() && pending_.empty()) {
      int i = 1;
      while (buckets_[i].empty()) ++i;
      auto& from = buckets_[i];
      uint64_t smallest = from[0].first;
      for (const Item& it : from) smallest = it.first < smallest ? it.first : smallest;
      last_ = smallest;
      // Every bucket below i is empty: count first, so each receives one exact allocation, and free `from`
      // (its capacity is the largest the heap ever had): the peak is twice the bucket, not four times.
      std::array<size_t, 65> count{};
      for (const Item& it : from) ++count[bucket_of(it.first)];
      for (int b = 0; b < i; ++b) buckets_[b].reserve(count[b]);
      for (const Item& it : from) buckets_[bucket_of(it.first)].push_back(it);
      std::vector<Item>().swap(from);
      current_sorted_ = false;
    }
    if (!current_sorted_) {  // descending, so that back() is the smallest
      if (shift_ > 0) sort_group_descending(current);
      current_sorted_ = true;
    }
    if (!pending_.empty() && (current.empty() || pending_.front().first < current.back().first)) {
      std::pop_heap(pending_.begin(), pending_.end(), std::greater<Item>());
      const Item top = pending_.back();
      pending_.pop_back();
      return top;
    }
    const Item top = current.back();
    current.pop_back();
    return top;
  }

 private:
  // A group differs in the low shift_ bits only: LSD radix sort on them, 8 bits per pass (a pass whose
  // digit is the same everywhere is skipped); small groups by std::sort.
  void sort_group_descending(std::vector<Item>& group) {
    if (group.size() < 256) {
      std::sort(group.begin(), group.end(), std::greater<Item>());
      return;
    }
    scratch_.resize(group.size());
    for (int bit = 0; bit < shift_; bit += 8) {
      std::array<size_t, 257> start{};
      for (const Item& it : group) ++start[256 - ((it.first >> bit) & 255)];  // digit 255 first
      if (*std::max_element(start.begin(), start.end()) == group.size()) continue;
      for (int d = 1; d < 257; ++d) start[d] += start[d - 1];
      for (const Item& it : group) scratch_[start[255 - ((it.first >> bit) & 255)]++] = it;
      group.swap(scratch_);
    }
  }

  int bucket_of(uint64_t key) const {
    const uint64_t diff = (key ^ last_) >> shift_;
    return diff == 0 ? 0 : 64 - __builtin_clzll(diff);
  }

  std::array<std::vector<Item>, 65> buckets_;
  uint64_t last_ = 0;
  std::vector<Item> pending_;  // min-heap of pushes into the group being consumed
  std::vector<Item> scratch_;  // the radix sort's second buffer
  int shift_ = 0;
  bool current_sorted_ = true;
};

}  // namespace rankcore::ops::cpu
