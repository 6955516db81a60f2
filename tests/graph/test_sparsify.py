"""rankcore.sparsify: the SparsifyResult contract for every method, ratio semantics, and the baselines'
scores against brute-force references written from their definitions."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rankcore
from rankcore.datasets import karate_club, power_law_graph
from rankcore.graph.sparsify import METHODS, _undirected_edges, effective_resistances, local_degree_scores
from rankcore.reference import (effective_resistance_reference, effective_resistance_sketch_reference,
                                local_degree_reference)

from graphs import edge_lists

pytest.importorskip("scipy")


def simple_edges(edge_index, n):
    """The set of undirected edges {(u, v): u < v} of the simple graph, from first principles."""
    return {(min(u, v), max(u, v)) for u, v in edge_index.t().tolist() if u != v}


def check_contract(edge_index, n, result, k):
    edges = simple_edges(edge_index, n)
    removed = [tuple(e) for e in result.removed.tolist()]
    assert result.removed.dtype == torch.int64 and result.removed.shape == (k, 2)
    assert all(u < v for u, v in removed)
    assert len(set(removed)) == k and set(removed) <= edges
    gone = set(removed)
    expected_keep = [u == v or (min(u, v), max(u, v)) not in gone for u, v in edge_index.t().tolist()]
    assert result.keep_mask.tolist() == expected_keep
    assert torch.equal(result.edge_index, edge_index[:, result.keep_mask])


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=25, deadline=None)
@given(graph=edge_lists(max_nodes=10, max_edges=25, undirected=True), data=st.data())
def test_contract_and_prefixes(method, graph, data):
    edge_index, n, _ = graph
    m = len(simple_edges(edge_index, n))
    k = data.draw(st.integers(0, m))
    seed = data.draw(st.integers(0, 3))
    result = rankcore.sparsify(edge_index, n, method, num_remove=k, seed=seed)
    check_contract(edge_index, n, result, k)
    # one full order serves every ratio: a smaller removal is a prefix of the full order
    full = rankcore.sparsify(edge_index, n, method, ratio=1.0, seed=seed)
    assert full.removed.shape[0] == m
    assert torch.equal(result.removed, full.removed[:k])


@pytest.mark.parametrize("ratio, m, expected", [(0.5, 5, 3), (0.0, 7, 0), (1.0, 7, 7), (0.3, 10, 3), (0.25, 2, 1)])
def test_ratio_rounds_half_up(ratio, m, expected):
    path = torch.tensor([[i for i in range(m)], [i + 1 for i in range(m)]])
    path = torch.cat([path, path.flip(0)], dim=1)
    assert rankcore.sparsify(path, m + 1, "random", ratio=ratio).removed.shape[0] == expected


def test_wis_method_is_rankcore_wis():
    g = karate_club()
    for depth in (2, 3):
        a = rankcore.sparsify(g.edge_index, 34, "wis", num_remove=30, depth=depth)
        b = rankcore.wis(g.edge_index, 34, 30, depth)
        assert torch.equal(a.removed, b.removed) and torch.equal(a.keep_mask, b.keep_mask)


def test_random_is_seeded_permutation():
    g = karate_club()
    a = rankcore.sparsify(g.edge_index, 34, "random", ratio=1.0, seed=1).removed
    b = rankcore.sparsify(g.edge_index, 34, "random", ratio=1.0, seed=1).removed
    c = rankcore.sparsify(g.edge_index, 34, "random", ratio=1.0, seed=2).removed
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert sorted(map(tuple, a.tolist())) == sorted(simple_edges(g.edge_index, 34))


@settings(max_examples=30, deadline=None)
@given(graph=edge_lists(max_nodes=12, max_edges=35, undirected=True))
def test_local_degree_scores_match_definition(graph):
    edge_index, n, _ = graph
    g = rankcore.Graph.from_input(edge_index, n)
    edges = _undirected_edges(g)
    ref = local_degree_reference(edge_index, n)
    got = local_degree_scores(g, edges).tolist()
    assert [ref[tuple(e)] for e in edges.tolist()] == pytest.approx(got, abs=1e-12)
    # removal order: score ascending, ties by (u, v)
    order = rankcore.sparsify(edge_index, n, "local_degree", ratio=1.0).removed.tolist()
    assert order == sorted(order, key=lambda e: (ref[tuple(e)], e[0], e[1]))


def test_local_degree_hand_computed():
    # vertex 0 (degree 4) joins 1, 2, 3, 4 of degrees 8, 7, 6, 5 (padded with leaves). 0 ranks them
    # 1..4: exponents 1 - log(r)/log(4) = 1, 1/2, 1 - log 3/log 4, 0. Every leaf ranks its only
    # neighbour first (d = 1: exponent 1); 1..4 have no neighbour of higher degree.
    pairs = [(0, j) for j in (1, 2, 3, 4)]
    nxt = 5
    for j, deg in zip((1, 2, 3, 4), (8, 7, 6, 5)):
        for _ in range(deg - 1):
            pairs.append((j, nxt))
            nxt += 1
    ei = torch.tensor(pairs).t()
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    g = rankcore.Graph.from_input(ei, nxt)
    edges = _undirected_edges(g)
    scores = dict(zip(map(tuple, edges.tolist()), local_degree_scores(g, edges).tolist()))
    assert scores[(0, 1)] == pytest.approx(1.0) and scores[(0, 2)] == pytest.approx(0.5)
    assert scores[(0, 3)] == pytest.approx(1 - math.log(3) / math.log(4)) and scores[(0, 4)] == pytest.approx(0.0)
    assert all(v == 1.0 for e, v in scores.items() if e[0] != 0)
    order = rankcore.sparsify(ei, nxt, "local_degree", ratio=1.0).removed.tolist()
    assert order[:4] == [[0, 4], [0, 3], [0, 2], [0, 1]]


def test_effective_resistance_sketch_matches_pseudo_inverse():
    # two components (a power-law graph plus a separate triangle) and a bridge
    ei = power_law_graph(40, 90, seed=3)
    tri = torch.tensor([[40, 41, 42, 41, 42, 40], [41, 42, 40, 40, 41, 42]])
    ei = torch.cat([ei, tri], dim=1)
    g = rankcore.Graph.from_input(ei, 43)
    edges = _undirected_edges(g)
    ref = effective_resistance_reference(ei, 43)
    exact = torch.tensor([ref[tuple(e)] for e in edges.tolist()], dtype=torch.float64)
    est = effective_resistances(g, edges, sketch_dim=3000, seed=0)
    rel = (est - exact).abs() / exact
    assert float(rel.max()) < 0.15, float(rel.max())
    # Foster's theorem: the resistances sum to n - #components (isolated vertices are components)
    nx = pytest.importorskip("networkx")
    G = nx.Graph()
    G.add_nodes_from(range(43))
    G.add_edges_from(map(tuple, edges.tolist()))
    assert float(exact.sum()) == pytest.approx(43 - nx.number_connected_components(G), rel=1e-9)
    assert float(est.sum()) == pytest.approx(float(exact.sum()), rel=0.05)


def test_spectral_resistance_order_removes_well_connected_edges_first():
    # a 6-clique with a pendant path: clique edges (R = 1/3) go before the bridges (R = 1)
    clique = [(u, v) for u in range(6) for v in range(u + 1, 6)]
    pairs = clique + [(5, 6), (6, 7)]
    ei = torch.tensor(pairs).t()
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    order = rankcore.sparsify(ei, 8, "spectral", ratio=1.0, order="resistance", sketch_dim=2000).removed.tolist()
    assert {tuple(e) for e in order[-2:]} == {(5, 6), (6, 7)}
    # sampling order (the default): bridges are kept with probability ∝ R, so over seeds they are
    # removed late on average
    positions = []
    for seed in range(30):
        o = rankcore.sparsify(ei, 8, "spectral", ratio=1.0, seed=seed).removed.tolist()
        positions.append(o.index([6, 7]))
    assert sum(positions) / len(positions) > len(pairs) / 2


# --- the Laplacian solves behind "spectral": AMG and Jacobi paths, blocks, progress ---------------------

def _grid(rows, cols):
    idx = torch.arange(rows * cols).reshape(rows, cols)
    ei = torch.cat([torch.stack([idx[:, :-1].reshape(-1), idx[:, 1:].reshape(-1)]),
                    torch.stack([idx[:-1].reshape(-1), idx[1:].reshape(-1)])], dim=1)
    return torch.cat([ei, ei.flip(0)], dim=1), rows * cols


def _path(n):
    ei = torch.stack([torch.arange(n - 1), torch.arange(1, n)])
    return torch.cat([ei, ei.flip(0)], dim=1), n


def _disconnected():
    # a power-law piece, a separate 4-cycle with a chord, and two isolated vertices (ids 34, 41)
    ei = power_law_graph(30, 70, seed=5)
    extra = torch.tensor([[30, 31, 32, 33, 30], [31, 32, 33, 30, 32]]) + torch.tensor([[0], [0]])
    extra = torch.cat([extra, torch.tensor([[35, 36, 37, 38, 39], [36, 37, 38, 39, 40]])], dim=1)
    return torch.cat([ei, extra, extra.flip(0)], dim=1), 42


def _hanging():
    # two 5-cycles joined by a 3-edge path (bridges inside the 2-core) with trees hanging off both cycles
    # and off the path, one of them a path of 4 edges
    pairs = [(i, (i + 1) % 5) for i in range(5)] + [(5 + i, 5 + (i + 1) % 5) for i in range(5)]
    pairs += [(0, 10), (10, 11), (11, 5)]
    pairs += [(2, 12), (12, 13), (12, 14), (7, 15), (15, 16), (16, 17), (17, 18), (10, 19)]
    ei = torch.tensor(pairs).t()
    return torch.cat([ei, ei.flip(0)], dim=1), 20


def _solver_module():
    import importlib
    return importlib.import_module("rankcore.graph.spectral")


SOLVER_PATHS = ["jacobi", pytest.param("amg", marks=pytest.mark.skipif(
    not _solver_module()._has_pyamg(), reason="pyamg not installed"))]


@pytest.mark.parametrize("solver", SOLVER_PATHS)
@pytest.mark.parametrize("graph", ["path", "grid", "disconnected", "power_law", "hanging"])
def test_sketch_solves_match_the_dense_sketch(monkeypatch, graph, solver):
    # The solver part alone: the same sign matrix Q (same seed) with L^+ formed densely. The AMG hierarchy
    # is forced to several levels on these small graphs (coarsest level <= 6 unknowns instead of 1000).
    monkeypatch.setattr(_solver_module(), "_MAX_COARSE", 6)
    ei, n = {"path": lambda: _path(40), "grid": lambda: _grid(7, 9), "disconnected": _disconnected,
             "power_law": lambda: (power_law_graph(60, 200, seed=1), 60), "hanging": _hanging}[graph]()
    g = rankcore.Graph.from_input(ei, n)
    edges = _undirected_edges(g)
    ref = effective_resistance_sketch_reference(ei, n, 40, seed=3)
    expected = torch.tensor([ref[tuple(e)] for e in edges.tolist()], dtype=torch.float64)
    got = effective_resistances(g, edges, sketch_dim=40, seed=3, solver=solver, block_size=16, tol=1e-10)
    torch.testing.assert_close(got, expected, rtol=1e-7, atol=1e-9)


def test_trees_are_peeled_and_have_resistance_one_exactly(monkeypatch):
    # On a tree B L^+ B^T = I, so ||Z[:, u] - Z[:, v]||² = sum_r q_re² = 1 for every edge and every sketch;
    # the 2-core reduction gets there without a single solve.
    module = _solver_module()
    monkeypatch.setattr(module, "_block_pcg", lambda *a, **kw: pytest.fail("a tree needs no solve"))
    leaves = 5000
    star = torch.stack([torch.full((leaves,), leaves // 2), torch.cat([torch.arange(leaves // 2),
                                                                      torch.arange(leaves // 2 + 1, leaves + 1)])])
    for ei, n in ((torch.cat([star, star.flip(0)], dim=1), leaves + 1), _path(20000)):
        g = rankcore.Graph.from_input(ei, n)
        edges = _undirected_edges(g)
        assert not module._two_core_edges(edges[:, 0].numpy(), edges[:, 1].numpy(), n).any()
        r = effective_resistances(g, edges, sketch_dim=20)
        assert torch.equal(r, torch.ones_like(r))
    ei, n = _hanging()
    edges = _undirected_edges(rankcore.Graph.from_input(ei, n))
    core = module._two_core_edges(edges[:, 0].numpy(), edges[:, 1].numpy(), n)
    assert {tuple(e) for e in edges[torch.from_numpy(core)].tolist()} == \
        {(0, 1), (1, 2), (2, 3), (3, 4), (0, 4), (5, 6), (6, 7), (7, 8), (8, 9), (5, 9), (0, 10), (10, 11), (5, 11)}


@pytest.mark.skipif(not _solver_module()._has_pyamg(), reason="pyamg not installed")
def test_amg_with_stalled_aggregation_is_still_a_preconditioner():
    # no off-diagonal entries: aggregation finds nothing, the coarsest level is the whole matrix and the
    # cycle falls back to damped Jacobi there (symmetric positive definite, CG still converges)
    import numpy as np
    import scipy.sparse as sp
    module = _solver_module()
    a = sp.csr_matrix(sp.diags(np.linspace(1.0, 50.0, 3000)))
    amg = module._AggregationAMG(a)
    assert amg.levels == [] and amg.coarse_wdinv is not None
    b = np.random.default_rng(0).standard_normal((3000, 4))
    x = module._block_pcg(a, b, amg, tol=1e-10)
    np.testing.assert_allclose(a @ x, b, rtol=0, atol=1e-8)


@pytest.mark.skipif(not _solver_module()._has_pyamg(), reason="pyamg not installed")
def test_amg_and_jacobi_agree_and_hubs_get_plain_aggregation(monkeypatch):
    module = _solver_module()
    monkeypatch.setattr(module, "_MAX_COARSE", 50)
    built = []
    original = module._AggregationAMG

    def recording(a, *args, **kw):
        built.append(original(a, *args, **kw))
        return built[-1]

    monkeypatch.setattr(module, "_AggregationAMG", recording)
    for ei, n in (_grid(20, 20), (power_law_graph(600, 2400, seed=2), 600)):
        g = rankcore.Graph.from_input(ei, n, symmetrize=True)
        edges = _undirected_edges(g)
        amg = effective_resistances(g, edges, sketch_dim=24, seed=1, solver="amg")
        jacobi = effective_resistances(g, edges, sketch_dim=24, seed=1, solver="jacobi")
        torch.testing.assert_close(amg, jacobi, rtol=1e-4, atol=0)
    grid_amg, hub_amg = built
    # the grid gets smoothed aggregation on every level; on the hub-heavy graph smoothing the first
    # prolongator would fill the coarse operator in, so that level uses plain aggregation
    assert grid_amg.smoothed == [True, True] and hub_amg.smoothed[0] is False
    assert hub_amg.operator_complexity < 2.5


def test_blocks_bound_the_solves_and_do_not_change_the_result(monkeypatch):
    module = _solver_module()
    widths = []
    original = module._block_pcg

    def recording(a, b, *args, **kw):
        widths.append(b.shape[1])
        return original(a, b, *args, **kw)

    monkeypatch.setattr(module, "_block_pcg", recording)
    ei, n = _grid(12, 12)
    g = rankcore.Graph.from_input(ei, n)
    edges = _undirected_edges(g)
    blocked = effective_resistances(g, edges, sketch_dim=50, seed=4, block_size=16)
    assert widths == [16, 16, 16, 2]
    widths.clear()
    whole = effective_resistances(g, edges, sketch_dim=50, seed=4, block_size=64)
    assert widths == [50]
    torch.testing.assert_close(blocked, whole, rtol=1e-6, atol=0)
    # the bound depends on the block, not on the sketch size, and is checked before any allocation
    assert module.spectral_memory_bytes(10**6, 10**7, 32) < module.spectral_memory_bytes(10**6, 10**7, 64)
    import importlib
    monkeypatch.setattr(importlib.import_module("rankcore.graph.arguments"), "available_memory_bytes",
                        lambda: module.spectral_memory_bytes(n, edges.shape[0], 16))
    effective_resistances(g, edges, sketch_dim=50, block_size=16)
    with pytest.raises(MemoryError, match="block_size"):
        effective_resistances(g, edges, sketch_dim=50, block_size=17)


def test_spectral_is_deterministic_per_seed_and_without_pyamg(monkeypatch):
    ei, n = _grid(10, 11)
    a = rankcore.sparsify(ei, n, "spectral", ratio=1.0, seed=7).removed
    assert torch.equal(a, rankcore.sparsify(ei, n, "spectral", ratio=1.0, seed=7).removed)
    assert not torch.equal(a, rankcore.sparsify(ei, n, "spectral", ratio=1.0, seed=8).removed)
    module = _solver_module()
    g = rankcore.Graph.from_input(ei, n)
    edges = _undirected_edges(g)
    with_default = effective_resistances(g, edges, sketch_dim=30, seed=7)
    monkeypatch.setattr(module, "_has_pyamg", lambda: False)
    fallback = effective_resistances(g, edges, sketch_dim=30, seed=7)  # Jacobi CG, no error
    torch.testing.assert_close(fallback, with_default, rtol=1e-4, atol=0)
    with pytest.raises(ImportError, match="pyamg"):
        effective_resistances(g, edges, sketch_dim=30, solver="amg")
    with pytest.raises(ValueError, match="solver"):
        rankcore.sparsify(ei, n, "spectral", ratio=0.5, solver="lu")


def test_spectral_progress(capsys):
    ei, n = _grid(6, 6)
    calls = []
    res = rankcore.sparsify(ei, n, "spectral", ratio=0.5, sketch_dim=40, block_size=16,
                            progress=lambda done, total: calls.append((done, total)))
    assert calls == [(16, 40), (32, 40), (40, 40)]
    silent = rankcore.sparsify(ei, n, "spectral", ratio=0.5, sketch_dim=40, block_size=16)
    assert torch.equal(res.removed, silent.removed)
    assert capsys.readouterr().err == ""
    rankcore.sparsify(ei, n, "spectral", ratio=0.5, sketch_dim=40, progress=True)  # a bar on stderr
    assert "40" in capsys.readouterr().err
    with pytest.raises(TypeError, match="progress"):
        rankcore.sparsify(ei, n, "spectral", ratio=0.5, progress="yes")


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(method="nope", ratio=0.5), ValueError, "unknown sparsification method"),
    (dict(method="random"), ValueError, "exactly one of ratio"),
    (dict(method="random", ratio=0.5, num_remove=3), ValueError, "exactly one of ratio"),
    (dict(method="random", ratio=1.5), ValueError, r"ratio must be in \[0, 1\]"),
    (dict(method="random", ratio=float("nan")), ValueError, r"ratio must be in \[0, 1\]"),
    (dict(method="random", ratio="half"), TypeError, "ratio must be a number"),
    (dict(method="random", num_remove=79), ValueError, "exceeds the 78 undirected edges"),
    (dict(method="random", num_remove=-1), ValueError, "num_remove"),
    (dict(method="random", ratio=0.5, seed=1.5), TypeError, "seed must be an int"),
    (dict(method="random", ratio=0.5, depth=3, bogus=1), TypeError, "unexpected keyword"),
    (dict(method="spectral", ratio=0.5, order="up"), ValueError, "spectral order"),
    (dict(method="spectral", ratio=0.5, sketch_dim=0), ValueError, "sketch_dim"),
    (dict(method="wis", ratio=0.5, depth=1), ValueError, "depth"),
    (dict(method="k_neighbor", k=0), ValueError, "k must be >= 1"),
    (dict(method="k_neighbor", k=-3), ValueError, "k must be >= 1"),
    (dict(method="k_neighbor", k=1.5), TypeError, "k must be an int"),
    (dict(method="k_neighbor", k=2.0), TypeError, "k must be an int"),
    (dict(method="k_neighbor", k=True), TypeError, "k must be an int"),
    (dict(method="k_neighbor", k="2"), TypeError, "k must be an int"),
    (dict(method="k_neighbor", k=2, ratio=0.5), ValueError, "not both"),
    (dict(method="k_neighbor", k=2, num_remove=3), ValueError, "not both"),
    (dict(method="k_neighbor"), ValueError, "exactly one of ratio"),
    (dict(method="k_neighbor", ratio=0.5, score="bogus"), ValueError, "score must be one of"),
    (dict(method="k_neighbor", ratio=0.5, score=None), ValueError, "score must be one of"),
    (dict(method="k_neighbor", ratio=0.5, K=2), TypeError, "unexpected keyword"),
    (dict(method="degree", ratio=0.5, k=2), TypeError, "unexpected keyword"),
    (dict(method="degree", ratio=0.5, score="random"), TypeError, "unexpected keyword"),
    (dict(method="random", ratio=0.5, k=2), TypeError, "unexpected keyword"),
    # methods that never report ignored a bad progress value
    (dict(method="random", ratio=0.5, progress="yes"), TypeError, "progress must be None, a bool or a callable"),
    (dict(method="degree", ratio=0.5, progress=1), TypeError, "progress must be None, a bool or a callable"),
    # only "wis" reads depth; elsewhere a bad one passed silently
    (dict(method="random", ratio=0.5, depth="x"), TypeError, "depth"),
    (dict(method="degree", ratio=0.5, depth=1), ValueError, "depth"),
])
def test_bad_arguments(kwargs, error, message):
    g = karate_club()
    method = kwargs.pop("method")
    with pytest.raises(error, match=message):
        rankcore.sparsify(g.edge_index, 34, method, **kwargs)


@pytest.mark.parametrize("method", METHODS)
def test_directed_input_needs_symmetrize(method):
    ei = torch.tensor([[0, 1, 2], [1, 2, 0]])
    with pytest.raises(ValueError, match="no reverse edge"):
        rankcore.sparsify(ei, 3, method, num_remove=1)
    res = rankcore.sparsify(ei, 3, method, num_remove=1, symmetrize=True)
    u, v = res.removed[0].tolist()
    # exactly the one input column of the removed undirected edge is dropped
    assert (~res.keep_mask).sum() == 1
    dropped = ei[:, ~res.keep_mask][:, 0].tolist()
    assert sorted(dropped) == [u, v]


def test_self_loops_and_duplicates():
    ei = torch.tensor([[0, 0, 1, 1, 0, 2, 1, 2], [0, 1, 0, 0, 1, 1, 2, 2]])  # loops, a duplicate 0->1
    for method in METHODS:
        res = rankcore.sparsify(ei, 3, method, ratio=1.0)
        assert res.removed.shape[0] == 2
        assert res.keep_mask.tolist() == [True, False, False, False, False, False, False, True]


def test_spectral_and_local_degree_scale_past_dense():
    # 20000 vertices: a dense pseudo-inverse would need 3.2 GB; the sparse paths need O(m)
    ei = power_law_graph(20000, 25000, seed=0)
    m = rankcore.Graph.from_input(ei, 20000).num_edges // 2
    for method, kw in (("local_degree", {}), ("spectral", {"sketch_dim": 24})):
        res = rankcore.sparsify(ei, 20000, method, ratio=0.5, **kw)
        assert res.removed.shape[0] == math.floor(m * 0.5 + 0.5)
