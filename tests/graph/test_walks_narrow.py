"""The int32 phase of exact walk counting (csrc/ops/cpu/walk_count_cpu.cpp, run_steps): the first steps run on
int32 copies while (longest row + 1) * max(x) provably fits int32, then the counts are widened to int64.

Checked against Python integers (no int32 anywhere), with start counts placed on both sides of the int32
boundary so that runs stay narrow, widen after some steps, or start wide; every length parity, the direct
(k = 1, 2, 4, 8, 16) and the packed-block (other k) paths, and both start layouts: row-major, and the transpose
of a contiguous [k, n] (count_walks' layout; its one-block case uses the output's own storage as the packed
buffer, so the last step must land in the spare buffer whatever the parities)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rankcore import ops
from rankcore.graph.container import Graph

from graphs import edge_lists

INT32_MAX = 2**31 - 1


def python_walks(rowptr: torch.Tensor, col: torch.Tensor, start: torch.Tensor, length: int) -> list[list[int]]:
    """out[j][c] = sum_i start[i][c] (Â^length)[i][j] on the in-neighbour CSR, in Python ints."""
    n = rowptr.numel() - 1
    rows = [col[rowptr[j]:rowptr[j + 1]].tolist() for j in range(n)]
    x = start.tolist()
    for _ in range(length):
        x = [[x[j][c] + sum(x[i][c] for i in rows[j]) for c in range(len(x[j]))] for j in range(n)]
    return x


def longest_row(g: Graph) -> int:
    return int(g.rowptr.diff().max()) if g.num_nodes else 0


def column_major(start: torch.Tensor) -> torch.Tensor:
    """The same [n, k] values laid out as the transpose of a contiguous [k, n]."""
    return start.t().contiguous().t()


def assert_layout_kept(got: torch.Tensor, start: torch.Tensor) -> None:
    """The CPU op returns a column-major result for a column-major start (n, k > 1), else a contiguous one."""
    n, k = start.shape
    if n > 1 and k > 1 and start.stride() == (1, n):
        assert got.stride() == (1, n)
    else:
        assert got.is_contiguous()


@settings(max_examples=200, deadline=None)
@given(graph=edge_lists(min_nodes=1, max_nodes=10, max_edges=30), length=st.integers(1, 7),
       k=st.sampled_from([1, 2, 3, 8, 16, 21]), transposed=st.booleans(), data=st.data())
def test_counts_across_the_int32_boundary_match_python_ints(graph, length, k, transposed, data):
    edge_index, n, _ = graph
    g = Graph.from_input(edge_index, n)
    growth = longest_row(g) + 1
    # max(start) ~ INT32_MAX / growth^s: the a-priori narrow phase lasts about s steps
    s = data.draw(st.integers(0, 4))
    top = max(1, INT32_MAX // growth**s)
    top = data.draw(st.sampled_from([top - 1, top, top + 1, 1, 2**40])) if top > 1 else data.draw(
        st.sampled_from([1, 2, 2**40]))
    start = torch.tensor(data.draw(st.lists(st.integers(0, max(top, 0)), min_size=n * k, max_size=n * k)),
                         dtype=torch.int64).reshape(n, k)
    if transposed:
        start = column_major(start)
    expected = python_walks(g.rowptr, g.col, start, length)
    if max((max(row) for row in expected), default=0) > 2**63 - 1:
        with pytest.raises(OverflowError):
            ops.walk_count(g.rowptr, g.col, start, length)
        return
    got = ops.walk_count(g.rowptr, g.col, start, length)
    assert got.dtype == torch.int64
    assert got.tolist() == expected
    assert_layout_kept(got, start)


def regular_graph(kind: str) -> Graph:
    """K_12 (every row 11 long, counts grow by exactly 12 a step) or the cycle C_10 (by exactly 3)."""
    if kind == "complete":
        n = 12
        u, v = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
        return Graph.from_input(torch.stack([u.flatten(), v.flatten()]), n)
    n = 10
    r = torch.arange(n)
    return Graph.from_input(torch.stack([torch.cat([r, (r + 1) % n]), torch.cat([(r + 1) % n, r])]), n)


@pytest.mark.parametrize("transposed", [False, True], ids=["row_major", "column_major"])
@pytest.mark.parametrize("kind", ["complete", "cycle"])
@pytest.mark.parametrize("k", [1, 16, 5, 8])
def test_regular_graphs_at_the_int32_edge(kind, k, transposed):
    # On a regular graph the bound (longest row + 1) * max(x) is attained, so a start of c everywhere with
    # c = INT32_MAX // growth^s (and c + 1) reaches exactly INT32_MAX-or-less (or just above it) after s steps:
    # a narrow phase one step too long, or a widened block in the wrong buffer, gives wrong counts here.
    g = regular_graph(kind)
    growth = longest_row(g) + 1
    for s in range(1, 10):
        c = INT32_MAX // growth**s
        if c == 0:
            break
        for value in (c, c + 1):
            for length in range(max(1, s - 1), s + 3):
                start = torch.full((g.num_nodes, k), value, dtype=torch.int64)
                start[0, 0] = value - 1  # not all equal
                if transposed:
                    start = column_major(start)
                got = ops.walk_count(g.rowptr, g.col, start, length)
                assert got.tolist() == python_walks(g.rowptr, g.col, start, length), (s, value, length)
                assert_layout_kept(got, start)


@pytest.mark.parametrize("transposed", [False, True], ids=["row_major", "column_major"])
@pytest.mark.parametrize("length", [0, 1, 4])
def test_user_start_is_not_written_nor_aliased(transposed, length):
    n = 12
    u, v = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    g = Graph.from_input(torch.stack([u.flatten(), v.flatten()]), n)
    start = torch.arange(n * 16, dtype=torch.int64).reshape(n, 16)
    if transposed:
        start = column_major(start)
    before = start.clone()
    got = ops.walk_count(g.rowptr, g.col, start, length)
    assert torch.equal(start, before)
    assert got.untyped_storage().data_ptr() != start.untyped_storage().data_ptr()
    assert_layout_kept(got, start)


@settings(max_examples=60, deadline=None)
@given(graph=edge_lists(min_nodes=2, max_nodes=12, max_edges=40), length=st.integers(0, 6),
       k=st.sampled_from([2, 3, 4, 16, 17, 40]), data=st.data())
def test_float64_column_major_equals_row_major(graph, length, k, data):
    edge_index, n, _ = graph
    g = Graph.from_input(edge_index, n)
    start = torch.tensor(data.draw(st.lists(st.floats(0, 4), min_size=n * k, max_size=n * k)),
                         dtype=torch.float64).reshape(n, k)
    row = ops.walk_count(g.rowptr, g.col, start, length)
    col = ops.walk_count(g.rowptr, g.col, column_major(start), length)
    assert torch.equal(row, col)  # the same additions in the same order, bit for bit
    assert_layout_kept(col, column_major(start))


def test_column_major_negative_start_and_overflow_are_errors():
    g = regular_graph("complete")
    bad = column_major(torch.ones(g.num_nodes, 16, dtype=torch.int64))
    bad[3, 5] = -1
    with pytest.raises(ValueError, match="non-negative"):
        ops.walk_count(g.rowptr, g.col, bad, 2)
    big = column_major(torch.full((g.num_nodes, 16), 2**40, dtype=torch.int64))
    with pytest.raises(OverflowError, match="length 7 "):  # K_12 multiplies by 12: 2^40 * 12^6 < 2^63 < 2^40 * 12^7
        ops.walk_count(g.rowptr, g.col, big, 12)


def test_out_of_range_column_in_a_narrow_step_is_an_index_error():
    rowptr = torch.tensor([0, 1, 2], dtype=torch.int64)
    col = torch.tensor([1, 7], dtype=torch.int32)  # 7 is not a vertex of a 2-vertex graph
    with pytest.raises(IndexError, match="out of range"):
        ops.walk_count(rowptr, col, torch.ones(2, 16, dtype=torch.int64), 4)
