// An addressable 4-ary min-heap: entries carry an id, and the position of every id in the heap is kept, so an
// entry can be erased, or the top re-keyed, in place. The walk engine's queue and its subgroups use it in place
// of std::set, which allocated a node per insert and chased ~20 pointers per search (half of 2-WIS's queue time).
// The order must be a strict total order that does not change while an entry is in the heap (the engine changes
// a key only while its entry is out, or through replace_top); the top is then exactly the set's begin().
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace rankcore::ops::cpu {

// Less(a, b): a goes first. IdOf(entry): its id, an index into `positions` (shared by heaps whose ids are
// disjoint; -1: in no heap). Positions grow on demand. Shared positions make contains(id) true for an id of any
// of those heaps, so erase(id) must only be given ids of this heap (the engine erases an edge from its subgroup).
template <typename Entry, typename Less, typename IdOf>
class IndexedHeap {
 public:
  IndexedHeap(Less less, IdOf id_of, std::vector<int32_t>* positions)
      : less_(less), id_of_(id_of), positions_(positions) {}

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  const Entry& top() const { return heap_.front(); }
  bool contains(int32_t id) const {
    return static_cast<size_t>(id) < positions_->size() && (*positions_)[static_cast<size_t>(id)] >= 0;
  }

  // `entry`'s id must not be in the heap.
  void push(const Entry& entry) {
    heap_.push_back(entry);
    sift_up(heap_.size() - 1);
  }
  void pop() { erase_at(0); }
  // Removes `id`'s entry; nothing when it is not in the heap.
  void erase(int32_t id) {
    if (contains(id)) erase_at(static_cast<size_t>((*positions_)[static_cast<size_t>(id)]));
  }
  // The top's key changed (for the worse or better): `entry`, with the top's id, replaces it; true when it is still
  // the top, i.e. it goes before every other entry.
  bool replace_top(const Entry& entry) {
    heap_.front() = entry;
    return sift_down(0) == 0;
  }
  // The heap of `entries` (ids not in the heap yet), replacing its contents.
  void assign(std::vector<Entry> entries) {
    for (const Entry& e : heap_) position(id_of_(e)) = -1;
    heap_ = std::move(entries);
    for (size_t i = 0; i < heap_.size(); ++i) position(id_of_(heap_[i])) = static_cast<int32_t>(i);
    for (size_t i = heap_.size() / kArity + 1; i-- > 0;) {
      if (i < heap_.size()) sift_down(i);
    }
  }

 private:
  static constexpr size_t kArity = 4;

  int32_t& position(int32_t id) {
    const size_t i = static_cast<size_t>(id);
    if (i >= positions_->size()) positions_->resize(std::max(i + 1, 2 * positions_->size()), -1);
    return (*positions_)[i];
  }
  void place(size_t i, Entry entry) {
    position(id_of_(entry)) = static_cast<int32_t>(i);
    heap_[i] = std::move(entry);
  }
  void erase_at(size_t i) {
    position(id_of_(heap_[i])) = -1;
    Entry last = std::move(heap_.back());
    heap_.pop_back();
    if (i == heap_.size()) return;
    heap_[i] = std::move(last);
    if (i > 0 && less_(heap_[i], heap_[(i - 1) / kArity])) {
      sift_up(i);
    } else {
      sift_down(i);
    }
  }
  void sift_up(size_t i) {
    Entry entry = std::move(heap_[i]);
    while (i > 0) {
      const size_t parent = (i - 1) / kArity;
      if (!less_(entry, heap_[parent])) break;
      place(i, std::move(heap_[parent]));
      i = parent;
    }
    place(i, std::move(entry));
  }
  // Returns the entry's final position.
  size_t sift_down(size_t i) {
    Entry entry = std::move(heap_[i]);
    const size_t n = heap_.size();
    while (true) {
      const size_t first = kArity * i + 1;
      if (first >= n) break;
      size_t best = first;
      const size_t end = std::min(first + kArity, n);
      for (size_t c = first + 1; c < end; ++c) {
        if (less_(heap_[c], heap_[best])) best = c;
      }
      if (!less_(heap_[best], entry)) break;
      place(i, std::move(heap_[best]));
      i = best;
    }
    place(i, std::move(entry));
    return i;
  }

  Less less_;
  IdOf id_of_;
  std::vector<int32_t>* positions_;
  std::vector<Entry> heap_;
};

}  // namespace rankcore::ops::cpu
