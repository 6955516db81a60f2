"""rankcore::wis_removal_key and rankcore::wis_singleton_scores (csrc/ops/wis_key.cpp), the score and key source
the distributed protocol shares with the native greedy, against the definition (definitions §2): the key order
of two edges must be the order of the sorted score vectors their removals leave (brute force, dense powers)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rankcore import ops
from rankcore.reference.wis import singleton_scores

END = (1,)


def key_of(adjacency: np.ndarray, u: int, v: int, depth: int) -> tuple:
    deg = adjacency.sum(axis=1)
    common = [w for w in range(adjacency.shape[0]) if adjacency[u, w] and adjacency[v, w]] if depth == 3 else []
    a3 = np.linalg.matrix_power(adjacency.astype(np.int64), 3)  # (A^3)_xx = 2 tri(x)
    tri = [int(a3[x, x]) // 2 for x in (u, v, *common)]
    degs = [int(deg[x]) for x in (u, v, *common)]
    flat = ops.wis_removal_key(depth, degs, tri if depth == 3 else [])
    entries = iter(flat)
    return tuple(zip(entries, entries, entries)) + (END,)


@st.composite
def small_graphs(draw):
    n = draw(st.integers(2, 9))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=1, max_size=30))
    adjacency = np.zeros((n, n), dtype=np.int64)
    for a, b in pairs:
        if a != b:
            adjacency[a, b] = adjacency[b, a] = 1
    return adjacency


@settings(max_examples=150, deadline=None)
@given(adjacency=small_graphs(), depth=st.sampled_from([2, 3]))
def test_key_order_is_the_order_of_the_scores_left(adjacency, depth):
    edges = [(u, v) for u in range(len(adjacency)) for v in range(u + 1, len(adjacency)) if adjacency[u, v]]
    if not edges:
        return
    left = {}
    for u, v in edges:
        adjacency[u, v] = adjacency[v, u] = 0
        left[(u, v)] = sorted(singleton_scores(adjacency, depth).tolist())
        adjacency[u, v] = adjacency[v, u] = 1
    keys = {e: key_of(adjacency, *e, depth) for e in edges}
    for e in edges:
        for f in edges:
            # removed first = larger sorted vector left = smaller key
            assert (keys[e] < keys[f]) == (left[e] > left[f]), (e, f)


@settings(max_examples=60, deadline=None)
@given(adjacency=small_graphs(), depth=st.sampled_from([2, 3]))
def test_singleton_scores_match_the_closed_walks(adjacency, depth):
    deg = torch.from_numpy(adjacency.sum(axis=1))
    a3 = np.linalg.matrix_power(adjacency, 3)
    tri = torch.tensor([int(a3[x, x]) // 2 for x in range(len(adjacency))])
    got = ops.wis_singleton_scores(deg, tri, depth)
    assert got.tolist() == singleton_scores(adjacency, depth).tolist()


def test_bad_inputs_are_value_errors():
    with pytest.raises(ValueError, match="depth must be 2 or 3"):
        ops.wis_removal_key(4, [1, 1], [0, 0])
    with pytest.raises(ValueError, match="deg must hold"):
        ops.wis_removal_key(3, [1], [0])
    with pytest.raises(ValueError, match="depth 2 takes"):
        ops.wis_removal_key(2, [2, 2, 2], [])
    with pytest.raises(ValueError, match="tri must have one value"):
        ops.wis_removal_key(3, [2, 2, 2], [1, 1])
    with pytest.raises(ValueError, match=r"deg\[0\] = 0 is below 1"):
        ops.wis_removal_key(3, [0, 2], [0, 0])
    with pytest.raises(ValueError, match=r"deg\[2\] = 1 is below 2"):
        ops.wis_removal_key(3, [2, 2, 1], [1, 1, 1])
    with pytest.raises(ValueError, match=r"tri\[1\] = 0 is below the common-neighbour count 1"):
        ops.wis_removal_key(3, [2, 2, 2], [1, 0, 1])
    with pytest.raises(ValueError, match="depth must be 2 or 3"):
        ops.wis_singleton_scores(torch.tensor([1]), torch.tensor([0]), 1)
    with pytest.raises(ValueError, match="int64"):
        ops.wis_singleton_scores(torch.tensor([1.0]), torch.tensor([0]), 3)
    with pytest.raises(ValueError, match="one shape"):
        ops.wis_singleton_scores(torch.tensor([1, 2]), torch.tensor([0]), 3)
    with pytest.raises(ValueError, match="negative"):
        ops.wis_singleton_scores(torch.tensor([-1]), torch.tensor([0]), 3)


def test_opcheck():
    deg, tri = torch.tensor([0, 1, 4, 9]), torch.tensor([0, 0, 2, 7])
    torch.library.opcheck(torch.ops.rankcore.wis_singleton_scores.default, (deg, tri, 3))


def test_depth_2_key_order_is_min_then_max_degree():
    """cpu/wis_score.h DegreeKeyL2: at L = 2 the order of D_e is (min degree, max degree), larger first; the 1-WIS
    greedy and the distributed rounds compare that form."""
    pairs = [(a, b) for a in range(1, 8) for b in range(1, 8)]
    for a, b in pairs:
        for c, d in pairs:
            key_ab = tuple(ops.wis_removal_key(2, [a, b], []))
            key_cd = tuple(ops.wis_removal_key(2, [c, d], []))
            by_degree = (-min(a, b), -max(a, b)) < (-min(c, d), -max(c, d))
            # an ended key sorts as END between the tags 0 and 2
            padded = [tuple(zip(k[::3], k[1::3], k[2::3])) + (END,) for k in (key_ab, key_cd)]
            assert (padded[0] < padded[1]) == by_degree, ((a, b), (c, d))
