"""rankcore::build_csr (the native graph build) against the Python reference build."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rankcore
from rankcore import ops
from rankcore.graph.container import _build

from graphs import edge_lists


def _check_against_reference(edge_index, n, symmetrize):
    rowptr, col, undirected, slot = ops.build_csr(edge_index, n, symmetrize, False)
    ref = _build(edge_index, n, require_undirected=False, symmetrize=symmetrize)
    assert torch.equal(rowptr, ref.rowptr) and torch.equal(col, ref.col) and undirected == ref.undirected
    assert col.dtype == torch.int32 and rowptr.dtype == torch.int64 and slot.shape == (edge_index.shape[1],)
    # slot: the CSR position of each column's edge; -1 exactly at self-loop columns
    src, dst = edge_index
    loop = src == dst
    assert torch.equal(slot == -1, loop)
    s = slot[~loop]
    assert torch.equal(col[s].long(), src[~loop])
    assert bool(((ref.rowptr[dst[~loop]] <= s) & (s < ref.rowptr[dst[~loop] + 1])).all())


@settings(max_examples=150, deadline=None)
@given(edge_lists(max_nodes=15, max_edges=50), st.booleans())
def test_matches_python_build(case, symmetrize):
    edge_index, n, _ = case
    _check_against_reference(edge_index, n, symmetrize)


@settings(max_examples=100, deadline=None)
@given(edge_lists(max_nodes=12, max_edges=30), st.booleans())
def test_errors_match_python_build(case, symmetrize):
    """require_undirected: the same first offending column and message as the Python build."""
    edge_index, n, _ = case
    try:
        _build(edge_index, n, require_undirected=True, symmetrize=symmetrize)
        expected = None
    except ValueError as err:
        expected = str(err)
    try:
        ops.build_csr(edge_index, n, symmetrize, not symmetrize)
        got = None
    except ValueError as err:
        got = str(err)
    assert got == expected


@pytest.mark.parametrize("bad_col", [0, 1, 70_000, 199_999])
def test_first_bad_column_in_large_input(bad_col):
    """Several parallel chunks: the earliest out-of-range column is reported, as in the Python build."""
    n = 1000
    ei = torch.randint(0, n, (2, 200_000), generator=torch.Generator().manual_seed(1))
    ei[1, bad_col] = n + 5
    ei[0, 150_000] = -3
    first = min(bad_col, 150_000)
    with pytest.raises(ValueError) as native:
        ops.build_csr(ei, n)
    with pytest.raises(ValueError) as ref:
        _build(ei, n, require_undirected=False, symmetrize=False)
    assert str(native.value) == str(ref.value) and f"column {first} " in str(ref.value)


@pytest.mark.slow
@pytest.mark.parametrize("n,m", [(50, 140_000), (100_000, 140_000), (400_000, 140_000)])
def test_large_random_both_histogram_modes(n, m):
    """Per-chunk histograms (n small) and the shared atomic histogram (n large, several threads)."""
    gen = torch.Generator().manual_seed(n)
    ei = torch.randint(0, n, (2, m), generator=gen)
    _check_against_reference(ei, n, False)
    _check_against_reference(ei, n, True)
    und = torch.cat([ei, ei.flip(0)], dim=1)
    _check_against_reference(und, n, False)
    # undirected except one missing reverse: same first column as the reference
    und = und[:, torch.randperm(und.shape[1], generator=gen)]
    drop = int((und[0] != und[1]).nonzero()[5, 0])
    u, v = int(und[0, drop]), int(und[1, drop])
    keep = ~((und[0] == v) & (und[1] == u))
    directed = und[:, keep]
    with pytest.raises(ValueError) as native:
        ops.build_csr(directed, n, False, True)
    with pytest.raises(ValueError) as ref:
        _build(directed, n, require_undirected=True, symmetrize=False)
    assert str(native.value) == str(ref.value)


def test_empty_and_zero_nodes():
    rowptr, col, undirected, slot = ops.build_csr(torch.zeros(2, 0, dtype=torch.int64), 0)
    assert rowptr.tolist() == [0] and col.numel() == 0 and undirected and slot.numel() == 0
    rowptr, col, undirected, slot = ops.build_csr(torch.tensor([[2, 2], [2, 2]]), 4)
    assert rowptr.tolist() == [0] * 5 and slot.tolist() == [-1, -1]
    with pytest.raises(ValueError, match=r"column 0 \(0 -> 0\).*outside \[0, 0\)"):
        ops.build_csr(torch.zeros(2, 1, dtype=torch.int64), 0)


def test_from_input_keeps_slot_and_non_contiguous_input():
    ei = torch.tensor([[0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 2, 1]])
    g = rankcore.Graph.from_input(ei, 3)
    assert g.slot.tolist() == [1, 0, 3, 2, -1, 1] and g.slot_for(ei) is g.slot
    assert g.slot_for(ei.clone()) is None  # other storage: not known to be the same columns
    g2 = rankcore.Graph.from_input(ei.t().contiguous().t(), 3)  # non-contiguous
    assert torch.equal(g2.rowptr, g.rowptr) and torch.equal(g2.col, g.col)
    assert torch.equal(g.degree(), g.rowptr.diff())


def test_slot_map_is_not_offered_for_a_tensor_at_a_reused_address():
    """The slot map is keyed by the edge_index's address, shape, stride, dtype and version; once that tensor is
    freed, a new tensor with other columns at the same address (version 0 again) has the same key: slot_for
    answered it with the freed columns' slots. Here the memory is a numpy buffer, so the reuse is certain (a
    freed torch tensor's memory is often, not always, reused by the next tensor of its size)."""
    buf = np.array([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
    g = rankcore.Graph.from_input(torch.from_numpy(buf), 4)  # that tensor is freed after the call
    buf[:] = [[3, 2, 2, 1, 1, 0], [2, 3, 1, 2, 0, 1]]
    other = torch.from_numpy(buf)  # a new tensor at the same address, version 0, other columns
    assert g.slot_for(other) is None
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])  # alive: the map is offered (the fast column mapping)
    g = rankcore.Graph.from_input(ei, 3)
    assert g.slot_for(ei) is g.slot
    arr = ei.numpy().copy()  # a numpy edge_index: offered while the array lives, for a fresh tensor of it
    g = rankcore.Graph.from_input(arr, 3)
    assert g.slot_for(torch.from_numpy(arr)) is g.slot
    del arr
    assert g.slot_for(torch.from_numpy(ei.numpy().copy())) is None


def test_a_graph_pickles_without_its_slot_map_owner():
    """The slot map's owner is a weak reference, which does not pickle (torch.save, worker processes): a graph
    pickles without it, and the unpickled graph offers its slot map to no tensor (they live elsewhere)."""
    import io
    import pickle

    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    g = rankcore.Graph.from_input(ei, 3)
    h = pickle.loads(pickle.dumps(g))
    assert torch.equal(h.rowptr, g.rowptr) and torch.equal(h.col, g.col) and h.slot_for(ei) is None
    assert g.slot_for(ei) is g.slot  # the original keeps it
    buffer = io.BytesIO()
    torch.save(g, buffer)
    buffer.seek(0)
    assert torch.equal(torch.load(buffer, weights_only=False).col, g.col)


def test_degree_and_derived_values_are_not_shared_state():
    """Graph.degree() returned its cached tensor: a caller's in-place change to it changed every later result
    on the graph (here the degree sparsifier's order). dataclasses.replace carried the cached canonical edge
    list of the old CSR to the new one."""
    import dataclasses

    from rankcore.datasets import karate_club

    k = karate_club()
    g = rankcore.Graph.from_input(k.edge_index, k.num_nodes)
    expected = rankcore.sparsify(g, method="degree", num_remove=20).removed
    g.degree().zero_()  # the caller's own scratch copy
    assert torch.equal(rankcore.sparsify(g, method="degree", num_remove=20).removed, expected)
    assert torch.equal(g.degree(), g.rowptr.diff())

    path = rankcore.Graph.from_input(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), 3)
    star = rankcore.Graph.from_input(torch.tensor([[0, 1, 0, 2], [1, 0, 2, 0]]), 3)
    path.undirected_edges()
    moved = dataclasses.replace(path, rowptr=star.rowptr, col=star.col)
    assert torch.equal(moved.undirected_edges()[0], star.undirected_edges()[0])


def test_fake_kernel_shapes():
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.experimental.symbolic_shapes import ShapeEnv

    with FakeTensorMode(shape_env=ShapeEnv()):
        ei = torch.empty(2, 7, dtype=torch.int64)
        rowptr, col, undirected, slot = torch.ops.rankcore.build_csr(ei, 5, False, False)
        assert rowptr.shape == (6,) and col.dtype == torch.int32 and slot.shape == (7,)


def test_full_removal_order_from_raw_columns():
    """wis on a raw edge_index, every edge removed: only self-loop columns stay (the slot-map shortcut),
    the same result as the generic column mapping."""
    from rankcore.graph.result import make_result

    ei = torch.tensor([[0, 1, 1, 2, 2, 0, 3, 1, 0], [1, 0, 2, 1, 2, 1, 3, 2, 2]])
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    result = rankcore.wis(ei, 4, 3)
    expected = make_result(ei, 4, result.removed)
    assert torch.equal(result.keep_mask, expected.keep_mask) and torch.equal(result.edge_index, expected.edge_index)
    assert result.keep_mask.tolist() == (ei[0] == ei[1]).tolist()


@pytest.mark.slow
@pytest.mark.parametrize("n", [3_000, 400_000])
def test_blocks_hubs_and_balanced_asymmetry(n):
    """Rows spread over many cache blocks, a hub row larger than any block, and a directed graph whose
    entries above and below the diagonal are equally many (only the per-row comparison can tell)."""
    gen = torch.Generator().manual_seed(n)
    m = 150_000
    ei = torch.randint(0, n, (2, m), generator=gen)
    hub = torch.stack([torch.zeros(60_000, dtype=torch.long), torch.randint(1, n, (60_000,), generator=gen)])
    und = torch.cat([ei, hub, ei.flip(0), hub.flip(0)], dim=1)
    und = und[:, torch.randperm(und.shape[1], generator=gen)]
    _check_against_reference(und, n, False)
    _check_against_reference(und, n, True)
    # move every copy of one edge's reverse v -> u to v -> w: counts above / below the diagonal can stay
    # equal, the graph is directed
    c = int((und[0] != und[1]).nonzero()[7, 0])
    u, v = int(und[0, c]), int(und[1, c])
    w = next(x for x in range(n) if x not in (u, v) and (x < v) == (u < v))
    moved = und.clone()
    moved[1, (und[0] == v) & (und[1] == u)] = w
    _check_against_reference(moved, n, False)
    with pytest.raises(ValueError) as native:
        ops.build_csr(moved, n, False, True)
    with pytest.raises(ValueError) as ref:
        _build(moved, n, require_undirected=True, symmetrize=False)
    assert str(native.value) == str(ref.value)


# --- the canonical undirected edge list and both slots of each edge (rankcore::undirected_edges) -----------

@pytest.mark.parametrize("seed", range(6))
def test_undirected_edges_against_the_csr(seed):
    gen = torch.Generator().manual_seed(seed)
    n = int(torch.randint(1, 60, (1,), generator=gen))
    ei = torch.randint(0, n, (2, int(torch.randint(0, 300, (1,), generator=gen))), generator=gen)
    g = rankcore.Graph.from_input(ei, n, symmetrize=True)
    edges, upper, mirror = ops.undirected_edges(g.rowptr, g.col)
    # straight from the CSR: entry p of row r holds the edge col[p] -> r
    target = torch.repeat_interleave(torch.arange(n), g.rowptr.diff())
    pairs = sorted({(min(int(a), int(b)), max(int(a), int(b))) for a, b in zip(g.col.tolist(), target.tolist())})
    assert edges.tolist() == [list(p) for p in pairs]
    for (u, v), p, q in zip(edges.tolist(), upper.tolist(), mirror.tolist()):
        assert (int(target[p]), int(g.col[p])) == (u, v) and (int(target[q]), int(g.col[q])) == (v, u)
    assert sorted(upper.tolist() + mirror.tolist()) == list(range(g.col.numel()))
    assert torch.equal(g.undirected_edges()[0], edges)


def test_undirected_edges_bad_input():
    g = rankcore.Graph.from_input(torch.tensor([[0, 1, 1, 2], [1, 2, 0, 1]]), 3)
    with pytest.raises(ValueError):  # a directed CSR (0 -> 1 and 1 -> 2 ... without every reverse)
        ops.undirected_edges(torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1], dtype=torch.int32))
    with pytest.raises(ValueError, match="rowptr"):
        ops.undirected_edges(torch.tensor([0, 5]), torch.zeros(2, dtype=torch.int32))
    for rowptr, col, what in (([0, 2, 3, 4], [2, 1, 0, 0], "not above the previous entry"),  # unsorted row 0
                              ([0, 2, 3], [1, 1, 0], "not above the previous entry"),  # a duplicate
                              ([0, 1, 2], [0, 1], "self-loop"),
                              ([0, 1, 1], [1], "no mirror entry"),  # 1 -> 0 without 0 -> 1
                              ([0, 1, 2, 3], [1, 0, 0], "no mirror entry"),  # row 2 names 0, row 0 lacks 2
                              ([0, 1, 1], [5], "outside")):
        with pytest.raises(ValueError, match=what):
            ops.undirected_edges(torch.tensor(rowptr), torch.tensor(col, dtype=torch.int32))
    with pytest.raises(TypeError):
        ops.undirected_edges(g.rowptr.float(), g.col)
    torch.library.opcheck(torch.ops.rankcore.undirected_edges.default, (g.rowptr, g.col))
