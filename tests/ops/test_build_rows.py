"""rankcore::build_csr_rows, the normalisation of a row range (a distributed rank's share), against a plain
Python construction from the definition, and against rows of the whole-graph build_csr."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rankcore import ops


def rows_reference(edge_index: torch.Tensor, first_row: int, num_rows: int) -> tuple[list[int], list[int]]:
    """rowptr and col of rows [first_row, first_row + num_rows): row t lists the distinct sources s != t of
    the columns s -> t, ascending."""
    rows = {t: set() for t in range(first_row, first_row + num_rows)}
    for s, t in edge_index.t().tolist():
        if s != t:
            rows[t].add(s)
    rowptr, col = [0], []
    for t in range(first_row, first_row + num_rows):
        col += sorted(rows[t])
        rowptr.append(len(col))
    return rowptr, col


@st.composite
def row_range_inputs(draw):
    n = draw(st.integers(1, 40))
    first = draw(st.integers(0, n - 1))
    count = draw(st.integers(0, n - first))
    m = draw(st.integers(0, 120))
    sources = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    targets = (draw(st.lists(st.integers(first, first + count - 1), min_size=m, max_size=m)) if count
               else [])
    edge_index = torch.tensor([sources[:len(targets)], targets], dtype=torch.int64).reshape(2, -1)
    return edge_index, n, first, count


@settings(max_examples=200, deadline=None)
@given(row_range_inputs())
def test_matches_the_reference(case):
    edge_index, n, first, count = case
    rowptr, col = ops.build_csr_rows(edge_index, n, first, count)
    assert rowptr.dtype == torch.int64 and col.dtype == torch.int32
    assert (rowptr.tolist(), col.tolist()) == rows_reference(edge_index, first, count)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 30), m=st.integers(0, 100), cut=st.data())
def test_equals_the_rows_of_the_whole_graph(n, m, cut):
    gen = torch.Generator().manual_seed(m * 31 + n)
    edge_index = torch.randint(n, (2, m), generator=gen)
    whole_rowptr, whole_col, _, _ = ops.build_csr(edge_index, n)
    first = cut.draw(st.integers(0, n))
    count = cut.draw(st.integers(0, n - first))
    mine = (edge_index[1] >= first) & (edge_index[1] < first + count)
    rowptr, col = ops.build_csr_rows(edge_index[:, mine], n, first, count)
    a, b = int(whole_rowptr[first]), int(whole_rowptr[first + count])
    assert torch.equal(rowptr, whole_rowptr[first:first + count + 1] - a)
    assert torch.equal(col, whole_col[a:b])


def test_bad_inputs_are_value_errors():
    ei = torch.tensor([[0, 3], [2, 3]])
    with pytest.raises(ValueError, match=r"column 1 \(3 -> 3\).*rows \[2, 3\)"):
        ops.build_csr_rows(ei, 4, 2, 1)  # a target (even a self-loop's) outside the range
    with pytest.raises(ValueError, match=r"column 0 \(-1 -> 2\)"):
        ops.build_csr_rows(torch.tensor([[-1], [2]]), 4, 2, 2)
    with pytest.raises(ValueError, match=r"column 0 \(4 -> 2\)"):
        ops.build_csr_rows(torch.tensor([[4], [2]]), 4, 2, 2)
    with pytest.raises(ValueError, match=r"must lie in \[0, num_nodes = 4\)"):
        ops.build_csr_rows(ei, 4, 3, 2)
    with pytest.raises(ValueError, match=r"must lie in"):
        ops.build_csr_rows(ei, 4, -1, 2)
    with pytest.raises(ValueError, match="num_nodes"):
        ops.build_csr_rows(ei, -4, 0, 0)
    with pytest.raises(TypeError, match="int64"):
        ops.build_csr_rows(ei.int(), 4, 2, 2)
    with pytest.raises(ValueError, match="shape"):
        ops.build_csr_rows(torch.zeros(3, 2, dtype=torch.int64), 4, 2, 2)


def test_empty_range_and_empty_input():
    rowptr, col = ops.build_csr_rows(torch.zeros(2, 0, dtype=torch.int64), 5, 5, 0)
    assert rowptr.tolist() == [0] and col.numel() == 0
    rowptr, col = ops.build_csr_rows(torch.zeros(2, 0, dtype=torch.int64), 5, 1, 3)
    assert rowptr.tolist() == [0, 0, 0, 0] and col.numel() == 0


def test_opcheck():
    gen = torch.Generator().manual_seed(0)
    edge_index = torch.randint(20, (2, 200), generator=gen)
    mine = (edge_index[1] >= 5) & (edge_index[1] < 12)
    torch.library.opcheck(torch.ops.rankcore.build_csr_rows.default, (edge_index[:, mine].contiguous(), 20, 5, 7))
