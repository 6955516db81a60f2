// The lazy greedies' monotone queues against std::priority_queue on random workloads: an initial assign, then
// pushes (keys >= the last popped one, many into the group being consumed) mixed with pops. Popped keys must come
// out in the reference's order and every (key, payload) exactly once.
//  * cpu::RadixHeap (csrc/ops/cpu/radix_heap.h): buckets far above its 1024-item chunks, chunk reuse;
//  * cpu::DegreeClassQueue (csrc/ops/cpu/class_queue.h): 1-WIS keys (low <= high) in dense classes and outside
//    them (high >= the bound), pushes into the class being consumed and into classes its cursor has passed.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <queue>
#include <random>
#include <vector>

#include "ops/cpu/class_queue.h"
#include "ops/cpu/radix_heap.h"

using rankcore::ops::cpu::DegreeClassQueue;
using rankcore::ops::cpu::PackedDegreeKey;
using rankcore::ops::cpu::RadixHeap;

static int failures = 0;

static void check(bool ok, const char* what, int shift, uint64_t seed) {
  if (!ok && failures++ < 10)
    std::printf("FAIL %s (shift or bound %d, seed %llu)\n", what, shift, (unsigned long long)seed);
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

// DegreeClassQueue: keys are packed (low, high, id) with low <= max_low and low <= high <= max_deg; bound: the dense
// classes' limit.
static void run_class_queue(int64_t max_deg, int64_t bound, size_t initial, size_t steps, uint64_t seed,
                            int64_t max_low = -1) {
  std::mt19937_64 rng(seed);
  const int64_t num_ids = 5000;
  if (max_low < 0) max_low = max_deg;
  const PackedDegreeKey packing(max_low, max_deg, num_ids);
  auto random_key = [&] {
    const int64_t low = static_cast<int64_t>(rng() % (max_low + 1));
    const int64_t high = low + static_cast<int64_t>(rng() % (max_deg - low + 1));
    return packing.pack(low, high, static_cast<int64_t>(rng() % num_ids));
  };
  using Item = DegreeClassQueue::Item;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> reference;
  std::map<Item, int64_t> outstanding;
  DegreeClassQueue queue(packing, bound);
  std::vector<Item> items;
  uint64_t payload = 0;
  for (size_t i = 0; i < initial; ++i) {
    const Item it{random_key(), payload++};
    items.push_back(it);
    reference.push(it);
    ++outstanding[it];
  }
  queue.assign(std::move(items));
  uint64_t last = 0;
  auto pop_and_check = [&] {
    const Item got = queue.pop();
    check(got.first == reference.top().first, "class queue: popped key differs from the reference's smallest",
          static_cast<int>(bound), seed);
    reference.pop();
    last = got.first;
    auto found = outstanding.find(got);
    check(found != outstanding.end(), "class queue: popped an item never pushed", static_cast<int>(bound), seed);
    if (found != outstanding.end() && --found->second == 0) outstanding.erase(found);
  };
  for (size_t s = 0; s < steps; ++s) {
    if (reference.empty() || rng() % 2 == 0) {
      uint64_t key = random_key();
      for (int tries = 0; key < last && tries < 20; ++tries) key = random_key();
      if (key < last) {  // the class being consumed: the last key's class with another id
        const auto k = packing.key(last);
        key =
            packing.pack(k.low, k.high, packing.id(last) + static_cast<int64_t>(rng() % (num_ids - packing.id(last))));
      }
      const Item it{key, payload++};
      queue.push(it.first, it.second);
      reference.push(it);
      ++outstanding[it];
    } else {
      pop_and_check();
    }
  }
  while (!reference.empty()) pop_and_check();
  check(outstanding.empty(), "class queue: items lost", static_cast<int>(bound), seed);
}

int main() {
  std::setvbuf(stdout, nullptr, _IONBF, 0);  // a FAIL line survives a later crash (a lost item: pop on empty)
  int runs = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    for (int shift : {0, 8, 24}) {
      run(shift, 40, 50'000, 200'000, 0.3, seed);  // wide keys: deep redistributions
      run(shift, 12, 20'000, 100'000, 0.5, seed);  // narrow keys: big groups, many equal keys
      run(shift, 64, 0, 20'000, 0.1, seed);        // empty start, keys up to 2^64 - 1
      runs += 3;
    }
  }
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    run_class_queue(12, 13, 2'000, 40'000, seed);      // every class dense
    run_class_queue(40, 8, 2'000, 40'000, seed);       // most keys outside the dense classes
    run_class_queue(600, 512, 20'000, 200'000, seed);  // the production bound, hubs above it
    run_class_queue(5, 1, 500, 10'000, seed);          // bound 1: the side heap only
    run_class_queue(40, 30, 2'000, 40'000, seed, 6);   // few low degrees (max_low 6): the dense rows they need
    runs += 5;
  }
  if (failures == 0) std::printf("ok %d radix heap and class queue workloads\n", runs);
  return failures == 0 ? 0 : 1;
}
