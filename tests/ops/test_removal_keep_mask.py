"""rankcore::removal_keep_mask against the definition of a removal's kept columns (graph.result.make_result: an
input column stays unless its {u, v} was removed, self-loop columns always stay) and against the removed slots
listed in Python; opcheck; bad inputs."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rankcore
from rankcore import ops
from rankcore.graph.result import make_result

from graphs import edge_lists


@settings(max_examples=150, deadline=None)
@given(graph=edge_lists(undirected=True), data=st.data())
def test_matches_the_definition(graph, data):
    edge_index, n, _ = graph
    g = rankcore.Graph.from_input(edge_index, n)
    edges, upper, mirror = g.undirected_edges()
    m = edges.shape[0]
    count = data.draw(st.integers(0, m))
    ids = torch.tensor(data.draw(st.permutations(range(m))), dtype=torch.int64)[:count] if m else \
        torch.zeros(0, dtype=torch.int64)
    # over the CSR slots: False exactly at both slots of every removed edge
    removed_slots = {int(s) for i in ids.tolist() for s in (upper[i], mirror[i])}
    want = torch.tensor([s not in removed_slots for s in range(g.col.numel())], dtype=torch.bool)
    assert torch.equal(ops.removal_keep_mask(upper, mirror, ids, g.col.numel()), want)
    # over the input's columns (duplicates and self-loops included), through the slot map
    slot = g.slot_for(edge_index)
    got = ops.removal_keep_mask(upper, mirror, ids, g.col.numel(), slot)
    assert torch.equal(got, make_result(edge_index, n, edges[ids]).keep_mask)


def test_sparsify_keeps_the_same_columns_as_the_definition():
    gen = torch.Generator().manual_seed(0)
    ei = torch.randint(0, 200, (2, 3000), generator=gen)
    ei = torch.cat([ei, ei.flip(0), ei[:, :50]], dim=1)  # both directions, duplicates, some self-loops
    for method in ("wis", "random", "local_degree"):
        res = rankcore.sparsify(ei, 200, method, ratio=0.4)
        want = make_result(ei, 200, res.removed)
        assert torch.equal(res.keep_mask, want.keep_mask) and torch.equal(res.edge_index, want.edge_index)


def test_opcheck():
    ei = torch.tensor([[0, 1, 1, 2, 0, 2, 3], [1, 0, 2, 1, 2, 0, 3]])
    g = rankcore.Graph.from_input(ei, 4)
    _, upper, mirror = g.undirected_edges()
    ids = torch.tensor([2, 0])
    for slot in (None, g.slot_for(ei)):
        torch.library.opcheck(torch.ops.rankcore.removal_keep_mask.default, (upper, mirror, ids, g.col.numel(), slot))


def test_bad_inputs():
    upper, mirror = torch.tensor([0, 2]), torch.tensor([1, 3])
    ids, slot = torch.tensor([1]), torch.tensor([0, 1, -1, 3])
    assert ops.removal_keep_mask(upper, mirror, ids, 4, slot).tolist() == [True, True, True, False]
    assert ops.removal_keep_mask(upper, mirror, torch.zeros(0, dtype=torch.long), 4).tolist() == [True] * 4
    cases = [
        (lambda: ops.removal_keep_mask(upper, mirror, ids.int(), 4), TypeError, "ids must be int64"),
        (lambda: ops.removal_keep_mask(upper, mirror, ids.view(1, 1), 4), ValueError, "ids must be 1-D"),
        (lambda: ops.removal_keep_mask(upper, mirror[:1], ids, 4), ValueError, "same length"),
        (lambda: ops.removal_keep_mask(upper, mirror, ids, -1), ValueError, "nnz must be >= 0"),
        (lambda: ops.removal_keep_mask(upper, mirror, torch.tensor([0, 2]), 4), IndexError, r"ids\[1\] = 2"),
        (lambda: ops.removal_keep_mask(upper, mirror, torch.tensor([-1]), 4), IndexError, r"ids\[0\] = -1"),
        (lambda: ops.removal_keep_mask(upper, mirror, ids, 3), IndexError, "edge 1 has CSR slots"),
        (lambda: ops.removal_keep_mask(upper, mirror, ids, 4, torch.tensor([0, 4])), IndexError, r"slot\[1\] = 4"),
        (lambda: ops.removal_keep_mask(upper, mirror, ids, 4, torch.tensor([-2])), IndexError, r"slot\[0\] = -2"),
        (lambda: ops.removal_keep_mask(upper, mirror, ids, 4, slot.double()), TypeError, "slot must be int64"),
    ]
    for call, kind, match in cases:
        with pytest.raises(kind, match=match):
            call()
