// cpu::RadixHeap (csrc/ops/cpu/radix_heap.h) against std::priority_queue on monotone random workloads: an initial
// assign, then pushes (keys >= the last popped one, many into the group being consumed) mixed with pops. Popped
// keys must come out in the reference's order and every (key, payload) exactly once. Buckets far above the
// 1024-item chunk size are exercised, and so is reuse: a second heap lives after the first is destroyed.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <queue>
#include <random>
#include <vector>

#include "ops/cpu/radix_heap.h"

using rankcore::ops::cpu::RadixHeap;

static int failures = 0;

static void check(bool ok, const char* what, int shift, uint64_t seed) {
  if (!ok && failures++ < 10) std::printf("FAIL %s (shift %d, seed %llu)\n", what, shift, (unsigned long long)seed);
}

// key_bits: the width of random keys above the group bits; group_share: chance that a push lands in the
// group being consumed (same key above the low `shift` bits).
static void run(int shift, int key_bits, size_t initial, size_t steps, double group_share, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto random_key = [&](uint64_t floor) {
    const uint64_t span = key_bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << key_bits);
    uint64_t k = floor + rng() % span;
    return k < floor ? ~uint64_t{0} : k;  // wrapped: the largest key
  };
  using Item = RadixHeap::Item;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> reference;
  std::map<Item, int64_t> outstanding;  // (key, payload) -> pushes not yet popped
  RadixHeap heap(shift);
  std::vector<Item> items;
  uint64_t payload = 0;
  for (size_t i = 0; i < initial; ++i) {
    const Item it{random_key(0), payload++};
    items.push_back(it);
    reference.push(it);
    ++outstanding[it];
  }
  heap.assign(std::move(items));
  uint64_t last = 0;
  for (size_t s = 0; s < steps; ++s) {
    const bool do_push = reference.empty() || rng() % 2 == 0;
    if (do_push) {
      uint64_t key;
      if (shift > 0 && (rng() % 1000) < group_share * 1000) {
        const uint64_t low_mask = (uint64_t{1} << shift) - 1;
        key = (last & ~low_mask) | (rng() & low_mask);  // same group as the last pop
        if (key < last) key = last;
      } else {
        key = random_key(last);
      }
      const Item it{key, payload++};
      heap.push(it.first, it.second);
      reference.push(it);
      ++outstanding[it];
    } else {
      const Item got = heap.pop();
      const Item want = reference.top();
      reference.pop();
      check(got.first == want.first, "popped key differs from the reference's smallest", shift, seed);
      check(got.first >= last, "keys not monotone", shift, seed);
      last = got.first;
      auto found = outstanding.find(got);
      check(found != outstanding.end() && found->second > 0, "popped an item never pushed", shift, seed);
      if (found != outstanding.end() && --found->second == 0) outstanding.erase(found);
    }
  }
  while (!reference.empty()) {  // drain
    const Item got = heap.pop();
    check(got.first == reference.top().first, "drain: popped key differs", shift, seed);
    reference.pop();
    auto found = outstanding.find(got);
    check(found != outstanding.end(), "drain: popped an item never pushed", shift, seed);
    if (found != outstanding.end() && --found->second == 0) outstanding.erase(found);
  }
  check(outstanding.empty(), "items lost", shift, seed);
}

int main() {
  int runs = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    for (int shift : {0, 8, 24}) {
      run(shift, 40, 50'000, 200'000, 0.3, seed);  // wide keys: deep redistributions
      run(shift, 12, 20'000, 100'000, 0.5, seed);  // narrow keys: big groups, many equal keys
      run(shift, 64, 0, 20'000, 0.1, seed);        // empty start, keys up to 2^64 - 1
      runs += 3;
    }
  }
  if (failures == 0) std::printf("ok %d radix heap workloads\n", runs);
  return failures == 0 ? 0 : 1;
}
