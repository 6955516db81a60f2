"""rankcore::local_degree_exponents (the Local Degree ranks of pair lists, the distributed score) against a plain
Python ranking; rankcore::local_degree_scores (the same ranking row by row on a CSR, the single-process score)
against the definition's reference and against the pair-list op; bad inputs, opcheck. The removal order against the
reference is in test_sparsify.py."""

import math

import pytest
import torch
from hypothesis import given, settings

import rankcore
from rankcore import ops
from rankcore.datasets import power_law_graph
from rankcore.reference import local_degree_reference
from tests.graphs import edge_lists


def _python_exponents(owner, other, d_owner, d_other, first_row):
    """Per owner: ranked neighbours (deg desc, id asc) -> 1 - log(r) / log(d); as {position: exponent} and the
    owner-then-rank order of the positions."""
    rows: dict[int, list[int]] = {}
    for p in range(len(owner)):
        if d_other[p] > d_owner[p]:
            rows.setdefault(owner[p], []).append(p)
    order, value = [], {}
    for row in sorted(rows):
        ranked = sorted(rows[row], key=lambda p: (-d_other[p], other[p]))
        for r, p in enumerate(ranked, 1):
            d = d_owner[p]
            value[p] = 1.0 if d <= 1 else 1.0 - math.log(r) / math.log(d)
            order.append(p)
    return order, value


@pytest.mark.parametrize("seed", range(5))
def test_exponents_match_a_python_ranking(seed):
    gen = torch.Generator().manual_seed(seed)
    first_row, num_rows, pairs = 7 * seed, 40, 600
    owner = torch.randint(first_row, first_row + num_rows, (pairs,), generator=gen)
    other = torch.randint(0, 500, (pairs,), generator=gen)
    # the degree of an owner is one number per owner; neighbours' degrees collide often (ties by id)
    owner_degree = torch.randint(1, 12, (first_row + num_rows,), generator=gen)
    d_owner, d_other = owner_degree[owner], torch.randint(1, 14, (pairs,), generator=gen)
    positions, exponents = ops.local_degree_exponents(owner, other, d_owner, d_other, num_rows, first_row)
    order, value = _python_exponents(owner.tolist(), other.tolist(), d_owner.tolist(), d_other.tolist(), first_row)
    assert positions.tolist() == order
    assert exponents.tolist() == [value[p] for p in order]  # the same libm log: bit for bit


def test_no_ranked_pairs_and_empty_input():
    z = torch.zeros(0, dtype=torch.int64)
    positions, exponents = ops.local_degree_exponents(z, z, z, z, 0, 0)
    assert positions.numel() == 0 and exponents.dtype == torch.float64
    same = torch.tensor([3, 3])
    positions, _ = ops.local_degree_exponents(torch.tensor([0, 1]), torch.tensor([1, 0]), same, same, 2, 0)
    assert positions.numel() == 0  # equal degrees: nobody ranks anybody


@pytest.mark.parametrize("args, match", [
    ((torch.tensor([5]), torch.tensor([0]), torch.tensor([1]), torch.tensor([2]), 3, 0), "outside \\[first_row"),
    ((torch.tensor([1]), torch.tensor([0]), torch.tensor([1]), torch.tensor([2]), 3, 2), "outside \\[first_row"),
    ((torch.tensor([0]), torch.tensor([0, 1]), torch.tensor([1]), torch.tensor([2]), 3, 0), "one length"),
    ((torch.tensor([0]).int(), torch.tensor([0]), torch.tensor([1]), torch.tensor([2]), 3, 0), "1-D int64 CPU"),
    ((torch.tensor([0]), torch.tensor([0]), torch.tensor([1.0]), torch.tensor([2]), 3, 0), "1-D int64 CPU"),
    ((torch.tensor([0]), torch.tensor([0]), torch.tensor([1]), torch.tensor([2]), -1, 0), "must be >= 0"),
])
def test_bad_inputs(args, match):
    with pytest.raises(ValueError, match=match):
        ops.local_degree_exponents(*args)


def test_opcheck():
    gen = torch.Generator().manual_seed(0)
    owner = torch.randint(0, 10, (50,), generator=gen)
    args = (owner, torch.randint(0, 30, (50,), generator=gen), torch.randint(1, 5, (10,), generator=gen)[owner],
            torch.randint(1, 8, (50,), generator=gen), 10, 0)
    torch.library.opcheck(torch.ops.rankcore.local_degree_exponents.default, args)


def _scores_by_pairs(graph) -> torch.Tensor:
    """The scores from the pair-list op, as the distributed score ranks them (both directions of every edge)."""
    edges = graph.undirected_edges()[0]
    m, deg = edges.shape[0], graph.degree()
    owner, other = torch.cat([edges[:, 0], edges[:, 1]]), torch.cat([edges[:, 1], edges[:, 0]])
    pair, exponent = ops.local_degree_exponents(owner, other, deg[owner], deg[other], graph.num_nodes, 0)
    scores = torch.zeros(m, dtype=torch.float64)
    scores[pair % m] = exponent
    return scores


@settings(max_examples=150, deadline=None)
@given(edge_lists(max_nodes=16, max_edges=60, undirected=True))
def test_csr_scores_equal_the_reference_and_the_pair_ranking(case):
    ei, n, _ = case
    graph = rankcore.Graph.from_input(ei, n, symmetrize=True)
    edges, upper, mirror = graph.undirected_edges()
    got = ops.local_degree_scores(graph.rowptr, graph.col, upper, mirror)
    want = local_degree_reference(ei, n)
    assert got.tolist() == [want[(u, v)] for u, v in edges.tolist()]  # the same libm log: bit for bit
    assert torch.equal(got, _scores_by_pairs(graph))


def test_csr_scores_with_int64_columns_and_a_hub():
    ei = power_law_graph(400, 3000, seed=2)
    graph = rankcore.Graph.from_input(ei, 400, symmetrize=True)
    _, upper, mirror = graph.undirected_edges()
    got = ops.local_degree_scores(graph.rowptr, graph.col.long(), upper, mirror)
    assert torch.equal(got, _scores_by_pairs(graph))


def _csr_args():
    graph = rankcore.Graph.from_input(torch.tensor([[0, 1, 1, 2, 0, 3], [1, 0, 2, 1, 3, 0]]), 4)
    _, upper, mirror = graph.undirected_edges()
    return graph.rowptr, graph.col, upper, mirror


@pytest.mark.parametrize("change, match", [
    (lambda a: (a[0][:-1], *a[1:]), "rowptr must start at 0 and end"),
    (lambda a: (a[0], a[1].float(), *a[2:]), "col must be int32 or int64"),
    (lambda a: (a[0], a[1] + 10, *a[2:]), "outside \\[0, num_nodes"),
    (lambda a: (*a[:2], a[2] + 100, a[3]), "outside \\[0, nnz"),
    (lambda a: (*a[:2], a[2][:1], a[3]), "one length"),
    (lambda a: (*a[:2], a[2].int(), a[3]), "1-D int64 CPU"),
])
def test_csr_scores_bad_inputs(change, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ops.local_degree_scores(*change(_csr_args()))


def test_csr_scores_opcheck():
    torch.library.opcheck(torch.ops.rankcore.local_degree_scores.default, _csr_args())
