// The per-round work of distributed 1-WIS in native code (python/rankcore/distributed/protocol.py, the round
// protocol; docs/definitions.md §2, §5). A round: every rank proposes its best own candidates with exact keys
// plus a sentinel (class WisRankL2.propose), one all_gather, then every rank computes the same commits from
// the gathered rows (op wis_round_commits) and applies them to its own state (WisRankL2.apply).
//
//   class rankcore.WisRankL2(edges, halo_ids, lo, hi, deg_ext)
//     edges [m, 2] int64: the rank's own undirected edges (u, v), u < v, sorted by (u, v): those inside [lo, hi),
//       and those to other ranks that cpu/rank_edges.h's cross-edge rule gives it (kSplitCrossEdges: the
//       edges between two ranks split about evenly between them);
//     halo_ids [h] int64: the ascending global ids of the halo (extended positions n_local ...);
//     deg_ext [hi - lo + h] int64: the current degree of every own (then halo) vertex.
//     propose(batch) -> [batch + 1, 4] int64 rows (u, v, deg u, deg v): the rank's `batch` best alive
//       candidates, best first, then its next best (the sentinel); rows of -1 where it has fewer.
//     apply(commits [c, 2]) -> None: the removals of a round (any rank's edges): degrees of own and halo
//       endpoints fall by one, own edges die.
//   wis_round_commits(Tensor gathered [W, B + 1, 4], int want) -> Tensor [c, 2]
//     The removals that provably equal the next c <= want steps of the sequential greedy: the proposals
//     (rows 0..B-1 of every rank) taken best first with their keys re-read from the gathered degrees, until
//     the next one is not better than every rank's sentinel (row B). A pure function of `gathered`, so every
//     rank computes the same list. CPU only.
//
// Why the commits are exact: at L = 2 a removal only lowers degrees and so makes every other key worse or
// leaves it equal (cpu/wis_score.h: DegreeKeyL2), so an unproposed candidate stays at most as good as its
// rank's sentinel all round long. Keys are (min degree, max degree) larger first, ties by the smaller (u, v):
// the order of rankcore::wis_greedy at depth 2.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>
#include <torch/custom_class.h>
#include <torch/library.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <optional>
#include <queue>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "ops/cpu/degree_greedy.h"
#include "ops/cpu/radix_heap.h"
#include "ops/cpu/rank_edges.h"
#include "ops/cpu/wis_score.h"

namespace rankcore::ops {
namespace {

using cpu::DegreeKeyL2;

// A candidate in a lazy max-heap: its stored key, then ties by (u, v) ascending. operator< = "removed later".
struct Candidate {
  DegreeKeyL2 key;
  int64_t u, v, slot;  // slot: the rank's edge index (WisRankL2) or the gathered row (wis_round_commits)
  bool operator<(const Candidate& o) const {
    if (!(key == o.key)) return o.key.better_than(key);
    return u != o.u ? u > o.u : v > o.v;
  }
};

// A rank's lazy queue of own candidates (edge slots with stored keys), best first. Two forms with one interface:
// packed keys in a monotone radix heap (the 1-WIS key packing, cpu/wis_score.h: keys only get worse,
// so most pushes are >= the last key popped; the few that are not, the proposals handed back after a round,
// wait in a small binary heap beside it), and a binary heap of unpacked keys when (low, high, slot) do not fit
// in 64 bits.
class CandidateQueue {
 public:
  virtual ~CandidateQueue() = default;
  virtual void push(DegreeKeyL2 key, int64_t slot) = 0;
  // The best stored entry, false when empty.
  virtual bool pop(DegreeKeyL2& key, int64_t& slot) = 0;
  // Entries given best first (a round's proposals handed back): the same as pushing each.
  virtual void push_best_first(const std::vector<std::pair<DegreeKeyL2, int64_t>>& entries) {
    for (const auto& [key, slot] : entries) push(key, slot);
  }
};

class BinaryQueue final : public CandidateQueue {
 public:
  explicit BinaryQueue(std::vector<Candidate> initial) : heap_(std::less<Candidate>(), std::move(initial)) {}
  void push(DegreeKeyL2 key, int64_t slot) override { heap_.push({key, slot, 0, slot}); }
  bool pop(DegreeKeyL2& key, int64_t& slot) override {
    if (heap_.empty()) return false;
    key = heap_.top().key, slot = heap_.top().slot;
    heap_.pop();
    return true;
  }

 private:
  std::priority_queue<Candidate> heap_;  // u = slot: own slots are in (u, v) order, so slot order is the tie rule
};

class PackedQueue final : public CandidateQueue {
 public:
  PackedQueue(const cpu::PackedDegreeKey& packing, const std::vector<Candidate>& initial)
      : packing_(packing), heap_(packing.id_bits) {
    std::vector<cpu::RadixHeap::Item> items;
    items.reserve(initial.size());
    for (const Candidate& c : initial) items.push_back({packing_.pack(c.key.low, c.key.high, c.slot), 0});
    in_heap_ = items.size();
    heap_.assign(std::move(items));
  }
  void push(DegreeKeyL2 key, int64_t slot) override {
    const uint64_t packed = packing_.pack(key.low, key.high, slot);
    if (packed >= floor_) {
      heap_.push(packed, 0);
      ++in_heap_;
    } else {
      below_.push(packed);
    }
  }
  // A round's proposals come back sorted and are mostly proposed again next round: they wait in a sorted run
  // (merged with what is left of the previous one) instead of going through the binary heap one by one.
  void push_best_first(const std::vector<std::pair<DegreeKeyL2, int64_t>>& entries) override {
    std::vector<uint64_t> fresh;
    fresh.reserve(entries.size());
    for (const auto& [key, slot] : entries) fresh.push_back(packing_.pack(key.low, key.high, slot));
    if (!std::is_sorted(fresh.begin(), fresh.end())) std::sort(fresh.begin(), fresh.end());
    std::vector<uint64_t> merged;
    merged.reserve(fresh.size() + (run_.size() - run_pos_));
    std::merge(run_.begin() + static_cast<std::ptrdiff_t>(run_pos_), run_.end(), fresh.begin(), fresh.end(),
               std::back_inserter(merged));
    run_ = std::move(merged);
    run_pos_ = 0;
  }
  bool pop(DegreeKeyL2& key, int64_t& slot) override {
    if (!peeked_ && in_heap_ > 0) {  // the radix heap's smallest, held out so that it can be compared
      peek_ = heap_.pop().first;
      --in_heap_;
      floor_ = peek_;
      peeked_ = true;
    }
    // The smallest of three sources: the side heap, the sorted run, the radix heap's held-out smallest.
    constexpr uint64_t kNone = ~uint64_t{0};
    const uint64_t side = below_.empty() ? kNone : below_.top();
    const uint64_t run = run_pos_ < run_.size() ? run_[run_pos_] : kNone;
    const uint64_t radix = peeked_ ? peek_ : kNone;
    uint64_t packed;
    if (!below_.empty() && side <= run && side <= radix) {
      packed = side;
      below_.pop();
    } else if (run_pos_ < run_.size() && run <= radix) {
      packed = run;
      ++run_pos_;
    } else if (peeked_) {
      packed = peek_;
      peeked_ = false;
    } else {
      return false;
    }
    slot = packing_.id(packed);
    key = packing_.key(packed);
    return true;
  }

 private:
  cpu::PackedDegreeKey packing_;  // ascending = better first
  cpu::RadixHeap heap_;
  size_t in_heap_ = 0;
  uint64_t floor_ = 0, peek_ = 0;  // every key in heap_ is >= floor_, the last key it gave out
  bool peeked_ = false;
  std::priority_queue<uint64_t, std::vector<uint64_t>, std::greater<uint64_t>> below_;
  std::vector<uint64_t> run_;  // ascending; run_[run_pos_ ..] still stored
  size_t run_pos_ = 0;
};

struct WisRankL2 : torch::CustomClassHolder {
  WisRankL2(const at::Tensor& edges, const at::Tensor& halo_ids, int64_t lo, int64_t hi, const at::Tensor& deg_ext)
      : own_(edges, halo_ids, lo, hi, "WisRankL2", cpu::EdgeOwnership::kSplitCrossEdges) {
    const at::Tensor d = cpu::rank_long_tensor(deg_ext, "WisRankL2", "deg_ext", 1);
    TORCH_CHECK_VALUE(d.numel() == own_.num_extended(),
                      "WisRankL2: deg_ext must hold hi - lo + h = ", own_.num_extended(), " degrees, got ", d.numel());
    deg_.assign(d.data_ptr<int64_t>(), d.data_ptr<int64_t>() + d.numel());
    const int64_t m = own_.size();
    std::vector<Candidate> initial;  // u = slot: the queues tie by slot, which is the (u, v) order
    initial.reserve(static_cast<size_t>(m));
    int64_t max_low = 0, max_deg = 0;
    for (int64_t i = 0; i < m; ++i) {
      TORCH_CHECK_VALUE(deg_[own_.pu[i]] >= 1 && deg_[own_.pv[i]] >= 1, "WisRankL2: edge ", i,
                        " has an endpoint of degree < 1 in deg_ext");
      initial.push_back({key(i), i, 0, i});
      max_low = std::max(max_low, initial.back().key.low);
      max_deg = std::max(max_deg, initial.back().key.high);
    }
    alive_.assign(static_cast<size_t>(m), 1);
    // $RANKCORE_WIS_ROUNDS_QUEUE=binary forces the fallback (tests run both queues on small graphs).
    const char* forced = std::getenv("RANKCORE_WIS_ROUNDS_QUEUE");
    const bool binary = forced != nullptr && std::string_view(forced) == "binary";
    const cpu::PackedDegreeKey packing(max_low, max_deg, m);
    if (!binary && packing.fits()) {
      queue_ = std::make_unique<PackedQueue>(packing, initial);
    } else {
      queue_ = std::make_unique<BinaryQueue>(std::move(initial));
    }
  }

  at::Tensor propose(int64_t batch) {
    TORCH_CHECK_VALUE(batch >= 1, "WisRankL2.propose: batch must be >= 1, got ", batch);
    std::vector<int64_t> chosen;
    DegreeKeyL2 stored;
    int64_t slot;
    while (static_cast<int64_t>(chosen.size()) <= batch && queue_->pop(stored, slot)) {
      if (!alive_[slot]) continue;  // removed since it was stored
      const DegreeKeyL2 now = key(slot);
      if (!(now == stored)) {  // stale: a degree fell, so its key got worse; back with the current one
        queue_->push(now, slot);
        continue;
      }
      chosen.push_back(slot);
    }
    at::Tensor rows = at::empty({batch + 1, 4}, at::kLong).fill_(-1);
    int64_t* out = rows.data_ptr<int64_t>();
    std::vector<std::pair<DegreeKeyL2, int64_t>> back;  // still candidates until a commit removes them
    back.reserve(chosen.size());
    for (size_t r = 0; r < chosen.size(); ++r) {
      const int64_t i = chosen[r];
      out[4 * r] = own_.u[i], out[4 * r + 1] = own_.v[i];
      out[4 * r + 2] = deg_[own_.pu[i]], out[4 * r + 3] = deg_[own_.pv[i]];
      back.emplace_back(key(i), i);
    }
    queue_->push_best_first(back);
    return rows;
  }

  void apply(const at::Tensor& commits) {
    const at::Tensor c = cpu::rank_long_tensor(commits, "WisRankL2.apply", "commits", 2);
    TORCH_CHECK_VALUE(c.size(1) == 2, "WisRankL2.apply: commits must have shape [c, 2], got ", c.sizes());
    const int64_t* cp = c.data_ptr<int64_t>();
    for (int64_t i = 0; i < c.size(0); ++i) {
      const int64_t u = cp[2 * i], v = cp[2 * i + 1];
      for (const int64_t x : {u, v}) {
        if (const auto p = own_.position(x)) {
          TORCH_CHECK_VALUE(deg_[*p] >= 1, "WisRankL2.apply: vertex ", x, " has no edge left to remove");
          --deg_[*p];
        }
      }
      if (own_.owns(u, v)) {
        const std::optional<int64_t> id = own_.id_of(u, v);
        TORCH_CHECK_VALUE(id && alive_[*id], "WisRankL2.apply: (", u, ", ", v, ") is not an alive own edge");
        alive_[*id] = 0;
      }
    }
  }

 private:
  DegreeKeyL2 key(int64_t i) const { return cpu::degree_key_l2(deg_[own_.pu[i]], deg_[own_.pv[i]]); }

  cpu::RankEdges own_;
  std::vector<int64_t> deg_;  // by extended position
  std::vector<uint8_t> alive_;
  std::unique_ptr<CandidateQueue> queue_;
};

// Global vertex id -> a dense slot, by open addressing (a round sees a few thousand vertices; std::unordered_map
// allocated a node per vertex and was most of the op's time).
class VertexSlots {
 public:
  explicit VertexSlots(size_t expected) {
    size_t capacity = 16;
    while (capacity < 2 * expected) capacity *= 2;
    ids_.assign(capacity, -1);
    slots_.resize(capacity);
    mask_ = capacity - 1;
  }
  // (slot, true) for a new id given `fresh`; (its slot, false) for a known one. ids are >= 0.
  std::pair<int32_t, bool> find_or_add(int64_t id, int32_t fresh) {
    size_t i = (static_cast<uint64_t>(id) * 0x9E3779B97F4A7C15ULL) >> 20 & mask_;
    while (ids_[i] != -1) {
      if (ids_[i] == id) return {slots_[i], false};
      i = (i + 1) & mask_;
    }
    ids_[i] = id;
    slots_[i] = fresh;
    return {fresh, true};
  }

 private:
  std::vector<int64_t> ids_;
  std::vector<int32_t> slots_;
  size_t mask_;
};

at::Tensor wis_round_commits(const at::Tensor& gathered, int64_t want) {
  TORCH_CHECK_VALUE(gathered.device().is_cpu() && gathered.scalar_type() == at::kLong && gathered.dim() == 3 &&
                        gathered.size(1) >= 2 && gathered.size(2) == 4,
                    "wis_round_commits: gathered must be an int64 CPU tensor of shape [W, B + 1, 4] (B >= 1), got ",
                    gathered.scalar_type(), " of shape ", gathered.sizes(), " on ", gathered.device());
  TORCH_CHECK_VALUE(want >= 0, "wis_round_commits: want must be >= 0, got ", want);
  const at::Tensor g = gathered.contiguous();
  const int64_t world = g.size(0), rows = g.size(1), batch = rows - 1;
  const int64_t* gp = g.data_ptr<int64_t>();
  VertexSlots slot_of(static_cast<size_t>(2 * world * batch));
  std::vector<int64_t> deg;                  // every proposed endpoint's current degree, by its slot
  std::vector<std::array<int32_t, 2>> ends;  // a proposal's endpoints' slots, by proposal index
  std::vector<Candidate> proposals;          // Candidate.slot = the proposal index
  std::optional<Candidate> bound;            // the best sentinel
  for (int64_t w = 0; w < world; ++w) {
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t* row = gp + 4 * (w * rows + r);
      if (row[0] < 0) continue;
      TORCH_CHECK_VALUE(row[0] < row[1] && row[2] >= 1 && row[3] >= 1, "wis_round_commits: row ", r, " of rank ", w,
                        " is not an edge (u < v) with degrees >= 1: (", row[0], ", ", row[1], ", ", row[2], ", ",
                        row[3], ")");
      const Candidate c{cpu::degree_key_l2(row[2], row[3]), row[0], row[1], static_cast<int64_t>(proposals.size())};
      if (r == batch) {
        if (!bound || *bound < c) bound = c;
        continue;
      }
      std::array<int32_t, 2> at;
      for (int k = 0; k < 2; ++k) {
        const auto [s, added] = slot_of.find_or_add(row[k], static_cast<int32_t>(deg.size()));
        if (added) deg.push_back(row[2 + k]);
        TORCH_CHECK_VALUE(deg[s] == row[2 + k], "wis_round_commits: vertex ", row[k],
                          " has two different degrees "
                          "in the gathered rows (",
                          deg[s], " and ", row[2 + k], ")");
        at[k] = s;
      }
      ends.push_back(at);
      proposals.push_back(c);
    }
  }
  // The round is the 1-WIS greedy on the proposals alone, with their gathered (global) degrees
  // (cpu/degree_greedy.h, the single-process greedy: its hub groups re-key the proposals that share a hub once per
  // commit at the hub, where re-keying each of them made a few rounds cost 5-8 ms), stopped before the first
  // removal that is not better than every rank's sentinel. Edge ids are the proposals' ranks in (u, v) order: the
  // greedy's tie rule is the smaller id.
  const int64_t count = static_cast<int64_t>(proposals.size());
  std::vector<std::tuple<int64_t, int64_t, int32_t>> by_edge(static_cast<size_t>(count));  // (u, v, index)
  for (int64_t i = 0; i < count; ++i) by_edge[i] = {proposals[i].u, proposals[i].v, static_cast<int32_t>(i)};
  std::sort(by_edge.begin(), by_edge.end());
  std::vector<int32_t> order(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) order[i] = std::get<2>(by_edge[i]);
  std::vector<int32_t> eu(static_cast<size_t>(count)), ev(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) eu[i] = ends[order[i]][0], ev[i] = ends[order[i]][1];
  auto stop = [&](int64_t id, int64_t low, int64_t high) {
    if (!bound) return false;
    const Candidate& p = proposals[order[id]];
    return !(*bound < Candidate{cpu::degree_key_l2(low, high), p.u, p.v, 0});
  };
  const int64_t limit = std::min(want, count);
  std::vector<int64_t> pairs(static_cast<size_t>(2 * limit)), ids(static_cast<size_t>(limit));
  cpu::RemovalGuards no_guards(static_cast<int64_t>(deg.size()), eu, ev, 0, false, {});
  int64_t steps_done = 0;  // the greedy's progress slot (nobody reads it)
  const int64_t done = cpu::degree_greedy(deg, eu, ev, limit, cpu::GreedyOutput{pairs.data(), ids.data()}, no_guards,
                                          cpu::ProgressSlot(&steps_done, 1), stop);
  at::Tensor out = at::empty({done, 2}, at::kLong);
  int64_t* op = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < done; ++i) {
    const Candidate& p = proposals[order[ids[i]]];
    op[2 * i] = p.u, op[2 * i + 1] = p.v;
  }
  return out;
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.class_<WisRankL2>("WisRankL2")
      .def(torch::init<at::Tensor, at::Tensor, int64_t, int64_t, at::Tensor>())
      .def("propose", &WisRankL2::propose)
      .def("apply", &WisRankL2::apply);
  m.def("wis_round_commits(Tensor gathered, int want) -> Tensor");
}

TORCH_LIBRARY_IMPL(rankcore, CPU, m) { m.impl("wis_round_commits", &wis_round_commits); }

}  // namespace rankcore::ops
