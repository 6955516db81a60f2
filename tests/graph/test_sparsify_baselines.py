"""The K-neighbour and degree-score sparsifiers: orders against brute-force references written from the
definitions (rankcore.reference.sparsify), the budget-k prefix, arguments and the PyG transforms.
The SparsifyResult contract and the prefix property for every ratio are covered for every method by
test_sparsify.py (parametrised over METHODS), and so are the bad arguments (test_sparsify.py's
test_bad_arguments, k_neighbor's and degree's included)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rankcore
from rankcore.datasets import karate_club, power_law_graph
from rankcore.reference.sparsify import degree_order_reference, k_neighbor_kept_reference, k_neighbor_order_reference

from graphs import edge_lists, random_undirected


def simple_edges(edge_index):
    return {(min(u, v), max(u, v)) for u, v in edge_index.t().tolist() if u != v}


def degrees(edges, n):
    deg = [0] * n
    for u, v in edges:
        deg[u] += 1
        deg[v] += 1
    return deg


def full_order(edge_index, n, method, **kw):
    return [tuple(e) for e in rankcore.sparsify(edge_index, n, method, ratio=1.0, **kw).removed.tolist()]


@pytest.mark.parametrize("score", ["random", "degree"])
@settings(max_examples=40, deadline=None)
@given(graph=edge_lists(max_nodes=12, max_edges=40, undirected=True), seed=st.integers(0, 2**40))
def test_k_neighbor_order_matches_reference(score, graph, seed):
    edge_index, n, _ = graph
    assert full_order(edge_index, n, "k_neighbor", seed=seed, score=score) == \
        k_neighbor_order_reference(edge_index, n, seed, score)


@pytest.mark.parametrize("score", ["random", "degree"])
@settings(max_examples=30, deadline=None)
@given(graph=edge_lists(max_nodes=12, max_edges=40, undirected=True), seed=st.integers(0, 50))
def test_k_neighbor_budget_keeps_the_union_of_top_k(score, graph, seed):
    edge_index, n, _ = graph
    edges = simple_edges(edge_index)
    deg = degrees(edges, n)
    order = full_order(edge_index, n, "k_neighbor", seed=seed, score=score)
    for k in range(1, max(deg, default=0) + 2):
        res = rankcore.sparsify(edge_index, n, "k_neighbor", k=k, seed=seed, score=score)
        kept = simple_edges(res.edge_index)
        assert kept == k_neighbor_kept_reference(edge_index, n, k, seed, score)
        # the budget's removals are a prefix of the one order
        removed = [tuple(e) for e in res.removed.tolist()]
        assert removed == order[:len(removed)] and set(removed) == edges - kept
        # every vertex keeps at least min(k, its degree) edges
        kept_deg = degrees(kept, n)
        assert all(kept_deg[i] >= min(k, deg[i]) for i in range(n))


def test_k_neighbor_random_keeps_a_uniform_subset():
    # K_5: every edge is symmetric, so under seeded random preferences each of the 10 edges is first in the
    # removal order with probability 1/10; 600 seeds: expected 60 each, sd ~7.3
    clique = torch.tensor([(u, v) for u in range(5) for v in range(5) if u != v]).t()
    first = {}
    for seed in range(600):
        e = tuple(rankcore.sparsify(clique, 5, "k_neighbor", num_remove=1, seed=seed).removed[0].tolist())
        first[e] = first.get(e, 0) + 1
    assert len(first) == 10 and min(first.values()) > 30 and max(first.values()) < 90, first


def test_k_neighbor_degree_hand_computed():
    # a star with centre 0 and leaves 1..4, plus a triangle 1-5-6 hanging on leaf 1. Degrees: 0:4, 1:3, 5:2,
    # 6:2, 2..4:1. Vertex 0 ranks (0,1) first (deg 3), then 2, 3, 4; leaves keep their only edge, so with
    # k = 1 only the triangle's (5, 6) goes: 5 prefers 1 (deg 3) over 6, and 6 prefers 1 too.
    pairs = [(0, 1), (0, 2), (0, 3), (0, 4), (1, 5), (1, 6), (5, 6)]
    ei = torch.tensor(pairs).t()
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    res = rankcore.sparsify(ei, 7, "k_neighbor", k=1, score="degree")
    assert res.removed.tolist() == [[5, 6]]
    assert rankcore.sparsify(ei, 7, "k_neighbor", k=2, score="degree").removed.shape[0] == 0


@settings(max_examples=40, deadline=None)
@given(graph=edge_lists(max_nodes=14, max_edges=45, undirected=True))
def test_degree_order_matches_reference(graph):
    edge_index, n, _ = graph
    assert full_order(edge_index, n, "degree") == degree_order_reference(edge_index, n)


def test_degree_hand_computed_and_exact_ties():
    # two hubs 0 and 1 (joined), each with leaves: (0, 1) has the lowest score and goes first.
    # Exact ties: 1/2 + 1/12 = 7/12 = 1/3 + 1/4 must tie and fall back to (u, v), although the float sums
    # 1/2 + 1/12 and 1/3 + 1/4 differ in the last bit.
    hubs = [(0, 1)] + [(0, 10 + i) for i in range(5)] + [(1, 20 + i) for i in range(5)]
    ei = torch.tensor(hubs).t()
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    assert full_order(ei, 25, "degree")[0] == (0, 1)
    assert 1 / 2 + 1 / 12 != 1 / 3 + 1 / 4
    pairs = [(0, 1), (0, 10)] + [(1, 20 + i) for i in range(11)]  # 0: degree 2, 1: degree 12
    pairs += [(2, 3)] + [(2, 40 + i) for i in range(2)] + [(3, 50 + i) for i in range(3)]  # 2: 3, 3: 4
    ei = torch.tensor(pairs).t()
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    order = full_order(ei, 53, "degree")
    assert order[:2] == [(0, 1), (2, 3)]  # every leaf edge scores >= 1 + 1/12
    assert order == degree_order_reference(ei, 53)


def test_k_accepts_integer_scalars_and_large_budgets():
    import numpy as np

    g = karate_club()
    a = rankcore.sparsify(g.edge_index, 34, "k_neighbor", k=np.int64(3), seed=2)
    b = rankcore.sparsify(g.edge_index, 34, "k_neighbor", k=torch.tensor(3), seed=2)
    assert torch.equal(a.removed, b.removed) and a.removed.shape[0] > 0
    none = rankcore.sparsify(g.edge_index, 34, "k_neighbor", k=10**9)  # every vertex keeps everything
    assert none.removed.shape[0] == 0 and bool(none.keep_mask.all())


def test_k_neighbor_seeds():
    g = karate_club()
    a = full_order(g.edge_index, 34, "k_neighbor", seed=1)
    assert a == full_order(g.edge_index, 34, "k_neighbor", seed=1)
    assert a != full_order(g.edge_index, 34, "k_neighbor", seed=2)
    # the degree preference ignores the seed
    assert full_order(g.edge_index, 34, "k_neighbor", seed=1, score="degree") == \
        full_order(g.edge_index, 34, "k_neighbor", seed=2, score="degree")


def test_budget_result_contract_on_shuffled_columns():
    # keep_mask refers to the caller's columns (shuffled, with a duplicate and a self-loop)
    ei, n = random_undirected(30, 0.2, seed=4)
    ei = torch.cat([ei, torch.tensor([[3, 5], [3, 5]]), ei[:, :1]], dim=1)  # self-loops 3-3, 5-5; a duplicate
    ei = ei[:, torch.randperm(ei.shape[1], generator=torch.Generator().manual_seed(0))]
    res = rankcore.sparsify(ei, n, "k_neighbor", k=2, seed=3)
    gone = {tuple(e) for e in res.removed.tolist()}
    expected = [u == v or (min(u, v), max(u, v)) not in gone for u, v in ei.t().tolist()]
    assert res.keep_mask.tolist() == expected and torch.equal(res.edge_index, ei[:, res.keep_mask])
    assert simple_edges(res.edge_index) == k_neighbor_kept_reference(ei, n, 2, 3, "random")


def test_scale_without_dense_matrices():
    ei = power_law_graph(20000, 60000, seed=0)
    m = rankcore.Graph.from_input(ei, 20000).num_edges // 2
    for method, kw in (("k_neighbor", {}), ("k_neighbor", {"score": "degree"}), ("degree", {})):
        res = rankcore.sparsify(ei, 20000, method, ratio=0.5, **kw)
        assert res.removed.shape[0] == math.floor(m * 0.5 + 0.5)
    res = rankcore.sparsify(ei, 20000, "k_neighbor", k=3)
    deg = torch.bincount(res.edge_index[0], minlength=20000)
    full = torch.bincount(rankcore.Graph.from_input(ei, 20000).edge_index()[0], minlength=20000)
    assert bool((deg >= full.clamp(max=3)).all())


# --- PyG transforms ---------------------------------------------------------------------------------------

def test_pyg_transforms_agree_with_sparsify():
    pytest.importorskip("torch_geometric")
    from torch_geometric.data import Data

    from rankcore.pyg import DegreeSparsification, KNeighborSparsification

    g = karate_club()
    data = Data(edge_index=g.edge_index, edge_attr=(g.edge_index[0] * 100 + g.edge_index[1]).float(), num_nodes=34)
    cases = [(KNeighborSparsification(ratio=0.4, seed=1), dict(method="k_neighbor", ratio=0.4, seed=1)),
             (KNeighborSparsification(k=2, score="degree"), dict(method="k_neighbor", k=2, score="degree")),
             (KNeighborSparsification(num_remove=9, seed=5), dict(method="k_neighbor", num_remove=9, seed=5)),
             (DegreeSparsification(ratio=0.3), dict(method="degree", ratio=0.3))]
    for transform, call in cases:
        out = transform(data)
        expected = rankcore.sparsify(g.edge_index, 34, **call)
        assert torch.equal(out.edge_index, expected.edge_index), transform
        assert torch.equal(out.edge_attr.long(), out.edge_index[0] * 100 + out.edge_index[1])
    assert repr(KNeighborSparsification(k=2)) == "KNeighborSparsification(k=2, score='random', seed=None)"
    with pytest.raises(ValueError, match="exactly one of ratio, num_remove and k"):
        KNeighborSparsification(ratio=0.5, k=2)
    with pytest.raises(ValueError, match="exactly one of ratio"):
        KNeighborSparsification()
    with pytest.raises(ValueError, match="k must be >= 1"):
        KNeighborSparsification(k=0)
