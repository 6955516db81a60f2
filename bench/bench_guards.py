"""The guards (min_degree, keep_connected) against the same sparsifier without them, in one run.

    OMP_NUM_THREADS=1 python -m pytest bench/bench_guards.py --benchmark-json=guards.json
    RANKCORE_GUARD_SIZES=1M python -m pytest bench/bench_guards.py ...   (graphs; default 1M,10M)

Graphs: seeded power-law graphs (exponent 2.5) with 1M and 10M undirected edges, 5 per vertex on average,
prebuilt (the guards' cost, not the build, is what is compared). Each case is timed once per round at half
the edges removed (reachable under the guards) and at 90% (not reachable: the greedy then meets every
bridge of the thinned graph). The issue-21 target: 1-WIS with min_degree=1, keep_connected=True within 2x of
plain 1-WIS on 10M edges. extra_info holds the number of edges removed.
"""

import pytest
import torch

import rankcore
from rankcore import ops
from rankcore.datasets import power_law_graph
from rankcore.graph.sparsify import guarded_prefix

from conftest import selected

SIZES = {"1M": 1_000_000, "10M": 10_000_000}
GUARDS = {"plain": (0, False), "guarded": (1, True)}
IMPLS = {"plain": "rankcore", "guarded": "rankcore min_degree=1 keep_connected"}  # time / rankcore = the guards' cost
_graphs: dict = {}


def graph_for(name: str) -> rankcore.Graph:
    if name not in _graphs:
        m = SIZES[name]
        n = m // 5
        _graphs[name] = rankcore.Graph.from_input(power_law_graph(n, m, 2.5, seed=1), n, symmetrize=True)
    return _graphs[name]


@pytest.mark.parametrize("guards", list(GUARDS))
@pytest.mark.parametrize("fraction", [0.5, 0.9])
@pytest.mark.parametrize("name", selected("RANKCORE_GUARD_SIZES", "1M,10M", SIZES))
def test_1wis_guards(benchmark, name, fraction, guards):
    g = graph_for(name)
    k = int(fraction * (g.num_edges // 2))
    min_degree, keep_connected = GUARDS[guards]
    benchmark.group = f"1-WIS {name} remove {fraction:.0%}"
    removed, _ = benchmark.pedantic(ops.wis_greedy, args=(g.rowptr, g.col, k, 2, None, min_degree, keep_connected),
                                    rounds=2, iterations=1)
    benchmark.extra_info.update(impl=IMPLS[guards], edges=g.num_edges // 2, requested=k,
                                removed=int(removed.shape[0]))


@pytest.mark.parametrize("guards", list(GUARDS))
@pytest.mark.parametrize("name", selected("RANKCORE_GUARD_SIZES", "1M,10M", SIZES))
def test_random_order_guards(benchmark, name, guards):
    g = graph_for(name)
    edges = g.undirected_edges()[0]
    order = torch.randperm(edges.shape[0], generator=torch.Generator().manual_seed(0))
    k = int(0.9 * edges.shape[0])
    min_degree, keep_connected = GUARDS[guards]
    benchmark.group = f"random order {name} remove 90%"
    ids = benchmark.pedantic(guarded_prefix,
                             args=(g, edges, order, k, min_degree, keep_connected), rounds=2, iterations=1)
    benchmark.extra_info.update(impl=IMPLS[guards], edges=edges.shape[0], requested=k, removed=int(ids.numel()))
