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
#include <cstdlib>
#include <functional>
#include <new>
#include <utility>
#include <vector>

namespace rankcore::ops::cpu {

// Sorts (key, payload) items descending by key when they differ only in the key's lowest `low_bits` bits (one
// group of a lazy greedy's queue: the same class, other ids): LSD radix sort, 8 bits per pass (a pass whose digit
// is the same everywhere is skipped), small groups by std::sort. `scratch`: the second buffer, kept by the caller.
inline void sort_low_bits_descending(std::vector<std::pair<uint64_t, uint64_t>>& group,
                                     std::vector<std::pair<uint64_t, uint64_t>>& scratch, int low_bits) {
  using Item = std::pair<uint64_t, uint64_t>;
  if (group.size() < 256) {
    std::sort(group.begin(), group.end(), std::greater<Item>());
    return;
  }
  scratch.resize(group.size());
  for (int bit = 0; bit < low_bits; bit += 8) {
    std::array<size_t, 257> start{};
    for (const Item& it : group) ++start[256 - ((it.first >> bit) & 255)];  // digit 255 first
    if (*std::max_element(start.begin(), start.end()) == group.size()) continue;
    for (int d = 1; d < 257; ++d) start[d] += start[d - 1];
    for (const Item& it : group) scratch[start[255 - ((it.first >> bit) & 255)]++] = it;
    group.swap(scratch);
  }
}

// Fixed-size blocks of `count` T (trivially copyable items) for a queue's buckets, recycled through a free list
// and freed with the pool: buckets that grow and shrink by blocks never reallocate and never hand memory back to
// the kernel while the queue lives (glibc unmaps freed buffers of megabytes, and the next ones page-fault fresh
// zeroed pages: half of 1-WIS's greedy time on 10M edges, measured 2026-12-07). Declare the pool before the
// buckets, and give their blocks back in the owner's destructor.
template <typename T, size_t count>
class BlockPool {
 public:
  BlockPool() = default;
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;
  ~BlockPool() {
    for (T* block : free_) std::free(block);
  }
  T* take() {
    if (!free_.empty()) {
      T* block = free_.back();
      free_.pop_back();
      return block;
    }
    void* memory = std::malloc(count * sizeof(T));
    if (memory == nullptr) throw std::bad_alloc();
    return static_cast<T*>(memory);
  }
  void give(T* block) { free_.push_back(block); }

 private:
  std::vector<T*> free_;
};

class RadixHeap {
 public:
  using Item = std::pair<uint64_t, uint64_t>;  // 16 bytes either way: a wider payload is free

  // Keys equal in all bits but the lowest `sorted_bits` form one group: the radix levels split groups
  // only, and a group is sorted once when it becomes the smallest (later pushes into it wait in a small
  // binary heap beside it). Worth it when many keys share a group (a lazy greedy's score with an id
  // tie-break in the low bits): their items are no longer passed down the id bits' levels one by one.
  // 0 = plain radix heap.
  explicit RadixHeap(int sorted_bits = 0) : shift_(sorted_bits) {}
  RadixHeap(const RadixHeap&) = delete;
  RadixHeap& operator=(const RadixHeap&) = delete;
  ~RadixHeap() {
    for (auto& bucket : buckets_) {
      for (Item* chunk : bucket.chunks) chunks_.give(chunk);
    }
  }

  // Loads `items` into an empty heap (none pushed or popped yet); `items` is freed.
  void assign(std::vector<Item>&& items) {
    for (const Item& it : items) append(bucket_of(it.first), it);
    std::vector<Item>().swap(items);
    if (!current_.empty()) current_sorted_ = false;  // bucket 0 got unsorted items: sort it when it is consumed
  }

  void push(uint64_t key, uint64_t payload) {
    const int b = bucket_of(key);
    if (b == 0 && current_sorted_ && shift_ > 0) {  // into the group being consumed: a small side heap
      pending_.push_back({key, payload});
      std::push_heap(pending_.begin(), pending_.end(), std::greater<Item>());
    } else {
      append(b, {key, payload});
    }
  }

  // The item with the smallest key (ties: any); the heap must not be empty.
  Item pop() {
    if (current_.empty() && pending_.empty()) {
      int i = 1;
      while (buckets_[i].chunks.empty()) ++i;
      Bucket& from = buckets_[i];
      uint64_t smallest = ~uint64_t{0};
      for (size_t c = 0; c < from.chunks.size(); ++c) {
        const Item* chunk = from.chunks[c];
        for (size_t k = 0, fill = from.fill(c); k < fill; ++k) smallest = std::min(smallest, chunk[k].first);
      }
      last_ = smallest;
      // Every bucket below i is empty. Each chunk of `from` is recycled as soon as it is read, so the
      // redistribution needs one chunk per bucket beyond the items themselves.
      for (size_t c = 0; c < from.chunks.size(); ++c) {
        Item* chunk = from.chunks[c];
        for (size_t k = 0, fill = from.fill(c); k < fill; ++k) append(bucket_of(chunk[k].first), chunk[k]);
        chunks_.give(chunk);
      }
      from.chunks.clear();
      from.tail = kChunk;
      current_sorted_ = false;
    }
    if (!current_sorted_) {  // descending, so that back() is the smallest
      if (shift_ > 0) sort_low_bits_descending(current_, scratch_, shift_);
      current_sorted_ = true;
    }
    if (!pending_.empty() && (current_.empty() || pending_.front().first < current_.back().first)) {
      std::pop_heap(pending_.begin(), pending_.end(), std::greater<Item>());
      const Item top = pending_.back();
      pending_.pop_back();
      return top;
    }
    const Item top = current_.back();
    current_.pop_back();
    return top;
  }

 private:
  // Buckets 1..64 are lists of fixed-size chunks from a BlockPool (one std::vector per bucket made glibc unmap
  // and page-fault them back). Bucket 0, the group being consumed, is one vector (it is sorted in place); it
  // keeps its capacity.
  static constexpr size_t kChunk = 1024;  // items: 16 KiB, below glibc's mmap threshold
  struct Bucket {
    std::vector<Item*> chunks;
    size_t tail = kChunk;  // items in the last chunk
    size_t fill(size_t c) const { return c + 1 == chunks.size() ? tail : kChunk; }
  };

  void append(int b, const Item& item) {
    if (b == 0) {
      current_.push_back(item);
      return;
    }
    Bucket& bucket = buckets_[b];
    if (bucket.tail == kChunk) {
      bucket.chunks.push_back(chunks_.take());
      bucket.tail = 0;
    }
    bucket.chunks.back()[bucket.tail++] = item;
  }

  int bucket_of(uint64_t key) const {
    const uint64_t diff = (key ^ last_) >> shift_;
    return diff == 0 ? 0 : 64 - __builtin_clzll(diff);
  }

  BlockPool<Item, kChunk> chunks_;  // before the buckets: destroyed after them
  std::vector<Item> current_;       // bucket 0
  std::array<Bucket, 65> buckets_;  // [0] unused
  uint64_t last_ = 0;
  std::vector<Item> pending_;  // min-heap of pushes into the group being consumed
  std::vector<Item> scratch_;  // the radix sort's second buffer
  int shift_ = 0;
  bool current_sorted_ = true;
};

}  // namespace rankcore::ops::cpu
