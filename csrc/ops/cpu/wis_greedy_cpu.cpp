// CPU implementation of rankcore::wis_greedy (exact WIS; see ops/wis_greedy.cpp).
//
// L = 2: a lazy greedy over (min degree, max degree, -edge id). Degrees only decrease, so a popped entry
// whose stored key still equals the edge's current key is the true maximum (every other entry's
// current key is at most its stored key, which is at most the top's); a stale one is pushed back
// with its current key. Edge ids follow the lexicographic (u, v) order, so "smallest id" is the tie
// rule of docs/definitions.md §2. The key packs into a uint64 for a monotone degree-class queue (a binary heap when
// the ranges do not fit). No dense matrix.
// L >= 3: cpu/wis_walk_engine.h, seeded with scores from the closed_walk_counts host code.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <queue>
#include <tuple>
#include <vector>

#include "ops/cpu/closed_walks_host.h"
#include "ops/cpu/degree_greedy.h"
#include "ops/cpu/hub_groups.h"
#include "ops/cpu/progress_slot.h"
#include "ops/cpu/removal_guards.h"
#include "ops/cpu/wis_walk_engine.h"
#include "ops/wis_greedy.h"

namespace rankcore::ops {
namespace {

// Edges u < v in lexicographic order (edge id = rank in that order: the tie rule).
template <typename index_t>
void list_edges(const int64_t* rowptr, const index_t* col, int64_t n, std::vector<int32_t>& eu,
                std::vector<int32_t>& ev) {
  for (int64_t u = 0; u < n; ++u) {
    for (int64_t e = rowptr[u]; e < rowptr[u + 1]; ++e) {
      const int64_t v = static_cast<int64_t>(col[e]);
      if (v > u) {
        eu.push_back(static_cast<int32_t>(u));
        ev.push_back(static_cast<int32_t>(v));
      }
    }
  }
}

template <typename index_t>
std::tuple<at::Tensor, at::Tensor> wis_greedy_impl(const at::Tensor& rowptr_t, const at::Tensor& col_t,
                                                   int64_t num_remove, int64_t depth, int64_t min_degree,
                                                   bool keep_connected, cpu::ProgressSlot progress) {
  const int64_t n = rowptr_t.numel() - 1;
  const int64_t* rowptr = rowptr_t.data_ptr<int64_t>();
  const index_t* col = col_t.data_ptr<index_t>();
  check_host_simple_symmetric(rowptr, col, n, "wis_greedy");
  std::vector<int32_t> eu, ev;
  eu.reserve(static_cast<size_t>(col_t.numel() / 2));  // exact: a symmetric simple CSR holds each edge twice
  ev.reserve(static_cast<size_t>(col_t.numel() / 2));
  list_edges(rowptr, col, n, eu, ev);
  const int64_t m = static_cast<int64_t>(eu.size());
  TORCH_CHECK_VALUE(num_remove >= 0 && num_remove <= m, "wis_greedy: num_remove must be in [0, ", m,
                    "] (the number of undirected edges), got ", num_remove);

  at::Tensor removed = at::empty({num_remove, 2}, rowptr_t.options().dtype(at::kLong));
  at::Tensor removed_ids = at::empty({num_remove}, rowptr_t.options().dtype(at::kLong));
  const cpu::GreedyOutput out{removed.data_ptr<int64_t>(), removed_ids.data_ptr<int64_t>()};
  cpu::RemovalGuards guards(n, eu, ev, min_degree, keep_connected, {});  // forest: its default preference
  int64_t done = num_remove;
  if (depth == 2) {
    std::vector<int64_t> deg(static_cast<size_t>(n), 0);
    for (int64_t id = 0; id < m; ++id) ++deg[eu[id]], ++deg[ev[id]];
    done = cpu::degree_greedy(std::move(deg), eu, ev, num_remove, out, guards, progress, cpu::NeverStop{});
  } else if (num_remove > 0) {
    // Singleton scores of the whole graph from the closed_walk_counts code (L = 3: from the triangle
    // counts, which the engine also keeps up to date); isolated vertices score 0.
    std::vector<int64_t> scores(static_cast<size_t>(n)), triangles;
    if (depth == 3) {
      triangles = cpu::triangle_counts_host(rowptr, col, n);
      for (int64_t t = 0; t < n; ++t) scores[t] = cpu::closed_walks_l3(rowptr[t + 1] - rowptr[t], triangles[t]);
    } else {
      TORCH_CHECK(cpu::closed_walk_counts_host(rowptr, col, n, depth, scores.data()), kOverflowPrefix,
                  " closed walk counts of length ", depth, " exceed the int64 range (2^63 - 1) during WIS scoring");
    }
    for (int64_t t = 0; t < n; ++t) {
      if (rowptr[t + 1] == rowptr[t]) scores[t] = 0;
    }
    cpu::WalkGreedy greedy(n, eu, ev, depth, std::move(scores), std::move(triangles), cpu::hub_degree());
    auto allow = [&](int32_t e) { return guards.try_remove(e); };
    for (int64_t step = 0; step < num_remove; ++step) {
      const int32_t e = greedy.step(allow);
      if (e < 0) {  // the guards forbid every edge left
        done = step;
        break;
      }
      out.put(step, e, eu[e], ev[e]);
      if ((step & 63) == 0) progress.store(step, std::memory_order_relaxed);
    }
  }
  progress.store(done, std::memory_order_relaxed);
  if (done < num_remove) return {removed.narrow(0, 0, done).clone(), removed_ids.narrow(0, 0, done).clone()};
  return {removed, removed_ids};
}

std::tuple<at::Tensor, at::Tensor> wis_greedy_cpu(const at::Tensor& rowptr, const at::Tensor& col, int64_t num_remove,
                                                  int64_t depth, const at::Tensor& progress, int64_t min_degree,
                                                  bool keep_connected) {
  check_wis_greedy_args(rowptr, col, depth, progress, min_degree);
  const at::Tensor rowptr_c = rowptr.contiguous(), col_c = col.contiguous();
  check_host_rowptr(rowptr_c.data_ptr<int64_t>(), rowptr_c.numel() - 1, col_c.numel(), "wis_greedy");
  cpu::ProgressSlot done(progress.data_ptr<int64_t>(), progress.numel());
  done.store(0);
  return AT_DISPATCH_INDEX_TYPES(col_c.scalar_type(), "wis_greedy_cpu", [&] {
    return wis_greedy_impl<index_t>(rowptr_c, col_c, num_remove, depth, min_degree, keep_connected, done);
  });
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) { m.impl("wis_greedy", &wis_greedy_cpu); }

}  // namespace rankcore::ops
