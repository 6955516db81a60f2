"""2-WIS with hubs as common neighbours (csrc/ops/cpu/wis_walk_engine.h): edges of two small ends are grouped by
their set of hub common neighbours. Exact against the brute force (definitions §2) on graphs built so that such
groups exist, shrink (an edge loses a hub common neighbour and moves group or becomes plain) and tie; and equal
to the ungrouped engine on larger graphs. $RANKCORE_WIS_HUB_DEGREE sets which vertices are hubs."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rankcore
from rankcore.reference import wis_reference

from graphs import edge_lists

UNGROUPED = str(10**9)  # a hub threshold no degree reaches


def _undirected(pairs, n):
    ei = torch.tensor(pairs, dtype=torch.int64).t()
    return torch.cat([ei, ei.flip(0)], dim=1), n


def ring_with_hubs(ring: int, hubs: int, chords=()):
    """A cycle 0..ring-1, `hubs` extra vertices each joined to every ring vertex, optional chords."""
    pairs = [(i, (i + 1) % ring) for i in range(ring)] + list(chords)
    for h in range(hubs):
        pairs += [(ring + h, i) for i in range(ring)]
    return _undirected(pairs, ring + hubs)


def _check_full_order(edge_index, n, hub_degree, monkeypatch):
    monkeypatch.setenv("RANKCORE_WIS_HUB_DEGREE", hub_degree)
    graph = rankcore.Graph.from_input(edge_index, n)
    m = graph.num_edges // 2
    got = rankcore.wis(graph, n, m, depth=3).removed
    assert torch.equal(got, wis_reference(edge_index, n, m, depth=3))


@pytest.mark.parametrize("ring,hubs,chords", [(6, 1, ()), (7, 2, ()), (8, 1, ((0, 4), (2, 6))),
                                               (6, 2, ((0, 3),)), (5, 3, ())])
@pytest.mark.parametrize("hub_degree", ["4", "5"])
def test_rings_with_hubs_match_brute_force(ring, hubs, chords, hub_degree, monkeypatch):
    # ring vertices have degree 2 + hubs (+ chords) < hub_degree for the small cases; the hubs have degree `ring`
    _check_full_order(*ring_with_hubs(ring, hubs, chords), hub_degree, monkeypatch)


@settings(max_examples=150, deadline=None)
@given(graph=edge_lists(max_nodes=11, max_edges=30, undirected=True), hub_degree=st.sampled_from(["3", "4", "5"]))
def test_random_graphs_match_brute_force(graph, hub_degree):
    import os

    edge_index, n, _ = graph
    old = os.environ.get("RANKCORE_WIS_HUB_DEGREE")
    os.environ["RANKCORE_WIS_HUB_DEGREE"] = hub_degree
    try:
        g = rankcore.Graph.from_input(edge_index, n)
        m = g.num_edges // 2
        assert torch.equal(rankcore.wis(g, n, m, depth=3).removed, wis_reference(edge_index, n, m, depth=3))
    finally:
        if old is None:
            del os.environ["RANKCORE_WIS_HUB_DEGREE"]
        else:
            os.environ["RANKCORE_WIS_HUB_DEGREE"] = old


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grouped_equals_ungrouped_on_larger_graphs(seed, monkeypatch):
    gen = torch.Generator().manual_seed(seed)
    ring = 400
    chords = [tuple(c) for c in torch.randint(ring, (60, 2), generator=gen).tolist() if c[0] != c[1]]
    ei, n = ring_with_hubs(ring, 3, chords)
    extra = torch.randint(n, (2, 300), generator=gen)  # random edges, hubs among them
    graph = rankcore.Graph.from_input(torch.cat([ei, extra], dim=1), n, symmetrize=True)
    k = graph.num_edges // 2
    monkeypatch.setenv("RANKCORE_WIS_HUB_DEGREE", "16")
    grouped = rankcore.wis(graph, n, k, depth=3).removed
    monkeypatch.setenv("RANKCORE_WIS_HUB_DEGREE", UNGROUPED)
    assert torch.equal(grouped, rankcore.wis(graph, n, k, depth=3).removed)


def hubs_sharing_leaves(leaves: int, hubs: int = 2, ring: bool = False):
    """`hubs` hubs joined to each other and to every one of `leaves` shared leaves (optionally a ring among the
    leaves): an edge {hub, leaf} has the other hubs among its common neighbours."""
    first = leaves
    pairs = [(first + h, i) for h in range(hubs) for i in range(leaves)]
    pairs += [(first + a, first + b) for a in range(hubs) for b in range(a + 1, hubs)]
    if ring:
        pairs += [(i, (i + 1) % leaves) for i in range(leaves)]
    return _undirected(pairs, leaves + hubs)


@pytest.mark.parametrize("leaves,hubs,ring", [(6, 2, False), (7, 2, True), (5, 3, False), (6, 3, True)])
@pytest.mark.parametrize("hub_degree", ["4", "5"])
def test_hubs_sharing_leaves_match_brute_force(leaves, hubs, ring, hub_degree, monkeypatch):
    _check_full_order(*hubs_sharing_leaves(leaves, hubs, ring), hub_degree, monkeypatch)


@pytest.mark.parametrize("hubs,ring", [(2, False), (3, True)])
def test_hubs_sharing_leaves_grouped_equals_ungrouped(hubs, ring, monkeypatch):
    ei, n = hubs_sharing_leaves(300, hubs, ring)
    graph = rankcore.Graph.from_input(ei, n)
    k = graph.num_edges // 2
    monkeypatch.setenv("RANKCORE_WIS_HUB_DEGREE", "16")
    grouped = rankcore.wis(graph, n, k, depth=3).removed
    monkeypatch.setenv("RANKCORE_WIS_HUB_DEGREE", UNGROUPED)
    assert torch.equal(grouped, rankcore.wis(graph, n, k, depth=3).removed)
