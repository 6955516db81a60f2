// The per-round work of distributed 2-WIS (depth 3) in native code: the C++ form of the Python round protocol
// (python/rankcore/distributed/protocol.py: WisRank, _simulate; docs/definitions.md §2, §5), step for step.
//
//   class rankcore.WisRankL3(edges, halo_ids, lo, hi, deg_ext, tri_ext, common_count, ball_ids, ball_rowptr,
//                            ball_col)
//     edges [m, 2]: the rank's own edges (u, v), u < v, lo <= u < hi, sorted; halo_ids: ascending global ids of
//     the halo; deg_ext / tri_ext: degree and triangle count of every own (then halo) vertex; common_count [m]:
//     each own edge's number of common neighbours; ball_*: the radius-1 ball (DistGraph._ball(1): sorted global
//     ids, a CSR over positions in them, own rows complete, the others restricted to the ball).
//     propose(batch) -> 1-D int64 block: [P, S, records...]: P proposals (the rank's best alive candidates with
//       exact keys, best first), then S = 1 sentinel record (the next best) or S = 0. A record is
//       [u, v, c, deg u, tri u, deg v, tri v, then (w, deg w, tri w) for its c common neighbours w ascending].
//     round(gathered [W, L], want) -> int: runs the round's simulation on every rank's block (rows padded with
//       anything after the block) and returns how many of its commits stand against this rank's unproposed edges
//       whose common neighbours a commit shrinks (the ranks take the minimum: all_reduce MIN).
//     apply(count) -> [count, 2]: applies the first `count` commits of the last round (count >= 1 always stands).
//   wis_round_commits_l3(Tensor gathered, int want) -> Tensor [c, 2]: the simulation alone (a pure function of the
//     gathered blocks), for tests against the Python round.
//
// Keys: D_e (cpu/wis_score.h removal_delta_l3) encoded as (tag, value, count) triples and an end marker, compared
// lexicographically, then (u, v): the order of the Python protocol's key tuples, whose optimistic initial keys are
// a one-triple prefix without the end marker (a prefix sorts before every key it begins).
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>
#include <torch/custom_class.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <queue>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ops/cpu/rank_edges.h"
#include "ops/cpu/wis_score.h"

namespace rankcore::ops {
namespace {

struct Key3 {
  std::vector<int64_t> flat;  // (tag, value, count) triples; a full key ends with the triple (1, 0, 0)
  int64_t u = 0, v = 0;
  bool operator<(const Key3& o) const {  // removed first
    if (flat != o.flat) return std::lexicographical_compare(flat.begin(), flat.end(), o.flat.begin(), o.flat.end());
    return u != o.u ? u < o.u : v < o.v;
  }
  bool operator==(const Key3& o) const { return flat == o.flat && u == o.u && v == o.v; }
};

// The full key of removing {u, v} from the (deg, tri) of u, v and its common neighbours (same order).
Key3 full_key(int64_t u, int64_t v, const std::vector<int64_t>& deg, const std::vector<int64_t>& tri) {
  const cpu::ScoreDelta delta = cpu::removal_delta_l3(deg.data(), tri.data(), deg.size());
  Key3 key{{}, u, v};
  key.flat.reserve(3 * delta.size() + 3);
  for (const auto& entry : delta) {
    const cpu::KeyEntry e = cpu::encode_entry(entry);
    key.flat.insert(key.flat.end(), {e.tag, e.value, e.count});
  }
  key.flat.insert(key.flat.end(), {1, 0, 0});
  return key;
}

// The edge {a, b} as (min, max): an exact map key (a hash alone could merge two edges).
struct EdgeKey {
  int64_t lo, hi;
  bool operator==(const EdgeKey&) const = default;
};
struct EdgeKeyHash {
  size_t operator()(const EdgeKey& e) const {
    const uint64_t x = static_cast<uint64_t>(e.lo), y = static_cast<uint64_t>(e.hi);
    return static_cast<size_t>(x * 0x9E3779B97F4A7C15ULL ^ (y + 0x632BE59BD9B4E019ULL + (x << 6) + (x >> 2)));
  }
};
EdgeKey edge_code(int64_t a, int64_t b) { return {std::min(a, b), std::max(a, b)}; }

// A removal of the round: the edge, its common neighbours (ascending) and its key when it was taken.
struct Commit {
  int64_t u, v;
  std::vector<int64_t> common;
  Key3 key;
};

// One parsed record of a gathered block.
struct Record {
  int64_t u, v;
  std::vector<int64_t> common, deg, tri;  // deg / tri of u, v, then the common neighbours
};

// Reads block w of `gathered` ([W, L]): its proposals and its sentinel record (if any).
void parse_block(const int64_t* p, int64_t length, int64_t w, std::vector<Record>& proposals,
                 std::optional<Record>& sentinel) {
  TORCH_CHECK_VALUE(length >= 2 && p[0] >= 0 && (p[1] == 0 || p[1] == 1), "wis_round_commits_l3: block ", w,
                    " must start with [P >= 0, S in {0, 1}]");
  const int64_t count = p[0] + p[1];
  int64_t at = 2;
  for (int64_t r = 0; r < count; ++r) {
    TORCH_CHECK_VALUE(at + 7 <= length, "wis_round_commits_l3: block ", w, " ends inside record ", r);
    Record rec{p[at], p[at + 1], {}, {p[at + 3], p[at + 5]}, {p[at + 4], p[at + 6]}};
    const int64_t c = p[at + 2];
    TORCH_CHECK_VALUE(rec.u >= 0 && rec.u < rec.v && c >= 0 && at + 7 + 3 * c <= length,
                      "wis_round_commits_l3: record ", r, " of block ", w,
                      " is not an edge u < v with c >= 0 common "
                      "neighbours inside the block");
    at += 7;
    for (int64_t k = 0; k < c; ++k, at += 3) {
      TORCH_CHECK_VALUE(p[at + 1] >= 2 && p[at + 2] >= 1 && (k == 0 || rec.common.back() < p[at]),
                        "wis_round_commits_l3: common neighbours must be ascending with deg >= 2 and tri >= 1");
      rec.common.push_back(p[at]);
      rec.deg.push_back(p[at + 1]);
      rec.tri.push_back(p[at + 2]);
    }
    TORCH_CHECK_VALUE(rec.deg[0] >= 1 && rec.deg[1] >= 1 && rec.tri[0] >= c && rec.tri[1] >= c,
                      "wis_round_commits_l3: record ", r, " of block ", w, " has endpoint states no graph has");
    if (r < p[0]) {
      proposals.push_back(std::move(rec));
    } else {
      sentinel = std::move(rec);
    }
  }
}

// The Python _simulate at depth 3: the round's speculative removals from every rank's block, with each one's key.
std::vector<Commit> simulate(const at::Tensor& gathered, int64_t want,
                             std::unordered_set<EdgeKey, EdgeKeyHash>* proposed_out) {
  TORCH_CHECK_VALUE(gathered.device().is_cpu() && gathered.scalar_type() == at::kLong && gathered.dim() == 2,
                    "wis_round_commits_l3: gathered must be a 2-D int64 CPU tensor [W, L], got ",
                    gathered.scalar_type(), " of shape ", gathered.sizes(), " on ", gathered.device());
  TORCH_CHECK_VALUE(want >= 0, "wis_round_commits_l3: want must be >= 0, got ", want);
  const at::Tensor g = gathered.contiguous();
  std::vector<Record> records;
  std::optional<Key3> bound;
  for (int64_t w = 0; w < g.size(0); ++w) {
    std::optional<Record> sentinel;
    parse_block(g.data_ptr<int64_t>() + w * g.size(1), g.size(1), w, records, sentinel);
    if (sentinel) {
      Key3 key = full_key(sentinel->u, sentinel->v, sentinel->deg, sentinel->tri);
      if (!bound || key < *bound) bound = std::move(key);
    }
  }
  std::unordered_map<int64_t, std::pair<int64_t, int64_t>> state;         // vertex -> (deg, tri)
  std::unordered_map<EdgeKey, std::vector<int64_t>, EdgeKeyHash> common;  // proposed edge -> its common neighbours
  std::unordered_map<EdgeKey, uint64_t, EdgeKeyHash> latest;              // proposed edge -> version of its live entry
  struct Entry {
    Key3 key;
    uint64_t version;
    bool operator<(const Entry& o) const { return o.key < key; }  // priority_queue: the smallest key on top
  };
  std::priority_queue<Entry> heap;
  for (const Record& rec : records) {
    std::vector<int64_t> xs{rec.u, rec.v};
    xs.insert(xs.end(), rec.common.begin(), rec.common.end());
    for (size_t i = 0; i < xs.size(); ++i) {
      const auto [it, added] = state.emplace(xs[i], std::make_pair(rec.deg[i], rec.tri[i]));
      TORCH_CHECK_VALUE(added || it->second == std::make_pair(rec.deg[i], rec.tri[i]), "wis_round_commits_l3: vertex ",
                        xs[i], " has two different states in the gathered blocks");
    }
    const EdgeKey code = edge_code(rec.u, rec.v);
    TORCH_CHECK_VALUE(common.emplace(code, rec.common).second, "wis_round_commits_l3: edge (", rec.u, ", ", rec.v,
                      ") is proposed twice");
  }
  auto key_now = [&](int64_t u, int64_t v, const std::vector<int64_t>& cn) {
    std::vector<int64_t> deg, tri;
    deg.reserve(cn.size() + 2), tri.reserve(cn.size() + 2);
    for (const int64_t x : {u, v}) deg.push_back(state.at(x).first), tri.push_back(state.at(x).second);
    for (const int64_t x : cn) deg.push_back(state.at(x).first), tri.push_back(state.at(x).second);
    return full_key(u, v, deg, tri);
  };
  uint64_t version = 0;
  for (const Record& rec : records) {
    latest[edge_code(rec.u, rec.v)] = ++version;
    heap.push({key_now(rec.u, rec.v, rec.common), version});
  }
  if (proposed_out != nullptr) {
    for (const Record& rec : records) proposed_out->insert(edge_code(rec.u, rec.v));
  }
  std::vector<Commit> commits;
  while (!heap.empty() && static_cast<int64_t>(commits.size()) < want) {
    Entry top = heap.top();
    heap.pop();
    const int64_t u = top.key.u, v = top.key.v;
    const EdgeKey code = edge_code(u, v);
    const auto cn_it = common.find(code);
    if (cn_it == common.end() || latest[code] != top.version) continue;  // taken, or a superseded entry
    if (bound && !(top.key < *bound)) break;  // an unproposed candidate may be better: the next round decides
    Key3 current = key_now(u, v, cn_it->second);
    if (!(current == top.key)) {  // stored keys are exact or optimistic: re-key and requeue
      latest[code] = ++version;
      heap.push({std::move(current), version});
      continue;
    }
    std::vector<int64_t> cn = std::move(cn_it->second);
    common.erase(cn_it);
    for (const int64_t x : {u, v}) {
      auto& [d, t] = state.at(x);
      d -= 1, t -= static_cast<int64_t>(cn.size());
    }
    for (const int64_t w : cn) state.at(w).second -= 1;
    // the proposed edges {x, w} whose common neighbours lose the other endpoint may get better: re-key now
    for (const int64_t w : cn) {
      for (const auto& [x, other] : {std::pair{u, v}, std::pair{v, u}}) {
        const EdgeKey f = edge_code(x, w);
        const auto it = common.find(f);
        if (it == common.end()) continue;
        auto& set = it->second;
        set.erase(std::remove(set.begin(), set.end(), other), set.end());
        latest[f] = ++version;
        heap.push({key_now(std::min(x, w), std::max(x, w), set), version});
      }
    }
    commits.push_back({u, v, std::move(cn), std::move(top.key)});
  }
  return commits;
}

at::Tensor commits_tensor(const std::vector<Commit>& commits, size_t count) {
  at::Tensor out = at::empty({static_cast<int64_t>(count), 2}, at::kLong);
  int64_t* p = out.data_ptr<int64_t>();
  for (size_t i = 0; i < count; ++i) p[2 * i] = commits[i].u, p[2 * i + 1] = commits[i].v;
  return out;
}

at::Tensor wis_round_commits_l3(const at::Tensor& gathered, int64_t want) {
  const std::vector<Commit> commits = simulate(gathered, want, nullptr);
  return commits_tensor(commits, commits.size());
}

at::Tensor long_tensor(const at::Tensor& t, const char* what, int64_t dim) {
  return cpu::rank_long_tensor(t, "WisRankL3", what, dim);
}

struct WisRankL3 : torch::CustomClassHolder {
  WisRankL3(const at::Tensor& edges, const at::Tensor& halo_ids, int64_t lo, int64_t hi, const at::Tensor& deg_ext,
            const at::Tensor& tri_ext, const at::Tensor& common_count, const at::Tensor& ball_ids,
            const at::Tensor& ball_rowptr, const at::Tensor& ball_col)
      : own_(edges, halo_ids, lo, hi, "WisRankL3") {
    const at::Tensor d = long_tensor(deg_ext, "deg_ext", 1), t = long_tensor(tri_ext, "tri_ext", 1);
    const at::Tensor cc = long_tensor(common_count, "common_count", 1);
    const at::Tensor bi = long_tensor(ball_ids, "ball_ids", 1), br = long_tensor(ball_rowptr, "ball_rowptr", 1);
    TORCH_CHECK_VALUE(ball_col.device().is_cpu() && ball_col.dim() == 1 &&
                          (ball_col.scalar_type() == at::kInt || ball_col.scalar_type() == at::kLong),
                      "WisRankL3: ball_col must be a 1-D int32 or int64 CPU tensor");
    const at::Tensor bc = ball_col.to(at::kLong).contiguous();
    TORCH_CHECK_VALUE(cc.numel() == own_.size(), "WisRankL3: common_count must hold one count per edge");
    const int64_t n_ext = own_.num_extended();
    TORCH_CHECK_VALUE(d.numel() == n_ext && t.numel() == n_ext, "WisRankL3: deg_ext and tri_ext must hold ", n_ext,
                      " values (own, then halo)");
    deg_.assign(d.data_ptr<int64_t>(), d.data_ptr<int64_t>() + n_ext);
    tri_.assign(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n_ext);
    // The ball's rows, by extended position, as ascending global ids with a live flag each.
    rows_.resize(static_cast<size_t>(n_ext));
    live_.resize(static_cast<size_t>(n_ext));
    const int64_t nb = bi.numel();
    TORCH_CHECK_VALUE(br.numel() == nb + 1 && br.data_ptr<int64_t>()[nb] == bc.numel(),
                      "WisRankL3: ball_rowptr must have len(ball_ids) + 1 entries ending at len(ball_col)");
    const int64_t* ids = bi.data_ptr<int64_t>();
    const int64_t* rp = br.data_ptr<int64_t>();
    const int64_t* cp = bc.data_ptr<int64_t>();
    for (int64_t b = 0; b < nb; ++b) {
      const std::optional<int64_t> x = position(ids[b]);
      TORCH_CHECK_VALUE(x.has_value(), "WisRankL3: ball vertex ", ids[b], " is neither own nor halo");
      auto& row = rows_[*x];
      for (int64_t s = rp[b]; s < rp[b + 1]; ++s) {
        TORCH_CHECK_VALUE(0 <= cp[s] && cp[s] < nb, "WisRankL3: ball_col holds a position outside the ball");
        row.push_back(ids[cp[s]]);
      }
      std::sort(row.begin(), row.end());
      live_[*x].assign(row.size(), 1);
    }
    const int64_t m = own_.size();
    const int64_t* ccp = cc.data_ptr<int64_t>();
    prefix_.resize(m);
    for (int64_t i = 0; i < m; ++i) {
      // The optimistic stored key (the Python protocol's): the smallest value of D_e is the smallest new score on
      // the edge's vertices; its endpoints' part, (smallest new endpoint score m, how many have it c), is the
      // one-triple prefix (2, -m, c), at least as good as the true key.
      const int64_t c = ccp[i], a = own_.pu[i], b = own_.pv[i];
      TORCH_CHECK_VALUE(c >= 0 && deg_[a] >= 1 && deg_[b] >= 1 && tri_[a] >= c && tri_[b] >= c, "WisRankL3: edge ", i,
                        " has endpoint states no graph has");
      const int64_t su = cpu::singleton_score_l3(deg_[a] - 1, tri_[a] - c);
      const int64_t sv = cpu::singleton_score_l3(deg_[b] - 1, tri_[b] - c);
      const int64_t low = std::min(su, sv);
      prefix_[i] = {-low, (su == low) + (sv == low)};
    }
    alive_.assign(static_cast<size_t>(m), 1);
    version_.assign(static_cast<size_t>(m), 0);
    cn_.resize(static_cast<size_t>(m));
    cn_valid_.assign(static_cast<size_t>(m), 0);
    order_.resize(m);
    for (int64_t i = 0; i < m; ++i) order_[i] = i;
    std::stable_sort(order_.begin(), order_.end(), [&](int64_t a, int64_t b) { return prefix_[a] < prefix_[b]; });
  }

  at::Tensor propose(int64_t batch) {
    TORCH_CHECK_VALUE(batch >= 1, "WisRankL3.propose: batch must be >= 1, got ", batch);
    std::vector<std::pair<Key3, int64_t>> chosen;
    while (static_cast<int64_t>(chosen.size()) <= batch) {
      std::optional<std::pair<Key3, int64_t>> popped = next_stored();
      if (!popped) break;
      auto& [stored, i] = *popped;
      Key3 current = exact_key(i);
      version_[i] = ++counter_;
      if (!(current == stored)) {  // stored keys are optimistic: this one got worse; requeue it
        heap_.push({std::move(current), i, version_[i]});
        continue;
      }
      chosen.emplace_back(std::move(current), i);
    }
    for (const auto& [key, i] : chosen) heap_.push({key, i, version_[i]});
    const size_t proposals = std::min(chosen.size(), static_cast<size_t>(batch));
    std::vector<int64_t> block{static_cast<int64_t>(proposals), chosen.size() > proposals ? 1 : 0};
    for (size_t r = 0; r < chosen.size(); ++r) {
      const int64_t i = chosen[r].second;
      const std::vector<int64_t>& cn = common_of(i);
      block.insert(block.end(), {own_.u[i], own_.v[i], static_cast<int64_t>(cn.size()), deg_[own_.pu[i]],
                                 tri_[own_.pu[i]], deg_[own_.pv[i]], tri_[own_.pv[i]]});
      for (const int64_t w : cn) {
        const int64_t p = *position(w);
        block.insert(block.end(), {w, deg_[p], tri_[p]});
      }
    }
    at::Tensor out = at::empty({static_cast<int64_t>(block.size())}, at::kLong);
    std::copy(block.begin(), block.end(), out.data_ptr<int64_t>());
    return out;
  }

  int64_t round(const at::Tensor& gathered, int64_t want) {
    proposed_.clear();
    commits_ = simulate(gathered, want, &proposed_);
    return first_beaten();
  }

  at::Tensor apply(int64_t count) {
    TORCH_CHECK_VALUE(1 <= count && count <= static_cast<int64_t>(commits_.size()),
                      "WisRankL3.apply: count must be in [1, ", commits_.size(), "] (the last round's commits), got ",
                      count);
    for (int64_t k = 0; k < count; ++k) commit(commits_[k]);
    at::Tensor out = commits_tensor(commits_, static_cast<size_t>(count));
    commits_.clear();
    return out;
  }

 private:
  struct HeapEntry {
    Key3 key;
    int64_t id;
    uint64_t version;
    bool operator<(const HeapEntry& o) const { return o.key < key; }  // the smallest key on top
  };

  std::optional<int64_t> position(int64_t x) const { return own_.position(x); }
  std::optional<int64_t> id_of(int64_t a, int64_t b) const { return own_.id_of(a, b); }

  Key3 prefix_key(int64_t i) const { return {{2, prefix_[i].first, prefix_[i].second}, own_.u[i], own_.v[i]}; }

  // The current common neighbours of own edge i: the live entries shared by the rows of u and v.
  const std::vector<int64_t>& common_of(int64_t i) {
    if (!cn_valid_[i]) {
      const auto &a = rows_[own_.pu[i]], &b = rows_[own_.pv[i]];
      const auto &la = live_[own_.pu[i]], &lb = live_[own_.pv[i]];
      auto& out = cn_[i];
      out.clear();
      for (size_t x = 0, y = 0; x < a.size() && y < b.size();) {
        if (a[x] < b[y]) {
          ++x;
        } else if (b[y] < a[x]) {
          ++y;
        } else {
          if (la[x] && lb[y]) out.push_back(a[x]);
          ++x, ++y;
        }
      }
      cn_valid_[i] = 1;
    }
    return cn_[i];
  }

  template <typename State>
  Key3 key_with(int64_t u, int64_t v, const std::vector<int64_t>& cn, const State& state) {
    std::vector<int64_t> deg, tri;
    deg.reserve(cn.size() + 2), tri.reserve(cn.size() + 2);
    for (const int64_t x : {u, v}) {
      const auto [dx, tx] = state(x);
      deg.push_back(dx), tri.push_back(tx);
    }
    for (const int64_t x : cn) {
      const auto [dx, tx] = state(x);
      deg.push_back(dx), tri.push_back(tx);
    }
    return full_key(u, v, deg, tri);
  }

  std::pair<int64_t, int64_t> base_state(int64_t x) const {
    const int64_t p = *position(x);
    return {deg_[p], tri_[p]};
  }

  Key3 exact_key(int64_t i) {
    const std::vector<int64_t>& cn = common_of(i);
    return key_with(own_.u[i], own_.v[i], cn, [&](int64_t x) { return base_state(x); });
  }

  // The candidate with the smallest stored key: the initial array (cursor) or the heap of re-keyed ones.
  std::optional<std::pair<Key3, int64_t>> next_stored() {
    while (true) {
      while (cursor_ < order_.size() && (version_[order_[cursor_]] != 0 || !alive_[order_[cursor_]])) ++cursor_;
      std::optional<Key3> array_key;
      if (cursor_ < order_.size()) array_key = prefix_key(order_[cursor_]);
      if (!heap_.empty() && (!array_key || heap_.top().key < *array_key)) {
        HeapEntry top = heap_.top();
        heap_.pop();
        if (!alive_[top.id] || version_[top.id] != top.version) continue;  // removed, or superseded
        return std::make_pair(std::move(top.key), top.id);
      }
      if (!array_key) return std::nullopt;
      return std::make_pair(std::move(*array_key), order_[cursor_++]);
    }
  }

  // The Python _first_beaten: replays the commits on a tentative state; an own unproposed edge whose common
  // neighbours a commit shrinks gets its exact key then, and a later commit stands only if every such key is worse.
  int64_t first_beaten() {
    std::unordered_map<int64_t, std::pair<int64_t, int64_t>> changed;  // extended position -> (deg, tri)
    std::unordered_map<int64_t, std::vector<int64_t>> shrunk;          // own edge -> its tentative common neighbours
    auto state = [&](int64_t x) {
      const int64_t p = *position(x);
      const auto it = changed.find(p);
      return it != changed.end() ? it->second : std::make_pair(deg_[p], tri_[p]);
    };
    std::optional<Key3> best;
    for (size_t t = 0; t < commits_.size(); ++t) {
      const Commit& c = commits_[t];
      if (best && *best < c.key) return static_cast<int64_t>(t);
      for (const int64_t x : {c.u, c.v}) {
        if (const auto p = position(x)) {
          const auto [d, tr] = state(x);
          changed[*p] = {d - 1, tr - static_cast<int64_t>(c.common.size())};
        }
      }
      for (const int64_t w : c.common) {
        if (const auto p = position(w)) {
          const auto [d, tr] = state(w);
          changed[*p] = {d, tr - 1};
        }
      }
      for (const int64_t w : c.common) {
        for (const auto& [x, other] : {std::pair{c.u, c.v}, std::pair{c.v, c.u}}) {
          const std::optional<int64_t> j = id_of(x, w);
          if (!j || !alive_[*j] || proposed_.count(edge_code(x, w))) continue;
          auto it = shrunk.find(*j);
          if (it == shrunk.end()) it = shrunk.emplace(*j, common_of(*j)).first;
          auto& set = it->second;
          set.erase(std::remove(set.begin(), set.end(), other), set.end());
          Key3 key = key_with(own_.u[*j], own_.v[*j], set, state);
          if (!best || key < *best) best = std::move(key);
        }
      }
    }
    return static_cast<int64_t>(commits_.size());
  }

  void cut(int64_t x, int64_t y) {  // y leaves x's row (if x is in the ball)
    const std::optional<int64_t> p = position(x);
    if (!p) return;
    const auto& row = rows_[*p];
    const auto it = std::lower_bound(row.begin(), row.end(), y);
    if (it != row.end() && *it == y) live_[*p][it - row.begin()] = 0;
  }

  void commit(const Commit& c) {
    for (const int64_t x : {c.u, c.v}) {
      if (const auto p = position(x)) {
        deg_[*p] -= 1;
        tri_[*p] -= static_cast<int64_t>(c.common.size());
      }
    }
    for (const int64_t w : c.common) {
      if (const auto p = position(w)) tri_[*p] -= 1;
    }
    if (const auto i = id_of(c.u, c.v)) alive_[*i] = 0;
    cut(c.u, c.v);
    cut(c.v, c.u);
    // the 2c edges whose common neighbours shrink may get better: re-key them now
    for (const int64_t w : c.common) {
      for (const int64_t x : {c.u, c.v}) {
        const std::optional<int64_t> j = id_of(x, w);
        if (!j || !alive_[*j]) continue;
        cn_valid_[*j] = 0;  // rebuilt from the current rows
        Key3 key = exact_key(*j);
        version_[*j] = ++counter_;
        heap_.push({std::move(key), *j, version_[*j]});
      }
    }
  }

  cpu::RankEdges own_;
  std::vector<int64_t> deg_, tri_;  // by extended position
  std::vector<std::vector<int64_t>> rows_, cn_;
  std::vector<std::vector<uint8_t>> live_;
  std::vector<uint8_t> alive_, cn_valid_;
  std::vector<std::pair<int64_t, int64_t>> prefix_;  // (-m, c): the optimistic prefix (2, -m, c)
  std::vector<int64_t> order_;                       // edges by prefix, then (u, v)
  size_t cursor_ = 0;
  std::vector<uint64_t> version_;  // 0: not re-keyed yet (its stored key is the prefix); else its live heap entry
  uint64_t counter_ = 0;
  std::priority_queue<HeapEntry> heap_;
  std::vector<Commit> commits_;
  std::unordered_set<EdgeKey, EdgeKeyHash> proposed_;
};

}  // namespace

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.class_<WisRankL3>("WisRankL3")
      .def(torch::init<at::Tensor, at::Tensor, int64_t, int64_t, at::Tensor, at::Tensor, at::Tensor, at::Tensor,
                       at::Tensor, at::Tensor>())
      .def("propose", &WisRankL3::propose)
      .def("round", &WisRankL3::round)
      .def("apply", &WisRankL3::apply);
  m.def("wis_round_commits_l3(Tensor gathered, int want) -> Tensor");
}

TORCH_LIBRARY_IMPL(rankcore, CPU, m) { m.impl("wis_round_commits_l3", &wis_round_commits_l3); }

}  // namespace rankcore::ops
