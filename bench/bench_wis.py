"""Full exact 1-WIS removal orders against the naive algorithm (rescore every edge every step).

    python -m pytest bench/bench_wis.py --benchmark-json=wis.json

The naive baseline is a vectorised PyTorch version of the definition's greedy for depth 2: each step
recomputes (min deg, max deg) for every remaining edge and takes the best (ties: smallest (u, v)).
It is timed over its first NAIVE_STEPS steps and extrapolated linearly to the full order (each step
costs O(remaining edges), so the linear extrapolation overestimates by at most 2x).
"""

import pickle
import time
from pathlib import Path

import pytest
import torch

import rankcore

from conftest import power_law, selected_sizes

NAIVE_STEPS = 50
CORA_GRAPH = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "Cora" / "raw" / "ind.cora.graph"


def cora() -> rankcore.Graph:
    if not CORA_GRAPH.exists():
        pytest.skip(f"Cora raw files not found at {CORA_GRAPH}")
    with open(CORA_GRAPH, "rb") as f:
        adjacency = pickle.load(f, encoding="latin1")
    ei = torch.tensor([(u, v) for u, nbrs in adjacency.items() for v in nbrs]).t()
    return rankcore.Graph.from_input(ei, int(ei.max()) + 1, symmetrize=True)


def graph_for(name: str) -> rankcore.Graph:
    return cora() if name == "cora" else power_law(name)


def naive_1wis_steps(graph: rankcore.Graph, steps: int) -> torch.Tensor:
    n = graph.num_nodes
    ei = graph.edge_index()
    upper = ei[0] < ei[1]
    u, v = ei[0][upper], ei[1][upper]
    order = torch.argsort(u * n + v)
    u, v = u[order], v[order]
    deg = graph.degree().clone()
    alive = torch.ones(u.numel(), dtype=torch.bool)
    big = n + 1
    removed = []
    for _ in range(steps):
        du, dv = deg[u], deg[v]
        # one integer key: (min deg, max deg) lexicographic, then smallest id; dead edges lowest
        key = (torch.minimum(du, dv) * big + torch.maximum(du, dv)) * u.numel() + (u.numel() - 1 - torch.arange(u.numel()))
        key[~alive] = -1
        best = int(torch.argmax(key))
        alive[best] = False
        deg[u[best]] -= 1
        deg[v[best]] -= 1
        removed.append((int(u[best]), int(v[best])))
    return torch.tensor(removed)


@pytest.mark.parametrize("name", ["cora"] + [s for s in selected_sizes() if s != "100k"])
def test_rankcore_1wis_full_order(benchmark, name):
    graph = graph_for(name)
    m = graph.num_edges // 2
    benchmark.group = f"1-WIS full order {name}"
    benchmark.extra_info.update(impl="rankcore", undirected_edges=m)
    result = benchmark.pedantic(lambda: rankcore.wis(graph, None, m), rounds=3 if name == "cora" else 1,
                                iterations=1, warmup_rounds=0)
    assert result.removed.shape == (m, 2)
    # The naive algorithm's first steps agree with the exact order.
    assert torch.equal(naive_1wis_steps(graph, 5), result.removed[:5])


@pytest.mark.parametrize("name", ["cora"] + [s for s in selected_sizes() if s != "100k"])
def test_naive_1wis_extrapolated(benchmark, name):
    graph = graph_for(name)
    m = graph.num_edges // 2
    steps = min(NAIVE_STEPS, m)
    benchmark.group = f"1-WIS full order {name}"
    t0 = time.perf_counter()
    benchmark.pedantic(lambda: naive_1wis_steps(graph, steps), rounds=1, iterations=1)
    elapsed = time.perf_counter() - t0
    benchmark.extra_info.update(impl=f"naive (first {steps} steps)", undirected_edges=m,
                                extrapolated_full_order_s=elapsed / steps * m)
