"""WIS against the brute-force greedy of the definition, the SparsifyResult contract, bad inputs."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings

import rankcore
from rankcore.datasets import karate_club
from rankcore.reference import singleton_scores, wis_reference

from graphs import edge_lists


def _full_order_matches_brute_force(graph, depth):
    edge_index, n, _ = graph
    num_edges = rankcore.Graph.from_input(edge_index, n).num_edges // 2
    result = rankcore.wis(edge_index, n, num_edges, depth=depth)
    assert torch.equal(result.removed, wis_reference(edge_index, n, num_edges, depth=depth))


@settings(max_examples=200, deadline=None)
@given(graph=edge_lists(max_nodes=10, max_edges=22, undirected=True))
def test_1wis_full_order_matches_brute_force(graph):
    _full_order_matches_brute_force(graph, 2)


def _one_wis_by_degree_rule(edge_index, n):
    """the definitions' equivalent form of 1-WIS, with a Python lazy binary heap (an independent oracle for
    graphs too large for the brute force): remove the edge maximising (min deg, max deg), ties to the
    smallest (u, v); a popped entry whose degrees changed is pushed back with its current key."""
    import heapq

    edges = sorted({(min(u, v), max(u, v)) for u, v in edge_index.T.tolist() if u != v})
    deg = [0] * n
    for u, v in edges:
        deg[u] += 1
        deg[v] += 1

    def key(u, v):
        a, b = deg[u], deg[v]
        return (-min(a, b), -max(a, b), u, v)

    heap = [key(u, v) for u, v in edges]
    heapq.heapify(heap)
    order = []
    while heap:
        top = heapq.heappop(heap)
        u, v = top[2], top[3]
        now = key(u, v)
        if now != top:
            heapq.heappush(heap, now)
            continue
        deg[u] -= 1
        deg[v] -= 1
        order.append((u, v))
    return torch.tensor(order, dtype=torch.int64)


@pytest.mark.parametrize("seed", [0, 1])
def test_1wis_full_order_on_power_law_graphs_matches_the_degree_rule(seed):
    # Large enough for the op's look-ahead window, its radix heap's sorted degree classes and stale
    # entries landing in the class being consumed (hubs of degree ~ hundreds).
    edge_index = rankcore.datasets.power_law_graph(4000, 30_000, seed=seed)
    graph = rankcore.Graph.from_input(edge_index, 4000, symmetrize=True)
    result = rankcore.wis(graph, 4000, graph.num_edges // 2)
    assert torch.equal(result.removed, _one_wis_by_degree_rule(graph.edge_index(), 4000))
    assert not result.keep_mask.any() and result.edge_index.shape == (2, 0)  # the full order keeps nothing
    part = rankcore.wis(graph, 4000, 1000)  # a prefix keeps the rest, found by the sorted search
    assert int(part.keep_mask.sum()) == 2 * (graph.num_edges // 2 - 1000)
    assert torch.equal(part.removed, result.removed[:1000])


@settings(max_examples=200, deadline=None)
@given(graph=edge_lists(max_nodes=10, max_edges=22, undirected=True))
def test_2wis_full_order_matches_brute_force(graph):
    _full_order_matches_brute_force(graph, 3)


@settings(max_examples=120, deadline=None)
@given(graph=edge_lists(max_nodes=10, max_edges=22, undirected=True))
def test_3wis_full_order_matches_brute_force(graph):
    _full_order_matches_brute_force(graph, 4)


@settings(max_examples=40, deadline=None)
@given(graph=edge_lists(max_nodes=9, max_edges=18, undirected=True))
def test_deeper_wis_full_order_matches_brute_force(graph):
    _full_order_matches_brute_force(graph, 6)


@pytest.mark.parametrize("name, edges, n", [
    ("star", [(0, i) for i in range(1, 7)], 7),
    ("clique", [(i, j) for i in range(6) for j in range(i + 1, 6)], 6),
    ("path", [(i, i + 1) for i in range(8)], 9),
    ("two triangles and isolated vertices", [(0, 1), (1, 2), (0, 2), (4, 5), (5, 6), (4, 6)], 9),
])
@pytest.mark.parametrize("depth", [2, 3, 4, 5])
def test_wis_on_structured_graphs(name, edges, n, depth):
    one_way = torch.tensor(edges).t()
    edge_index = torch.cat([one_way, one_way.flip(0)], dim=1)
    result = rankcore.wis(edge_index, n, len(edges), depth=depth)
    assert torch.equal(result.removed, wis_reference(edge_index, n, len(edges), depth=depth))


@pytest.mark.parametrize("depth, steps", [(2, 78), (3, 78), (4, 25)])
def test_wis_on_karate_club_matches_brute_force(depth, steps):
    g = karate_club()
    assert torch.equal(rankcore.wis(g.edge_index, 34, steps, depth=depth).removed,
                       wis_reference(g.edge_index, 34, steps, depth=depth))


@pytest.mark.parametrize("depth", [2, 3])
def test_column_order_and_duplicates_do_not_change_the_order(depth):
    g = karate_club()
    base = rankcore.wis(g.edge_index, 34, 40, depth=depth).removed
    gen = torch.Generator().manual_seed(1)
    noisy = torch.cat([g.edge_index, g.edge_index[:, :30], torch.arange(34).repeat(2, 1)], dim=1)
    noisy = noisy[:, torch.randperm(noisy.shape[1], generator=gen)]
    result = rankcore.wis(noisy, 34, 40, depth=depth)
    assert torch.equal(result.removed, base)
    # keep_mask: False exactly on columns of removed undirected edges; self-loop columns stay True.
    removed = {tuple(e) for e in base.tolist()}
    expected = [u == v or (min(u, v), max(u, v)) not in removed for u, v in noisy.t().tolist()]
    assert result.keep_mask.tolist() == expected
    assert torch.equal(result.edge_index, noisy[:, result.keep_mask])


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_prefix_property_and_zero_removals(depth):
    g = karate_club()
    full = rankcore.wis(g.edge_index, 34, 78, depth=depth).removed
    assert torch.equal(rankcore.wis(g.edge_index, 34, 25, depth=depth).removed, full[:25])
    none = rankcore.wis(g.edge_index, 34, 0, depth=depth)
    assert none.removed.shape == (0, 2) and none.keep_mask.all()
    assert torch.equal(none.edge_index, g.edge_index)


def test_chunked_approximation_is_opt_in():
    g = karate_club()
    exact = rankcore.wis(g.edge_index, 34, 30).removed
    chunked = rankcore.wis(g.edge_index, 34, 30, chunk_size=10).removed
    assert chunked.shape == (30, 2)
    assert torch.equal(rankcore.wis(g.edge_index, 34, 30, chunk_size=1).removed, exact)
    # The first pick of a round is the exact greedy's first pick.
    assert chunked[0].tolist() == exact[0].tolist()
    # chunk_size 1 through the chunked code path agrees with the exact op.
    from rankcore.graph.wis import _degree_chunked
    graph = rankcore.Graph.from_input(g.edge_index, 34)
    assert torch.equal(_degree_chunked(graph, 30, 1), exact)


@settings(max_examples=60, deadline=None)
@given(graph=edge_lists(max_nodes=9, max_edges=18, undirected=True))
def test_reference_scores_match_closed_forms(graph):
    edge_index, n, _ = graph
    adjacency = np.zeros((n, n), dtype=np.int64)
    for u, v in edge_index.t().tolist():
        if u != v:
            adjacency[u, v] = adjacency[v, u] = 1
    deg = adjacency.sum(1)
    tri = np.diag(np.linalg.matrix_power(adjacency, 3)) // 2
    s2 = singleton_scores(adjacency, 2).tolist()
    s3 = singleton_scores(adjacency, 3).tolist()
    assert s2 == [int(d + 1) if d > 0 else 0 for d in deg]
    assert s3 == [int(2 * t + 3 * d + 1) if d > 0 else 0 for t, d in zip(tri, deg)]


PATH = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])


@pytest.mark.parametrize("args, kwargs, error, match", [
    ((torch.tensor([[0, 1], [1, 2]]), 3, 1), {}, ValueError, "no reverse edge.*symmetrize=True"),
    ((PATH, 3, 3), {}, ValueError, "num_remove=3 exceeds the 2 undirected edges"),
    ((PATH, 3, -1), {}, ValueError, "num_remove must be >= 0"),
    ((PATH, 3, 1.5), {}, TypeError, "num_remove must be an int"),
    ((PATH, 3, 1), {"depth": 1}, ValueError, "depth must be >= 2"),
    ((PATH, 3, 1), {"chunk_size": 0}, ValueError, "chunk_size must be >= 1"),
    ((PATH, 3, 1), {"depth": 3, "chunk_size": 2}, ValueError, "depth=2 only"),
    ((PATH, 3, 1), {"progress": "yes"}, TypeError, "progress must be"),
    ((torch.zeros(2, 0, dtype=torch.long), 4, 1), {}, ValueError, "exceeds the 0 undirected edges"),
    ((torch.arange(3).repeat(2, 1), 3, 1), {}, ValueError, "exceeds the 0 undirected edges"),
    ((PATH.float(), 3, 1), {}, TypeError, "integer dtype"),
])
def test_bad_inputs(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        rankcore.wis(*args, **kwargs)


def test_symmetrize_accepts_directed_input():
    directed = torch.tensor([[0, 1], [1, 2]])
    result = rankcore.wis(directed, 3, 2, symmetrize=True)
    assert torch.equal(result.removed, wis_reference(PATH, 3, 2))
    assert result.keep_mask.tolist() == [False, False]  # over the caller's (directed) columns
    assert result.edge_index.shape == (2, 0)
    kept_one = rankcore.wis(directed, 3, 1, symmetrize=True)
    assert kept_one.edge_index.shape == (2, 1)


@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("index_dtype", [torch.int32, torch.int64])
@pytest.mark.parametrize("slots", [1, 2])
def test_opcheck(depth, index_dtype, slots):
    # wis_greedy is the one op with a mutable argument: `Tensor(a!) progress` (steps done, and with two
    # elements a cancel flag the op only reads).
    graph = rankcore.Graph.from_input(karate_club().edge_index, 34)
    col = graph.col.to(index_dtype)
    progress = torch.zeros(slots, dtype=torch.int64)
    torch.library.opcheck(torch.ops.rankcore.wis_greedy.default, (graph.rowptr, col, 10, depth, progress))
    removed, ids = torch.ops.rankcore.wis_greedy(graph.rowptr, col, 10, depth, progress)
    assert progress.tolist() == [10] + [0] * (slots - 1)
    again, again_ids = torch.ops.rankcore.wis_greedy(graph.rowptr, graph.col, 10, depth,
                                                     torch.zeros(1, dtype=torch.int64))
    assert torch.equal(removed, again) and torch.equal(ids, again_ids)
    # the ids are the removed edges' rows in the canonical edge list
    assert torch.equal(graph.undirected_edges()[0][ids], removed)


def test_overflow_of_deep_scores_raises():
    n = 40  # K_40: (Â^L)_tt = 40^(L-1) exceeds int64 at L = 13
    idx = torch.combinations(torch.arange(n), 2).t()
    with pytest.raises(OverflowError, match="length 13"):
        rankcore.wis(torch.cat([idx, idx.flip(0)], 1), n, 1, depth=13)


def test_progress_callback_and_bar(capsys):
    g = karate_club()
    calls = []
    result = rankcore.wis(g.edge_index, 34, 78, depth=3, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (78, 78) and all(t == 78 for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert torch.equal(result.removed, rankcore.wis(g.edge_index, 34, 78, depth=3).removed)
    rankcore.wis(g.edge_index, 34, 10, progress=True)
    err = capsys.readouterr().err
    assert "10" in err  # tqdm's bar or the plain line, both end at 10/10


def test_errors_from_the_worker_thread_reach_the_caller():
    n = 40
    idx = torch.combinations(torch.arange(n), 2).t()
    with pytest.raises(OverflowError):
        rankcore.wis(torch.cat([idx, idx.flip(0)], 1), n, 1, depth=13, progress=lambda d, t: None)


@pytest.mark.parametrize("depth", [2, 3])
def test_graph_input_result_matches_edge_index_input(depth):
    g = karate_club()
    graph = rankcore.Graph.from_input(g.edge_index, 34)
    from_graph = rankcore.wis(graph, None, 30, depth=depth)
    from_columns = rankcore.wis(graph.edge_index(), 34, 30, depth=depth)
    assert torch.equal(from_graph.removed, from_columns.removed)
    assert torch.equal(from_graph.keep_mask, from_columns.keep_mask)
    assert torch.equal(from_graph.edge_index, from_columns.edge_index)
    assert from_graph.edge_index.shape[1] == graph.num_edges - 60


# --- 1-WIS hub groups (csrc/ops/cpu/hub_groups.h): hubs are the vertices of degree >= a threshold, which
# $RANKCORE_WIS_HUB_DEGREE lowers so that small graphs run the group path (owned edges, flips between
# groups and to plain entries, superseded group entries).


@pytest.mark.parametrize("depth", [2, 3])
@pytest.mark.parametrize("hub_degree", ["1", "2", "3"])
@settings(max_examples=120, deadline=None)
@given(graph=edge_lists(max_nodes=10, max_edges=25, undirected=True))
def test_wis_hub_groups_match_brute_force(depth, hub_degree, graph):
    # depth 2: the 1-WIS hub groups; depth 3: the 2-WIS (hub, common-neighbour count) subgroups
    import os

    old = os.environ.get("RANKCORE_WIS_HUB_DEGREE")
    os.environ["RANKCORE_WIS_HUB_DEGREE"] = hub_degree
    try:
        _full_order_matches_brute_force(graph, depth)
    finally:
        if old is None:
            del os.environ["RANKCORE_WIS_HUB_DEGREE"]
        else:
            os.environ["RANKCORE_WIS_HUB_DEGREE"] = old


def _star(leaves: int, hub: int = 0) -> torch.Tensor:
    others = torch.tensor([v for v in range(leaves + 1) if v != hub])
    ei = torch.stack([torch.full_like(others, hub), others])
    return torch.cat([ei, ei.flip(0)], dim=1)


@pytest.mark.parametrize("hub_degree", ["1", "4", "64", "512"])
@pytest.mark.parametrize("seed", [0, 1])
def test_1wis_hubs_match_the_degree_rule(monkeypatch, hub_degree, seed):
    monkeypatch.setenv("RANKCORE_WIS_HUB_DEGREE", hub_degree)
    gen = torch.Generator().manual_seed(seed)
    n = 2000
    base = rankcore.datasets.power_law_graph(n, 8000, seed=seed)
    # three hubs, two of them adjacent and of equal degree, plus a star hanging off a hub
    hubs = [torch.stack([torch.full((k,), h), torch.randperm(n, generator=gen)[:k]])
            for h, k in ((5, 700), (6, 700), (7, 300))]
    edges = torch.cat([base, *hubs, torch.tensor([[5], [6]]), _star(40, hub=5)], dim=1)
    graph = rankcore.Graph.from_input(edges, n, symmetrize=True)
    result = rankcore.wis(graph, n, graph.num_edges // 2)
    assert torch.equal(result.removed, _one_wis_by_degree_rule(graph.edge_index(), n))


def test_1wis_star_is_fast_and_exact():
    ei = _star(200_000, hub=7)
    graph = rankcore.Graph.from_input(ei, 200_001)
    result = rankcore.wis(graph, 200_001, 200_000)  # D^2 / 2 = 2e10 stale pops before the hub groups
    expected = torch.tensor([[min(7, v), max(7, v)] for v in range(200_001) if v != 7])
    assert torch.equal(result.removed, expected)


def test_2wis_star_and_hub_graph(monkeypatch):
    # a star: every edge at the hub changes s_hub; the subgroups keep a removal O(log D)
    ei = _star(20_000, hub=3)
    result = rankcore.wis(ei, 20_001, 20_000, depth=3)
    expected = torch.tensor([[min(3, v), max(3, v)] for v in range(20_001) if v != 3])
    assert torch.equal(result.removed, expected)
    # a power-law graph with an added hub: subgroups (threshold 64) give the order of the plain engine
    n = 1500
    base = rankcore.datasets.power_law_graph(n, 6000, seed=2)
    gen = torch.Generator().manual_seed(2)
    hub = torch.stack([torch.full((600,), 9), torch.randperm(n, generator=gen)[:600]])
    graph = rankcore.Graph.from_input(torch.cat([base, hub], dim=1), n, symmetrize=True)
    k = graph.num_edges // 2
    monkeypatch.setenv("RANKCORE_WIS_HUB_DEGREE", "64")
    grouped = rankcore.wis(graph, n, k, depth=3).removed
    monkeypatch.setenv("RANKCORE_WIS_HUB_DEGREE", str(10**9))
    assert torch.equal(grouped, rankcore.wis(graph, n, k, depth=3).removed)


@pytest.mark.parametrize("depth", [2, 3])
def test_greedy_ids_name_the_removed_edges_on_hub_graphs(depth):
    """Every path of the native greedy (binary heap, radix heap, hub groups, the walk engine) writes the id of
    the edge it removes: the ids index the canonical edge list at exactly the removed pairs."""
    import os

    gen = torch.Generator().manual_seed(depth)
    leaves = 700  # a hub above the hub-group threshold (512), plus a random graph around it
    hub = torch.stack([torch.zeros(leaves, dtype=torch.int64), torch.arange(1, leaves + 1)])
    rnd = torch.randint(1, leaves + 1, (2, 3000), generator=gen)
    ei = torch.cat([hub, rnd], dim=1)
    g = rankcore.Graph.from_input(ei, leaves + 1, symmetrize=True)
    m = g.num_edges // 2
    for hub_degree in (None, "2"):
        if hub_degree:
            os.environ["RANKCORE_WIS_HUB_DEGREE"] = hub_degree
        try:
            removed, ids = rankcore.ops.wis_greedy(g.rowptr, g.col, m // 2, depth)
        finally:
            os.environ.pop("RANKCORE_WIS_HUB_DEGREE", None)
        assert torch.equal(g.undirected_edges()[0][ids], removed)
        assert ids.unique().numel() == ids.numel()
