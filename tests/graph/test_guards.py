"""The guards of every sparsifier (min_degree, keep_connected; definitions §2) against brute force.

The references (rankcore.reference) apply the guards literally: at each step a BFS decides whether the edge's
ends stay connected without it, and the degree rule is checked on the current graph. The native code keeps a
spanning forest with replacement searches and drops forbidden candidates for good; these tests are what says
that the two agree.
"""

import os
import random
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rankcore
from rankcore import ops
from rankcore.datasets import power_law_graph
from rankcore.graph.sparsify import METHODS, removal_order
from rankcore.reference import wis_reference
from rankcore.reference.sparsify import guarded_order_reference

from graphs import edge_lists, random_undirected

GUARDS = [(0, True), (1, False), (1, True), (2, False), (2, True), (3, True)]


def _components(edge_index, n):
    """Connected components by union-find (isolated vertices count), straight from the edge list."""
    root = list(range(n))

    def find(x):
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return x

    for u, v in edge_index.t().tolist():
        root[find(u)] = find(v)
    return len({find(x) for x in range(n)})


@pytest.fixture(params=[None, "1", "2"], ids=["no-hubs", "hub1", "hub2"])
def hub_degree(request):
    """Runs a test with the 1-WIS / 2-WIS hub groups off (default threshold) and forced on tiny graphs."""
    old = os.environ.get("RANKCORE_WIS_HUB_DEGREE")
    if request.param is not None:
        os.environ["RANKCORE_WIS_HUB_DEGREE"] = request.param
    yield
    if old is None:
        os.environ.pop("RANKCORE_WIS_HUB_DEGREE", None)
    else:
        os.environ["RANKCORE_WIS_HUB_DEGREE"] = old


def _seeded_graph(seed: int):
    """A seeded graph of 5-11 vertices: dense or sparse, often with several components and pendant trees."""
    rng = random.Random(seed)
    n = rng.randint(5, 11)
    p = rng.uniform(0.15, 0.8)
    pairs = [(u, v) for u in range(n) for v in range(u + 1, n) if rng.random() < p]
    edge_index = torch.tensor(pairs, dtype=torch.int64).reshape(-1, 2).t()
    return torch.cat([edge_index, edge_index.flip(0)], 1), n, rng


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_wis_with_guards_matches_brute_force(hub_degree, depth):
    cases = {2: 60, 3: 40, 4: 15}[depth]
    for seed in range(cases):
        edge_index, n, rng = _seeded_graph(1000 * depth + seed)
        if depth == 4 and edge_index.shape[1] > 40:
            continue  # the depth-4 brute force is slow on the denser graphs
        min_degree, keep_connected = rng.choice(GUARDS)
        m = edge_index.shape[1] // 2
        k = rng.randint(m // 2, m)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rankcore.GuardShortfallWarning)
            got = rankcore.wis(edge_index, n, k, depth, min_degree=min_degree, keep_connected=keep_connected).removed
        expected = wis_reference(edge_index, n, k, depth, min_degree=min_degree, keep_connected=keep_connected)
        assert torch.equal(got, expected), (seed, min_degree, keep_connected, k)


@settings(max_examples=60, deadline=None)
@given(graph=edge_lists(max_nodes=8, max_edges=16, undirected=True), guard=st.sampled_from(GUARDS))
def test_wis_with_guards_on_odd_inputs(graph, guard):
    """Self-loops, duplicates, isolated vertices and empty graphs through the guarded greedy."""
    edge_index, n, _ = graph
    m = rankcore.Graph.from_input(edge_index, n).num_edges // 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rankcore.GuardShortfallWarning)
        got = rankcore.wis(edge_index, n, m, 2, min_degree=guard[0], keep_connected=guard[1]).removed
    assert torch.equal(got, wis_reference(edge_index, n, m, 2, min_degree=guard[0], keep_connected=guard[1]))


@pytest.mark.parametrize("method", [m for m in METHODS if m != "wis"])
@pytest.mark.parametrize("seed", range(4))
def test_fixed_orders_with_guards_match_brute_force(method, seed):
    # sparse random graphs with several components, trees hanging off cycles: many bridges and replacements
    edge_index, n = random_undirected(24, 0.12 + 0.04 * seed, seed=seed)
    graph = rankcore.Graph.from_input(edge_index, n)
    m = graph.num_edges // 2
    full = removal_order(graph, method, m, seed=seed)  # the method's whole order, no guards
    order = [tuple(e) for e in full.edges.tolist()]
    for min_degree, keep_connected in GUARDS:
        for k in (m // 2, m):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", rankcore.GuardShortfallWarning)
                got = rankcore.sparsify(edge_index, n, method, num_remove=k, seed=seed, min_degree=min_degree,
                                        keep_connected=keep_connected).removed
            expected = guarded_order_reference(edge_index, n, order, k, min_degree, keep_connected)
            assert [tuple(e) for e in got.tolist()] == expected, (method, min_degree, keep_connected, k)


@pytest.mark.parametrize("seed", range(3))
def test_guarded_removal_op_matches_brute_force_on_random_orders(seed):
    gen = torch.Generator().manual_seed(seed)
    edge_index, n = random_undirected(40, 0.1, seed=100 + seed)
    graph = rankcore.Graph.from_input(edge_index, n)
    edges = graph.undirected_edges()[0]
    m = edges.shape[0]
    for min_degree, keep_connected in GUARDS:
        order = torch.randperm(m, generator=gen)
        ids = ops.guarded_removal(edges, n, order, m, min_degree, keep_connected)
        expected = guarded_order_reference(edge_index, n, [tuple(edges[i].tolist()) for i in order], m,
                                           min_degree, keep_connected)
        assert [tuple(e) for e in edges[ids].tolist()] == expected


@pytest.mark.parametrize("method", METHODS)
def test_guards_hold_on_a_larger_graph(method):
    """What the guards promise, checked on the result of a graph too large for the brute force."""
    edge_index = power_law_graph(3000, 9000, 2.5, seed=3)
    graph = rankcore.Graph.from_input(edge_index, 3000, symmetrize=True)
    ei, n = graph.edge_index(), graph.num_nodes
    before = graph.degree()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = rankcore.sparsify(ei, n, method, ratio=0.95, min_degree=2, keep_connected=True,
                                   **({"sketch_dim": 16} if method == "spectral" else {}))
    after = rankcore.Graph.from_input(result.edge_index, n).degree()
    assert bool((after >= torch.minimum(before, torch.tensor(2))).all())
    assert _components(result.edge_index, n) == _components(ei, n)
    # 95% cannot be reached: a spanning forest stays (at least n - components edges)
    assert result.removed.shape[0] <= graph.num_edges // 2 - (n - _components(ei, n))
    assert [w.category for w in caught] == [rankcore.GuardShortfallWarning]
    assert f"allow only {result.removed.shape[0]} of the" in str(caught[0].message)


def test_guards_off_change_nothing_and_reachable_counts_are_exact():
    edge_index, n = random_undirected(60, 0.2, seed=7)
    m = rankcore.Graph.from_input(edge_index, n).num_edges // 2
    for method in METHODS:
        plain = rankcore.sparsify(edge_index, n, method, ratio=0.3, seed=1, min_degree=0, keep_connected=False)
        default = rankcore.sparsify(edge_index, n, method, ratio=0.3, seed=1)
        assert torch.equal(plain.removed, default.removed)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # 30% of a dense G(60, 0.2) is reachable: no warning
            guarded = rankcore.sparsify(edge_index, n, method, ratio=0.3, seed=1, min_degree=1, keep_connected=True)
        assert guarded.removed.shape[0] == round(0.3 * m)


def test_min_degree_above_every_degree_removes_nothing_and_says_so():
    edge_index, n = random_undirected(12, 0.3, seed=1)
    with pytest.warns(rankcore.GuardShortfallWarning, match="allow only 0 of the"):
        result = rankcore.sparsify(edge_index, n, "wis", ratio=0.5, min_degree=10**6)
    assert result.removed.shape == (0, 2) and bool(result.keep_mask.all())


def test_keep_connected_on_a_tree_removes_nothing_and_on_a_cycle_one_edge():
    path = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    path = torch.cat([path, path.flip(0)], 1)
    with pytest.warns(rankcore.GuardShortfallWarning):
        assert rankcore.sparsify(path, 5, "random", ratio=1.0, keep_connected=True).removed.shape[0] == 0
    cycle = torch.tensor([[0, 1, 2, 3, 4], [1, 2, 3, 4, 0]])
    cycle = torch.cat([cycle, cycle.flip(0)], 1)
    with pytest.warns(rankcore.GuardShortfallWarning, match="allow only 1 of the 5"):
        assert rankcore.sparsify(cycle, 5, "wis", ratio=1.0, keep_connected=True).removed.shape[0] == 1


def test_k_neighbor_budget_with_guards_is_a_subset_of_the_budget():
    edge_index, n = random_undirected(50, 0.15, seed=2)
    plain = rankcore.sparsify(edge_index, n, "k_neighbor", k=1, seed=3)
    guarded = rankcore.sparsify(edge_index, n, "k_neighbor", k=1, seed=3, keep_connected=True, min_degree=1)
    assert set(map(tuple, guarded.removed.tolist())) <= set(map(tuple, plain.removed.tolist()))
    assert _components(guarded.edge_index, n) == _components(edge_index, n)


@pytest.mark.parametrize("bad, error, match", [
    (dict(min_degree=-1), ValueError, "min_degree must be >= 0"),
    (dict(min_degree=1.0), TypeError, "min_degree must be an int"),
    (dict(min_degree=True), TypeError, "min_degree must be an int"),
    (dict(keep_connected=1), TypeError, "keep_connected must be a bool"),
    (dict(keep_connected=None), TypeError, "keep_connected must be a bool"),
    (dict(min_degree=1, chunk_size=4), ValueError, "takes no guards"),
])
def test_bad_guard_arguments(bad, error, match):
    edge_index, n = random_undirected(10, 0.4, seed=0)
    with pytest.raises(error, match=match):
        rankcore.sparsify(edge_index, n, "wis", ratio=0.5, **bad)


def test_numpy_bool_keep_connected_is_a_bool():
    # numpy's bool was refused as "keep_connected must be a bool, got bool" (numpy ints pass everywhere)
    edge_index, n = random_undirected(10, 0.4, seed=0)
    for flag in (np.True_, np.False_):
        got = rankcore.sparsify(edge_index, n, "degree", ratio=0.5, keep_connected=flag)
        want = rankcore.sparsify(edge_index, n, "degree", ratio=0.5, keep_connected=bool(flag))
        assert torch.equal(got.removed, want.removed)


def test_guarded_removal_op_rejects_bad_input():
    edges = torch.tensor([[0, 1], [1, 2], [0, 2]])
    order = torch.tensor([2, 0, 1])
    cases = [
        ((torch.tensor([[1, 0]]), 3, torch.tensor([0]), 1, 0, True), "every edge must be \\(u, v\\) with 0 <= u < v"),
        ((torch.tensor([[0, 3]]), 3, torch.tensor([0]), 1, 0, True), "every edge must be"),
        ((torch.tensor([[1, 1]]), 3, torch.tensor([0]), 1, 0, True), "every edge must be"),
        ((edges, 3, torch.tensor([0, 0]), 2, 0, True), "repeats an earlier id"),
        ((edges, 3, torch.tensor([3]), 1, 0, True), "is not an edge id"),
        ((edges, 3, torch.tensor([-1]), 1, 0, True), "is not an edge id"),
        ((edges, 3, torch.tensor([0, 1, 2, 0]), 1, 0, True), "order has 4 ids"),
        ((edges.int(), 3, order, 1, 0, True), "edges must be an int64 tensor"),
        ((edges, 3, order.float(), 1, 0, True), "order must be a 1-D int64"),
        ((edges, 3, order, -1, 0, True), "num_remove must be >= 0"),
        ((edges, 3, order, 1, -2, True), "min_degree must be >= 0"),
        ((edges, -1, order, 1, 0, True), "num_nodes must be in"),
    ]
    for args, match in cases:
        with pytest.raises(ValueError, match=match):
            ops.guarded_removal(*args)
    with pytest.raises(ValueError, match="min_degree must be >= 0"):
        g = rankcore.Graph.from_input(torch.tensor([[0, 1], [1, 0]]), 2)
        ops.wis_greedy(g.rowptr, g.col, 1, 2, None, -1, False)


def test_guarded_ops_pass_opcheck():
    edge_index, n = random_undirected(16, 0.3, seed=4)
    g = rankcore.Graph.from_input(edge_index, n)
    edges = g.undirected_edges()[0]
    order = torch.randperm(edges.shape[0], generator=torch.Generator().manual_seed(0))
    torch.library.opcheck(torch.ops.rankcore.guarded_removal.default, (edges, n, order, edges.shape[0], 1, True))
    progress = torch.zeros(1, dtype=torch.int64)
    torch.library.opcheck(torch.ops.rankcore.wis_greedy.default,
                          (g.rowptr, g.col, edges.shape[0], 2, progress, 1, True))


def test_cli_guards(tmp_path, capsys):
    from rankcore.cli import main

    out = tmp_path / "kept.txt"
    assert main(["sparsify", "--ratio", "0.95", "--min-degree", "1", "--keep-connected", "--no-progress",
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "guards: only 45 of the 74 requested edges can be removed" in text  # karate: 78 edges, 34 vertices
    kept = [tuple(map(int, line.split())) for line in out.read_text().splitlines() if line and line[0] != "#"]
    assert _components(torch.tensor(kept).t(), 34) == 1
    assert main(["sparsify", "--min-degree", "-1"]) == 2
    assert "--min-degree must be >= 0" in capsys.readouterr().err


def test_cli_guards_refused_with_nproc(tmp_path, capsys):
    from rankcore.cli import main

    path = tmp_path / "g.txt"
    path.write_text("0 1\n1 0\n")
    assert main(["sparsify", str(path), "--nproc", "2", "--keep-connected"]) == 2
    assert "--keep-connected is not available with --nproc" in capsys.readouterr().err


def test_pyg_transforms_take_the_guards():
    pyg = pytest.importorskip("torch_geometric")
    from rankcore import pyg as rpyg

    edge_index, n = random_undirected(30, 0.2, seed=5)
    data = pyg.data.Data(edge_index=edge_index, num_nodes=n)
    for transform in (rpyg.WalkIndexSparsification(ratio=0.9, keep_connected=True),
                      rpyg.RandomEdgeSparsification(ratio=0.9, seed=0, keep_connected=True),
                      rpyg.LocalDegreeSparsification(ratio=0.9, keep_connected=True),
                      rpyg.DegreeSparsification(ratio=0.9, keep_connected=True, min_degree=1),
                      rpyg.KNeighborSparsification(k=1, keep_connected=True)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rankcore.GuardShortfallWarning)
            out = transform(data)
        assert _components(out.edge_index, n) == _components(edge_index, n)
        assert "keep_connected=True" in repr(transform)
    with pytest.raises(TypeError, match="keep_connected must be a bool"):
        rpyg.RandomEdgeSparsification(ratio=0.5, keep_connected="yes")
