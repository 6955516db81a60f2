// A monotone min-queue of 1-WIS keys (cpu::PackedDegreeKey: (min degree, max degree) descending, then edge
// id) with one bucket per degree class (low, high), both below a bound H: an entry goes straight to its
// class's bucket (O(1)), a class is sorted by id once when it becomes the smallest, and the next class is
// found by a cursor that only moves forward. The radix heap it replaces moved every entry through 3 to 9 of
// its 64 levels (measured on 10M edges, 2026-12-07), the main cost of a lazy greedy whose 10M edges make 30M
// to 50M stale re-keys. Keys outside the dense classes (a hub's degree >= H), and keys pushed into a class the
// cursor has passed, wait in a binary heap beside the buckets; pop returns the smaller of the two.
// Same contract as RadixHeap: every pushed key >= the last popped key.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <queue>
#include <utility>
#include <vector>

#include "ops/cpu/radix_heap.h"
#include "ops/cpu/wis_score.h"

namespace rankcore::ops::cpu {

class DegreeClassQueue {
 public:
  using Item = std::pair<uint64_t, uint64_t>;  // (packed key, payload)

  // Dense classes: low <= high < bound and low <= packing.max_low (a 1-WIS key always has low <= high; the smaller
  // degree of an edge rarely comes near the largest: Cora's is 30-odd against 168). (max_low + 1) * bound buckets.
  DegreeClassQueue(const PackedDegreeKey& packing, int64_t bound)
      : packing_(packing),
        bound_(std::max<int64_t>(bound, 1)),
        lows_(std::min<int64_t>(std::max<int64_t>(packing.max_low, 0), bound_ - 1) + 1),
        buckets_(static_cast<size_t>(lows_ * bound_)) {}
  DegreeClassQueue(const DegreeClassQueue&) = delete;
  DegreeClassQueue& operator=(const DegreeClassQueue&) = delete;
  ~DegreeClassQueue() {
    for (Bucket& bucket : buckets_) {
      for (Chunk* c = bucket.head; c != nullptr;) {
        Chunk* next = c->next;
        chunks_.give(c);
        c = next;
      }
    }
  }

  // Loads `items` into an empty queue; `items` is freed.
  void assign(std::vector<Item>&& items) {
    std::vector<Item> wide;
    for (const Item& it : items) {
      const int64_t c = dense_class(it.first);
      if (c >= 0) {
        append(buckets_[c], it);
      } else {
        wide.push_back(it);
      }
    }
    std::vector<Item>().swap(items);
    wide_ = decltype(wide_)(std::greater<Item>(), std::move(wide));
  }

  void push(uint64_t key, uint64_t payload) {
    const int64_t c = dense_class(key);
    if (c < 0 || c < cursor_) {  // not a dense class, or one the cursor has passed
      wide_.push({key, payload});
    } else if (c == cursor_ && loaded_) {  // the class being consumed: a small side heap
      pending_.push_back({key, payload});
      std::push_heap(pending_.begin(), pending_.end(), std::greater<Item>());
    } else {
      append(buckets_[c], {key, payload});
    }
  }

  // The item with the smallest key (ties: any); the queue must not be empty.
  Item pop() {
    if (current_.empty() && pending_.empty()) load_next_class();
    // The smallest of the class being consumed (sorted run or side heap) and the wide heap.
    const Item* best = nullptr;
    int from = -1;
    if (!current_.empty()) best = &current_.back(), from = 0;
    if (!pending_.empty() && (best == nullptr || pending_.front() < *best)) best = &pending_.front(), from = 1;
    if (!wide_.empty() && (best == nullptr || wide_.top() < *best)) best = &wide_.top(), from = 2;
    const Item top = *best;
    if (from == 0) {
      current_.pop_back();
    } else if (from == 1) {
      std::pop_heap(pending_.begin(), pending_.end(), std::greater<Item>());
      pending_.pop_back();
    } else {
      wide_.pop();
    }
    return top;
  }

 private:
  static constexpr size_t kChunk = 255;  // items per chunk: 4 KiB with the link
  struct Chunk {
    Chunk* next;
    uint64_t pad;
    Item items[kChunk];
  };
  struct Bucket {
    Chunk* head = nullptr;
    Chunk* tail = nullptr;
    size_t tail_fill = kChunk;
  };

  // The bucket of a key, or -1 when its class is not dense. Smaller = better, as the packed key.
  int64_t dense_class(uint64_t key) const {
    const DegreeKeyL2 k = packing_.key(key);
    if (k.high >= bound_ || k.low > k.high || k.low >= lows_) return -1;
    return (lows_ - 1 - k.low) * bound_ + (bound_ - 1 - k.high);
  }

  void append(Bucket& bucket, const Item& item) {
    if (bucket.tail_fill == kChunk) {
      Chunk* chunk = chunks_.take();
      chunk->next = nullptr;
      if (bucket.tail == nullptr) {
        bucket.head = chunk;
      } else {
        bucket.tail->next = chunk;
      }
      bucket.tail = chunk;
      bucket.tail_fill = 0;
    }
    bucket.tail->items[bucket.tail_fill++] = item;
  }

  // Moves the cursor to the next non-empty class (if any) and loads it into current_, sorted by id descending
  // (back() is the smallest key: one class differs only in the id bits).
  void load_next_class() {
    if (loaded_) ++cursor_;
    loaded_ = false;
    const int64_t end = static_cast<int64_t>(buckets_.size());
    while (cursor_ < end && buckets_[cursor_].head == nullptr) ++cursor_;
    if (cursor_ == end) return;
    Bucket& bucket = buckets_[cursor_];
    for (Chunk* c = bucket.head; c != nullptr;) {
      const size_t fill = c == bucket.tail ? bucket.tail_fill : kChunk;
      current_.insert(current_.end(), c->items, c->items + fill);
      Chunk* next = c->next;
      chunks_.give(c);
      c = next;
    }
    bucket = Bucket{};
    sort_low_bits_descending(current_, scratch_, packing_.id_bits);
    loaded_ = true;
  }

  PackedDegreeKey packing_;
  int64_t bound_;
  int64_t lows_;                // dense low degrees: 0 .. lows_ - 1
  BlockPool<Chunk, 1> chunks_;  // before the buckets: destroyed after them
  std::vector<Bucket> buckets_;
  int64_t cursor_ = 0;         // the class being consumed (when loaded_) or the next one to look at
  bool loaded_ = false;        // current_ / pending_ hold class cursor_
  std::vector<Item> current_;  // the loaded class, id descending
  std::vector<Item> pending_;  // min-heap of pushes into the loaded class
  std::vector<Item> scratch_;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> wide_;
};

}  // namespace rankcore::ops::cpu
