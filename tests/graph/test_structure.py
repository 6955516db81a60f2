"""edge_common_neighbors and closed_walk_counts against the definitions; opcheck; bad inputs."""

import pytest
import torch
from hypothesis import given, settings

import rankcore
from rankcore.datasets import power_law_graph
from rankcore.reference import closed_walk_counts_reference, edge_common_neighbors_reference

from graphs import edge_lists


@settings(max_examples=150, deadline=None)
@given(graph=edge_lists(max_nodes=14, max_edges=45, undirected=True))
def test_edge_common_neighbors_matches_reference(graph):
    edge_index, n, _ = graph
    out = rankcore.edge_common_neighbors(edge_index, n)
    assert torch.equal(out, edge_common_neighbors_reference(edge_index, n))


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(graph=edge_lists(max_nodes=14, max_edges=45, undirected=True))
def test_closed_walk_counts_match_reference(graph):
    edge_index, n, _ = graph
    for length in range(0, 7):
        out = rankcore.closed_walk_counts(edge_index, n, length)
        assert torch.equal(out, closed_walk_counts_reference(edge_index, n, length)), length


def test_singleton_scores_zero_on_isolated_vertices():
    edge_index = torch.tensor([[0, 1], [1, 0]])
    assert rankcore.singleton_scores(edge_index, 3, 3).tolist() == [4, 4, 0]
    assert rankcore.closed_walk_counts(edge_index, 3, 3).tolist() == [4, 4, 1]


def _as_device(graph, device):
    g = rankcore.Graph.from_input(graph.edge_index, graph.num_nodes)
    return g.to(device)


def test_ops_on_device_match_cpu(device):
    # A seeded power-law graph: hubs next to leaves exercise both intersection strategies.
    g = rankcore.Graph.from_input(power_law_graph(3000, 40000, seed=3), 3000, symmetrize=True)
    expected_cn = torch.ops.rankcore.edge_common_neighbors(g.rowptr, g.col)
    gd = g.to(device)
    assert torch.equal(torch.ops.rankcore.edge_common_neighbors(gd.rowptr, gd.col).cpu(), expected_cn)
    for length in (0, 1, 2, 3, 4, 5):
        expected = torch.ops.rankcore.closed_walk_counts(g.rowptr, g.col, length)
        got = torch.ops.rankcore.closed_walk_counts(gd.rowptr, gd.col, length).cpu()
        assert torch.equal(got, expected), length


def test_device_matches_reference_on_small_graphs(device):
    gen = torch.Generator().manual_seed(7)
    for trial in range(20):
        n = int(torch.randint(1, 30, (1,), generator=gen))
        m = int(torch.randint(0, 80, (1,), generator=gen))
        ei = torch.randint(0, n, (2, m), generator=gen)
        g = rankcore.Graph.from_input(ei, n, symmetrize=True)
        ei_sym = g.edge_index()
        gd = g.to(device)
        cn = torch.ops.rankcore.edge_common_neighbors(gd.rowptr, gd.col).cpu()
        # slots are in CSR order, i.e. the order of Graph.edge_index() columns (target-major)
        assert torch.equal(cn, edge_common_neighbors_reference(ei_sym.flip(0), n)), trial
        for length in range(6):
            got = torch.ops.rankcore.closed_walk_counts(gd.rowptr, gd.col, length).cpu()
            assert torch.equal(got, closed_walk_counts_reference(ei_sym, n, length)), (trial, length)


def test_closed_walk_overflow_raises_overflow_error(device):
    # K_40: Â is the all-ones matrix J, Â^L = 40^(L-1) J, so (Â^L)_tt = 40^(L-1) exceeds int64 first at L = 13.
    n = 40
    idx = torch.combinations(torch.arange(n), 2).t()
    g = rankcore.Graph.from_input(torch.cat([idx, idx.flip(0)], 1), n).to(device)
    ok = rankcore.ops.closed_walk_counts(g.rowptr, g.col, 12).cpu()
    assert ok.tolist() == [40**11] * n
    with pytest.raises(OverflowError, match="length 13"):
        rankcore.ops.closed_walk_counts(g.rowptr, g.col, 13)


def test_opcheck():
    g = rankcore.Graph.from_input(power_law_graph(200, 1500, seed=1), 200, symmetrize=True)
    torch.library.opcheck(torch.ops.rankcore.edge_common_neighbors.default, (g.rowptr, g.col))
    for length in (2, 3, 4):
        torch.library.opcheck(torch.ops.rankcore.closed_walk_counts.default, (g.rowptr, g.col, length))


def _csr(rows, n):
    rowptr = torch.tensor([0] + list(torch.tensor([len(r) for r in rows]).cumsum(0).tolist()), dtype=torch.int64)
    col = torch.tensor([c for r in rows for c in r], dtype=torch.int32)
    return rowptr, col


@pytest.mark.parametrize("op", ["edge_common_neighbors", "closed_walk_counts", "wis_greedy"])
@pytest.mark.parametrize("rows, match", [
    ([[1], []], r"edge 0 - 1 has no reverse entry"),   # directed: an entry above the diagonal alone
    ([[], [0]], r"edge 1 - 0 has no reverse entry"),   # ... below the diagonal alone (counts differ)
    ([[1, 2], [0], [1]], r"edge 0 - 2 has no reverse entry"),  # counts agree, mirrors do not
    ([[1, 1], [0, 0]], "sorted without duplicates"),   # duplicate entry
    ([[2, 1], [0], [0]], "sorted without duplicates"),  # unsorted row
    ([[0]], "self-loops"),
    ([[5], [0]], "out of range"),
    ([[-1], [0]], "out of range"),
])
def test_bad_csr(op, rows, match):
    rowptr, col = _csr(rows, len(rows))
    args = {"edge_common_neighbors": (rowptr, col), "closed_walk_counts": (rowptr, col, 3),
            "wis_greedy": (rowptr, col, 0, 2, torch.zeros(1, dtype=torch.int64))}[op]
    with pytest.raises((ValueError, IndexError), match=match):
        getattr(torch.ops.rankcore, op)(*args)


@pytest.mark.parametrize("seed", range(6))
def test_one_moved_entry_breaks_symmetry_and_is_found(seed):
    # The symmetry check compares per-vertex hash sums first (csrc/ops/csr_checks.h): one entry moved to another
    # column keeps every count, so only the sums can tell; the exact search then names the first bad edge.
    gen = torch.Generator().manual_seed(seed)
    g = rankcore.Graph.from_input(power_law_graph(300, 2000, seed=seed), 300, symmetrize=True)
    rows = [g.col[g.rowptr[u]:g.rowptr[u + 1]].tolist() for u in range(300)]
    torch.ops.rankcore.closed_walk_counts(g.rowptr, g.col, 2)  # the valid CSR passes
    while True:
        u = int(torch.randint(300, (1,), generator=gen))
        w = int(torch.randint(300, (1,), generator=gen))
        if rows[u] and w != u and w not in rows[u]:
            break
    moved = sorted(rows[u][1:] + [w])  # drop u's first entry, add w: row u keeps its length
    bad = rows[:u] + [moved] + rows[u + 1:]
    rowptr, col = _csr(bad, 300)
    with pytest.raises(ValueError, match="has no reverse entry"):
        torch.ops.rankcore.closed_walk_counts(rowptr, col, 2)


def test_bad_arguments():
    rowptr, col = _csr([[1], [0]], 2)
    with pytest.raises(ValueError, match="length must be >= 0"):
        torch.ops.rankcore.closed_walk_counts(rowptr, col, -1)
    with pytest.raises(TypeError, match="rowptr must be int64"):
        torch.ops.rankcore.edge_common_neighbors(rowptr.int(), col)
    with pytest.raises(TypeError, match="col must be int32 or int64"):
        torch.ops.rankcore.edge_common_neighbors(rowptr, col.float())
    with pytest.raises(ValueError, match="rowptr must start at 0"):
        torch.ops.rankcore.edge_common_neighbors(torch.tensor([0, 1, 3]), col)
    with pytest.raises(ValueError, match="no reverse edge"):
        rankcore.edge_common_neighbors(torch.tensor([[0], [1]]), 2)
    with pytest.raises(ValueError, match="length must be >= 0"):
        rankcore.closed_walk_counts(torch.tensor([[0, 1], [1, 0]]), 2, -2)


def test_empty_graphs():
    empty = torch.zeros(2, 0, dtype=torch.long)
    assert rankcore.edge_common_neighbors(empty, 3).shape == (0,)
    assert rankcore.closed_walk_counts(empty, 3, 4).tolist() == [1, 1, 1]
    assert rankcore.closed_walk_counts(empty, 0, 4).shape == (0,)
    loops = torch.arange(3).repeat(2, 1)
    assert rankcore.edge_common_neighbors(loops, 3).tolist() == [0, 0, 0]
