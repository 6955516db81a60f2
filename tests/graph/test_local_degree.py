"""rankcore::local_degree_exponents (the Local Degree ranks) against a plain Python ranking, bad inputs, opcheck.
The scores and the removal order against the definition's reference are in test_sparsify.py."""

import math

import pytest
import torch

from rankcore import ops


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
