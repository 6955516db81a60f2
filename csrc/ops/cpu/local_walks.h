// Closed-walk counts at one vertex by local expansion, shared by closed_walk_counts and exact WIS.
//
// (Â^L)_tt = <Â^a e_t, Â^b e_t> with a = floor(L/2), b = L - a (Â symmetric). The walk vector
// Â^a e_t is expanded level by level as a sparse list, using a dense scratch array that is all zero
// between calls (walk counts from t are positive wherever they are defined, so 0 means "not reached
// yet"), so one call touches only the ball of radius a around t (plus its neighbours when b = a + 1).
// Counts are exact int64; an overflow saturates and sets `overflow`.
#pragma once

#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace rankcore::ops::cpu {

class LocalWalkExpander {
 public:
  explicit LocalWalkExpander(int64_t n) : acc_(static_cast<size_t>(n), 0) {}

  bool overflow() const { return overflow_; }

  // for_each_neighbor(i, f) must call f(j) once for every neighbour j of i (no self-loop: Â's
  // self-loop is added here).
  template <typename ForEachNeighbor>
  int64_t closed_walks(int64_t t, int64_t length, ForEachNeighbor&& for_each_neighbor) {
    const int64_t a = length / 2, b = length - a;
    cur_idx_.assign(1, t);
    cur_val_.assign(1, 1);
    for (int64_t step = 0; step < a; ++step) {
      expand(for_each_neighbor);
      if (overflow_) return kMax;  // settled (expand left the scratch zeroed): a huge L would run for minutes
    }
    int64_t total = 0;
    if (b == a) {
      for (size_t q = 0; q < cur_idx_.size(); ++q) add_to(total, mul(cur_val_[q], cur_val_[q]));
      return total;
    }
    // b = a + 1: <x, Â x> = sum_j x_j (x_j + sum_{i ~ j} x_i), with x scattered into the scratch array.
    for (size_t q = 0; q < cur_idx_.size(); ++q) acc_[cur_idx_[q]] = cur_val_[q];
    for (size_t q = 0; q < cur_idx_.size(); ++q) {
      const int64_t j = cur_idx_[q];
      int64_t row = cur_val_[q];
      for_each_neighbor(j, [&](int64_t i) { add_to(row, acc_[i]); });
      add_to(total, mul(cur_val_[q], row));
    }
    for (const int64_t j : cur_idx_) acc_[j] = 0;
    return total;
  }

 private:
  static constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

  void add_to(int64_t& dst, int64_t x) {
    if (__builtin_add_overflow(dst, x, &dst)) {
      dst = kMax;
      overflow_ = true;
    }
  }
  int64_t mul(int64_t x, int64_t y) {
    int64_t r;
    if (__builtin_mul_overflow(x, y, &r)) {
      overflow_ = true;
      return kMax;
    }
    return r;
  }

  // cur <- Â cur (sparse)
  template <typename ForEachNeighbor>
  void expand(ForEachNeighbor& for_each_neighbor) {
    next_idx_.clear();
    auto push = [&](int64_t j, int64_t x) {
      if (acc_[j] == 0) next_idx_.push_back(j);
      add_to(acc_[j], x);
    };
    for (size_t q = 0; q < cur_idx_.size(); ++q) {
      const int64_t i = cur_idx_[q], x = cur_val_[q];
      push(i, x);
      for_each_neighbor(i, [&](int64_t j) { push(j, x); });
    }
    next_val_.resize(next_idx_.size());
    for (size_t q = 0; q < next_idx_.size(); ++q) {
      next_val_[q] = acc_[next_idx_[q]];
      acc_[next_idx_[q]] = 0;
    }
    std::swap(cur_idx_, next_idx_);
    std::swap(cur_val_, next_val_);
  }

  std::vector<int64_t> acc_;
  std::vector<int64_t> cur_idx_, next_idx_, cur_val_, next_val_;
  bool overflow_ = false;
};

}  // namespace rankcore::ops::cpu
