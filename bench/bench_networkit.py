"""rankcore's sparsifiers beside NetworKit's on the same graphs, in one run (issue 22 item 6).

    OMP_NUM_THREADS=2 python -m pytest bench/bench_networkit.py --benchmark-json=networkit.json
    RANKCORE_NK_SIZES=1M python -m pytest bench/bench_networkit.py ...   (graphs; default 1M,10M)

Graphs (undirected edges): a seeded power-law graph (exponent 2.5, 5 edges per vertex on average) and a flat
G(n, m) graph whose vertex ids are in random order (what users load: no locality, max degree ~20). Both
libraries get the same edge list in memory; half of the edges are removed (NetworKit:
``getSparsifiedGraphOfSize(G, 0.5)``). rankcore is timed on the user's path, ``rankcore.sparsify(edge_index,
n, method, ratio=0.5)`` from a raw [2, 2m] edge_index (graph build included); NetworKit's graph build from
the same COO arrays is timed as its own case (NetworKit's user path is that plus its sparsify row). NetworKit
gets the same thread count as torch (``OMP_NUM_THREADS``). One group per method and graph (rankcore against
NetworKit where both have the method); extra_info: edges, edges kept, edges per second.
"""

import os

import numpy as np
import pytest
import torch

import rankcore
from rankcore.datasets import power_law_graph

from conftest import selected

nk = pytest.importorskip("networkit")

SIZES = {"1M": 1_000_000, "10M": 10_000_000}
KINDS = ("power_law", "random_order")
_graphs: dict = {}


def threads() -> int:
    return int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads()))


def graph_for(kind: str, name: str):
    """(edge_index [2, 2m] both directions, n, upper edges [m, 2] u < v as numpy) of one benchmark graph."""
    key = (kind, name)
    if key not in _graphs:
        m = SIZES[name]
        n = m // 5
        if kind == "power_law":
            ei = power_law_graph(n, m, 2.5, seed=1)
        else:
            gen = torch.Generator().manual_seed(1)
            ei = torch.randint(n, (2, m), generator=gen)
        g = rankcore.Graph.from_input(ei, n, symmetrize=True)
        _graphs[key] = (g.edge_index(), n, g.undirected_edges()[0].numpy())
    return _graphs[key]


def networkit_graph(n: int, upper: np.ndarray):
    weights = np.ones(len(upper), dtype=np.float64)
    g = nk.GraphFromCoo((weights, (upper[:, 0].astype(np.uint64), upper[:, 1].astype(np.uint64))), n=n,
                        directed=False)
    g.indexEdges()
    return g


NK_METHODS = {"nk_random": lambda: nk.sparsification.RandomEdgeSparsifier(),
              "nk_local_degree": lambda: nk.sparsification.LocalDegreeSparsifier()}
RC_METHODS = ("random", "local_degree", "degree", "wis")


@pytest.mark.parametrize("name", selected("RANKCORE_NK_SIZES", "1M,10M", SIZES))
@pytest.mark.parametrize("kind", KINDS)
def test_networkit_build(benchmark, kind, name):
    nk.setNumberOfThreads(threads())
    _, n, upper = graph_for(kind, name)
    benchmark.group = f"networkit graph build {kind} {name}"
    g = benchmark.pedantic(networkit_graph, args=(n, upper), rounds=2, iterations=1)
    benchmark.extra_info.update(impl="networkit", edges=g.numberOfEdges())


@pytest.mark.parametrize("method", list(NK_METHODS))
@pytest.mark.parametrize("name", selected("RANKCORE_NK_SIZES", "1M,10M", SIZES))
@pytest.mark.parametrize("kind", KINDS)
def test_networkit_sparsify(benchmark, kind, name, method):
    nk.setNumberOfThreads(threads())
    _, n, upper = graph_for(kind, name)
    g = networkit_graph(n, upper)
    benchmark.group = f"sparsify {method.removeprefix('nk_')} {kind} {name}"
    h = benchmark.pedantic(lambda: NK_METHODS[method]().getSparsifiedGraphOfSize(g, 0.5), rounds=2, iterations=1)
    benchmark.extra_info.update(impl="networkit (graph built)", edges=len(upper), kept=h.numberOfEdges(),
                                edges_per_second=len(upper) / benchmark.stats.stats.min)


@pytest.mark.parametrize("method", RC_METHODS)
@pytest.mark.parametrize("name", selected("RANKCORE_NK_SIZES", "1M,10M", SIZES))
@pytest.mark.parametrize("kind", KINDS)
def test_rankcore_sparsify(benchmark, kind, name, method):
    ei, n, upper = graph_for(kind, name)
    benchmark.group = f"sparsify {method} {kind} {name}"
    res = benchmark.pedantic(lambda: rankcore.sparsify(ei, n, method, ratio=0.5), rounds=2, iterations=1)
    benchmark.extra_info.update(impl="rankcore", edges=len(upper), kept=int(res.keep_mask.sum()) // 2,
                                edges_per_second=len(upper) / benchmark.stats.stats.min)
