"""count_walks, boundary and walk_index against the dense Python-int references."""

import os

import background
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rankcore
from rankcore.reference import boundary_reference, count_walks_reference, walk_index_reference

from graphs import edge_lists, masks, path_between_cliques

SETTINGS = settings(max_examples=150, deadline=None)


@SETTINGS
@given(graph=edge_lists(), length=st.integers(0, 6), data=st.data())
def test_count_walks_matches_reference(device, graph, length, data):
    edge_index, n, _ = graph
    # 1, 8, 16: direct single-block paths; 3 and 37: packed blocks (16 + 16 + 4 + 1 for 37)
    k = data.draw(st.sampled_from([None, 1, 3, 8, 16, 37]))
    sources = None if data.draw(st.booleans()) else masks(data.draw, k, n)
    expected = count_walks_reference(edge_index, n, length, sources)
    got = rankcore.count_walks(edge_index.to(device), n, length,
                               None if sources is None else sources.to(device))
    assert got.device.type == device.type
    got = got.cpu()
    assert got.dtype == torch.int64
    assert got.shape == expected.shape
    assert torch.equal(got, expected)


@SETTINGS
@given(graph=edge_lists(min_nodes=1), length=st.integers(0, 5), data=st.data())
def test_count_walks_float64_matches_int64(device, graph, length, data):
    edge_index, n, _ = graph
    edge_index, sources = edge_index.to(device), masks(data.draw, 4, n).to(device)
    exact = rankcore.count_walks(edge_index, n, length, sources)
    approx = rankcore.count_walks(edge_index, n, length, sources, dtype=torch.float64)
    assert approx.dtype == torch.float64
    assert torch.equal(approx, exact.to(torch.float64))  # small counts are exact in float64


@settings(max_examples=60, deadline=None)
@given(graph=edge_lists(max_nodes=8, max_edges=10, undirected=False), length=st.integers(129, 300), data=st.data())
def test_long_counts_match_reference(device, graph, length, data):
    # Beyond BINOMIAL_AFTER (128) steps the count continues in the binomial form: sparse directed graphs,
    # acyclic or not, against the step-by-step reference (exact values, or the same first overflowing length).
    edge_index, n, _ = graph
    if data.draw(st.booleans()):  # acyclic half the time: the counts fit and the binomial sum ends early
        edge_index = edge_index[:, edge_index[0] < edge_index[1]]
    sources = None if data.draw(st.booleans()) else masks(data.draw, data.draw(st.sampled_from([None, 3])), n)
    call = lambda dtype: rankcore.count_walks(edge_index.to(device), n, length,  # noqa: E731
                                              None if sources is None else sources.to(device), dtype=dtype)
    try:
        expected = count_walks_reference(edge_index, n, length, sources)
    except OverflowError as err:
        first = str(err).split("of length ")[1].split()[0]
        with pytest.raises(OverflowError, match=f"of length {first} "):
            call(torch.int64)
        return
    assert torch.equal(call(torch.int64).cpu(), expected)
    approx = call(torch.float64).cpu()
    assert torch.allclose(approx, expected.to(torch.float64), rtol=1e-12, atol=0)


@SETTINGS
@given(graph=edge_lists(undirected=True), data=st.data())
def test_boundary_matches_reference(device, graph, data):
    edge_index, n, _ = graph
    partition = masks(data.draw, data.draw(st.sampled_from([None, 5])), n)
    got = rankcore.boundary(edge_index.to(device), n, partition.to(device))
    assert torch.equal(got.cpu(), boundary_reference(edge_index, n, partition))


@SETTINGS
@given(graph=edge_lists(undirected=True, min_nodes=1), depth=st.integers(1, 5), data=st.data())
def test_walk_index_matches_reference(device, graph, depth, data):
    edge_index, n, _ = graph
    partition = masks(data.draw, data.draw(st.sampled_from([None, 4])), n)
    target = data.draw(st.one_of(st.none(), st.integers(0, n - 1)))
    expected = walk_index_reference(edge_index, n, partition, depth, target)
    got = rankcore.walk_index(edge_index.to(device), n, partition.to(device), depth, target).cpu()
    assert got.dtype == torch.int64 and got.shape == expected.shape
    assert torch.equal(got, expected)


def test_walk_counts_on_a_path_by_hand():
    # Path 0-1-2: Â = [[1,1,0],[1,1,1],[0,1,1]]; column sums of Â^2 = [5, 7, 5].
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    assert rankcore.count_walks(ei, 3, 2).tolist() == [5, 7, 5]
    # Directed 0 -> 1 -> 2: from vertex 0, walks of length 2 end at 0 (1 way), 1 (2 ways), 2 (1 way).
    directed = torch.tensor([[0, 1], [1, 2]])
    src = torch.tensor([True, False, False])
    assert rankcore.count_walks(directed, 3, 2, src).tolist() == [1, 2, 1]


def test_walk_index_closed_forms():
    # A star with centre 0 and 5 leaves; I = {leaf 1}: boundary {0, 1}.
    leaves = torch.arange(1, 6)
    ei = torch.cat([torch.stack([torch.zeros(5, dtype=torch.long), leaves]),
                    torch.stack([leaves, torch.zeros(5, dtype=torch.long)])], dim=1)
    part = torch.zeros(6, dtype=torch.bool)
    part[1] = True
    # depth 1: ρ_0(C, V) = |C| = 2; depth 2: ρ_1(C, V) = (deg 0 + 1) + (deg 1 + 1) = 6 + 2.
    assert int(rankcore.walk_index(ei, 6, part, 1)) == 2
    assert int(rankcore.walk_index(ei, 6, part, 2)) == 8
    # vertex prediction at leaf 2, depth 2: walks of length 1 from {0, 1} to 2: only 0 -> 2.
    assert int(rankcore.walk_index(ei, 6, part, 2, target=2)) == 1


def test_input_normalisation_is_invariant():
    """Duplicates, self-loops and column order do not change the counts."""
    g = torch.Generator().manual_seed(0)
    ei = torch.randint(0, 30, (2, 80), generator=g)
    base = rankcore.count_walks(ei, 30, 4)
    noisy = torch.cat([ei, ei[:, :20], torch.arange(30).repeat(2, 1)], dim=1)
    noisy = noisy[:, torch.randperm(noisy.shape[1], generator=g)]
    assert torch.equal(rankcore.count_walks(noisy, 30, 4), base)


def test_isolated_and_empty_graphs():
    n = 5
    empty = torch.zeros(2, 0, dtype=torch.long)
    assert rankcore.count_walks(empty, n, 7).tolist() == [1] * n
    part = torch.tensor([1, 0, 1, 0, 0], dtype=torch.bool)
    assert not rankcore.boundary(empty, n, part).any()
    assert int(rankcore.walk_index(empty, n, part, 3)) == 0
    assert rankcore.count_walks(empty, 0, 3).shape == (0,)
    self_loops_only = torch.arange(n).repeat(2, 1)
    assert rankcore.count_walks(self_loops_only, n, 3).tolist() == [1] * n


def test_int64_overflow_is_detected_and_named(device):
    # Complete graph K_20: every vertex has 20 closed-neighbourhood entries, so column sums of Â^s are
    # 20^s. 20^14 < 2^63 < 20^15: length 14 is exact, length 15 overflows.
    n = 20
    u, v = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    ei = torch.stack([u.flatten(), v.flatten()]).to(device)
    assert rankcore.count_walks(ei, n, 14).tolist() == [20**14] * n
    with pytest.raises(OverflowError, match="length 15"):
        rankcore.count_walks(ei, n, 15)
    with pytest.raises(OverflowError, match="length 15"):
        rankcore.count_walks(ei, n, 40)
    with pytest.raises(OverflowError, match="length 15"):
        count_walks_reference(ei.cpu(), n, 15)
    approx = rankcore.count_walks(ei, n, 15, dtype=torch.float64)
    assert torch.allclose(approx.cpu(), torch.full((n,), 20.0**15, dtype=torch.float64))


@pytest.mark.parametrize("k", [3, 7, 12])
def test_overflow_names_the_first_length_over_every_column_block(k):
    # k not a block width: the CPU op runs column blocks one after another. The first block's sources sit in a
    # small clique (K_4: counts overflow late), the last one in K_16 (overflow at 17). The error named the first
    # block's length, 33; it must name the first length that overflows anywhere, as the reference does.
    edges = [(u, v) for u in range(16) for v in range(16) if u != v]
    edges += [(u, v) for u in range(16, 20) for v in range(16, 20) if u != v]
    ei = torch.tensor(edges).t()
    sources = torch.zeros(k, 20, dtype=torch.bool)
    sources[:-1, 16] = True
    sources[-1, 0] = True
    with pytest.raises(OverflowError, match="length 17 "):
        count_walks_reference(ei, 20, 40, sources)
    with pytest.raises(OverflowError, match="length 17 "):
        rankcore.count_walks(ei, 20, 40, sources)
    with pytest.raises(OverflowError, match="length 33 "):  # the small clique alone overflows at 33
        rankcore.count_walks(ei, 20, 40, sources[:-1])


def test_walk_index_sum_overflow():
    # K_20, depth 15: every (Â^14 1)_i = 20^14 fits, but the sum over a 20-vertex boundary does not.
    n = 20
    u, v = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    ei = torch.stack([u.flatten(), v.flatten()])
    part = torch.arange(n) < 10
    assert int(rankcore.walk_index(ei, n, part, 14)) == n * 20**13
    with pytest.raises(OverflowError, match="walk index"):
        rankcore.walk_index(ei, n, part, 15)
    # in a batch the error names the partition whose sum overflows (the empty side's walk index is 0 and fits)
    batch = torch.stack([torch.zeros(n, dtype=torch.bool), part])
    with pytest.raises(OverflowError, match=r"\(depth 15\) of partition 1 of the batch = \d+ exceeds"):
        rankcore.walk_index(ei, n, batch, 15)


def test_inputs_in_other_formats_agree():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    nx = pytest.importorskip("networkx")
    g = nx.karate_club_graph()
    n = g.number_of_nodes()
    ei = torch.tensor(list(g.edges())).t()
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    expected = rankcore.count_walks(ei, n, 3)
    assert torch.equal(rankcore.count_walks(g, None, 3), expected)
    adj = nx.to_scipy_sparse_array(g, format="csr")
    assert torch.equal(rankcore.count_walks(adj, None, 3), expected)
    assert torch.equal(rankcore.count_walks(scipy_sparse.coo_matrix(adj), n, 3), expected)

    class Data:  # duck-typed torch_geometric.data.Data
        def __init__(self, edge_index, num_nodes):
            self.edge_index, self.num_nodes = edge_index, num_nodes

    assert torch.equal(rankcore.count_walks(Data(ei, n), None, 3), expected)
    graph = rankcore.Graph.from_input(ei, n)
    assert torch.equal(rankcore.count_walks(graph, n, 3), expected)
    part = torch.zeros(n, dtype=torch.bool)
    part[:17] = True
    assert torch.equal(rankcore.walk_index(g, None, part, 3),
                       walk_index_reference(ei, n, part, 3))


@pytest.mark.parametrize("index_dtype", [torch.int32, torch.int64])
def test_walk_count_opcheck(device, index_dtype):
    graph = rankcore.Graph.from_input(torch.tensor([[0, 1, 1, 2, 3, 0], [1, 0, 2, 1, 0, 3]], device=device), 5)
    col = graph.col.to(index_dtype)
    for dtype in (torch.int64, torch.float64):
        for k in (3, 16):
            start = torch.randint(0, 3, (5, k), device=device).to(dtype)
            # row-major, and the transpose of a contiguous [k, n] (count_walks' layout; the fake must give the
            # layout the op returns on each device)
            for layout in (start, start.t().contiguous().t()):
                for length in (0, 3):
                    torch.library.opcheck(torch.ops.rankcore.walk_count.default, (graph.rowptr, col, layout, length))


def test_walk_count_under_torch_compile():
    graph = rankcore.Graph.from_input(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), 3)
    start = torch.ones(3, 2, dtype=torch.float64)

    def f(x):
        return rankcore.ops.walk_count(graph.rowptr, graph.col, x * 2, 2).sum(0)

    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    assert torch.equal(compiled(start), f(start))


@pytest.mark.parametrize("k", [1, 3, 16, 40])
def test_hub_rows_match_cpu(device, k):
    # Two hubs of degree > 1024 (the CUDA kernel splits such rows across blocks) plus random edges: every
    # k, both count types, against the CPU op on the same CSR.
    gen = torch.Generator().manual_seed(k)
    n = 6000
    hub_edges = torch.stack([torch.zeros(4000, dtype=torch.long), torch.randint(1, n, (4000,), generator=gen)])
    hub2 = torch.stack([torch.ones(2500, dtype=torch.long), torch.randint(2, n, (2500,), generator=gen)])
    rand = torch.randint(0, n, (2, 20000), generator=gen)
    ei = torch.cat([hub_edges, hub2, rand], 1)
    g = rankcore.Graph.from_input(ei, n)
    gd = g.to(device)
    for dtype in (torch.int64, torch.float64):
        start = torch.randint(0, 5, (n, k), generator=gen).to(dtype)
        expected = rankcore.ops.walk_count(g.rowptr, g.col, start, 3)
        got = rankcore.ops.walk_count(gd.rowptr, gd.col, start.to(device), 3).cpu()
        if dtype == torch.int64:
            assert torch.equal(got, expected)
        else:
            torch.testing.assert_close(got, expected, rtol=1e-12, atol=0)


def test_hub_row_overflow_is_detected(device):
    # A star with 3000 leaves: the hub's count overflows at a known length on both devices.
    leaves = torch.arange(1, 3001)
    ei = torch.cat([torch.stack([torch.zeros_like(leaves), leaves]), torch.stack([leaves, torch.zeros_like(leaves)])], 1)
    g = rankcore.Graph.from_input(ei, 3001)
    start = torch.ones(3001, 1, dtype=torch.int64)
    lengths = _overflow_messages(g, start, 40, device)
    assert lengths[0] == lengths[1]


def _overflow_messages(g, start, length, device):
    """The OverflowError message of walk_count on the CPU and on ``device`` (each must raise)."""
    messages = []
    for dev in ("cpu", device):
        gd = g.to(dev)
        with pytest.raises(OverflowError) as info:
            rankcore.ops.walk_count(gd.rowptr, gd.col, start.to(dev), length)
        messages.append(str(info.value))
    return messages


def _hub_graph(n=5000, seed=0):
    gen = torch.Generator().manual_seed(seed)
    hub = torch.stack([torch.zeros(3000, dtype=torch.long), torch.randint(1, n, (3000,), generator=gen)])
    mid = torch.stack([torch.full((700,), 2, dtype=torch.long), torch.randint(3, n, (700,), generator=gen)])
    rand = torch.randint(0, n, (2, 15000), generator=gen)
    return rankcore.Graph.from_input(torch.cat([hub, mid, rand], 1), n, symmetrize=True)


def test_long_row_plan_is_cached_per_rowptr():
    # The plan the CUDA op takes from rankcore.ops (rows over 1024 entries, chunks of the longest) is
    # device-independent logic: computed once per rowptr, recomputed after an in-place change.
    g = _hub_graph()
    degree = g.rowptr[1:] - g.rowptr[:-1]
    rows, chunks = rankcore.ops._long_row_plan(g.rowptr, g.col)
    assert torch.equal(rows, torch.nonzero(degree > 1024).flatten())
    assert rows.numel() >= 1 and chunks == (int(degree.max()) + 1023) // 1024
    assert rankcore.ops._long_row_plan(g.rowptr, g.col)[0] is rows  # cached
    rowptr = g.rowptr.clone()
    assert rankcore.ops._long_row_plan(rowptr, g.col)[0] is not rows  # another tensor, its own plan
    rowptr[0] = 0  # in place: bumps the version counter, the plan is recomputed
    assert rankcore.ops._long_row_plan(rowptr, g.col)[0] is not rows
    small = rankcore.Graph.from_input(torch.tensor([[0, 1], [1, 0]]), 2)
    rows_s, chunks_s = rankcore.ops._long_row_plan(small.rowptr, small.col)
    assert rows_s.numel() == 0 and chunks_s == 0


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 7, 17, 33, 67])
def test_hub_rows_every_k_repeated_calls(device, k):
    # k not a multiple of 4 (the vector widths), hub and mid-size rows, several calls on one graph (the
    # cached plan on CUDA), both count types, against the CPU op.
    g = _hub_graph(seed=k)
    gd = g.to(device)
    gen = torch.Generator().manual_seed(100 + k)
    for dtype in (torch.int64, torch.float64):
        for length in (1, 2, 4):
            start = torch.randint(0, 4, (g.num_nodes, k), generator=gen).to(dtype)
            expected = rankcore.ops.walk_count(g.rowptr, g.col, start, length)
            got = rankcore.ops.walk_count(gd.rowptr, gd.col, start.to(device), length).cpu()
            if dtype == torch.int64:
                assert torch.equal(got, expected)
            else:
                torch.testing.assert_close(got, expected, rtol=1e-12, atol=0)


def test_empty_inputs_on_device(device):
    g = _hub_graph().to(device)
    out = rankcore.ops.walk_count(g.rowptr, g.col, torch.zeros(g.num_nodes, 0, dtype=torch.int64, device=device), 3)
    assert out.shape == (g.num_nodes, 0)
    empty = rankcore.Graph.from_input(torch.zeros(2, 0, dtype=torch.long, device=device), 0)
    out = rankcore.ops.walk_count(empty.rowptr, empty.col, torch.zeros(0, 3, dtype=torch.int64, device=device), 2)
    assert out.shape == (0, 3)


@pytest.mark.parametrize("k", [1, 5])
def test_hub_overflow_flag_every_k(device, k):
    # int64 overflow inside a long row (split across blocks) and in short rows: the same length is named
    # on both devices, for k = 1 and a k that is not a multiple of 4.
    g = _hub_graph()
    start = torch.full((g.num_nodes, k), 1 << 40, dtype=torch.int64)
    messages = _overflow_messages(g, start, 12, device)
    assert messages[0] == messages[1]


@pytest.mark.parametrize("index_dtype", [torch.int32, torch.int64])
def test_walk_count_planned_opcheck(device, index_dtype):
    if device.type != "cuda":
        pytest.skip("walk_count_planned is CUDA only")
    g = _hub_graph().to(device)
    rows, chunks = rankcore.ops._long_row_plan(g.rowptr, g.col)
    start = torch.randint(0, 3, (g.num_nodes, 3), device=device)
    torch.library.opcheck(torch.ops.rankcore.walk_count_planned.default,
                          (g.rowptr, g.col.to(index_dtype), start, 2, rows, chunks))


def _binned_graph(n=3000, seed=0):
    # Rows of every bin of the CUDA step kernel (kernels::walk_layout / walk_bin): short rows (degree
    # 0-8), warp rows (up to 256 entries), block rows (257-1024) and long rows (> 1024, the cached plan),
    # on a graph that is not symmetric.
    gen = torch.Generator().manual_seed(seed)
    parts = [torch.randint(0, n, (2, 4 * n), generator=gen)]
    for row, deg in ((1, 200), (2, 256), (3, 257), (4, 700), (5, 1024), (6, 1025), (7, 2100), (8, 3300)):
        parts.append(torch.stack([torch.randint(0, n, (deg,), generator=gen), torch.full((deg,), row)]))
    return rankcore.Graph.from_input(torch.cat(parts, 1), n)


@pytest.mark.parametrize("k", [1, 2, 4, 6, 8, 12, 16, 24, 32, 64, 96, 130])
def test_every_bin_and_width(device, k):
    # Every vector width (k a multiple of 4: two 16-byte loads per lane; of 2: one; odd: 8-byte loads),
    # every lane count per column block, every row bin, with the cached plan (rankcore.ops.walk_count) and
    # without it (the op finds the long rows), against the CPU op; the int64 counts exactly.
    g = _binned_graph(seed=k)
    degree = g.rowptr[1:] - g.rowptr[:-1]
    assert int((degree > 1024).sum()) >= 2 and int(((degree > 256) & (degree <= 1024)).sum()) >= 3
    gd = g.to(device)
    gen = torch.Generator().manual_seed(200 + k)
    for dtype in (torch.int64, torch.float64):
        start = torch.randint(0, 1000, (g.num_nodes, k), generator=gen).to(dtype)
        for length in (1, 3):
            expected = rankcore.ops.walk_count(g.rowptr, g.col, start, length)
            got = rankcore.ops.walk_count(gd.rowptr, gd.col, start.to(device), length).cpu()
            raw = torch.ops.rankcore.walk_count.default(gd.rowptr, gd.col, start.to(device), length).cpu()
            for out in (got, raw):
                if dtype == torch.int64:
                    assert torch.equal(out, expected)
                else:
                    torch.testing.assert_close(out, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("k", [4, 8, 6])
def test_unaligned_start_rows(device, k):
    # A start tensor whose data is 8 bytes past a 16-byte boundary: the first step cannot use 16-byte
    # loads (the kernel falls back to 8-byte ones), the later steps read aligned buffers.
    g = _binned_graph(seed=50 + k)
    gd = g.to(device)
    gen = torch.Generator().manual_seed(k)
    for dtype in (torch.int64, torch.float64):
        flat = torch.randint(0, 50, (g.num_nodes * k + 1,), generator=gen).to(dtype).to(device)
        start = flat[1:].view(g.num_nodes, k)
        assert start.is_contiguous() and start.data_ptr() % 16 == 8
        expected = rankcore.ops.walk_count(g.rowptr, g.col, start.cpu(), 3)
        got = rankcore.ops.walk_count(gd.rowptr, gd.col, start, 3).cpu()
        if dtype == torch.int64:
            assert torch.equal(got, expected)
        else:
            torch.testing.assert_close(got, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("k", [1, 4, 6, 64])
def test_overflow_in_every_bin(device, k):
    # Saturation detected, not wrapped, whichever bin's row overflows first: the same walk length is
    # named on both devices; one step before it the counts agree exactly.
    g = _binned_graph(seed=7)
    for row in (0, 3, 5, 8):  # a short, a block, a block (1024 entries) and a long row
        start = torch.zeros(g.num_nodes, k, dtype=torch.int64)
        sources = g.col[g.rowptr[row]:g.rowptr[row + 1]]
        start[sources] = 1 << 60
        messages = _overflow_messages(g, start, 6, device)
        assert messages[0] == messages[1]


_ISA_SCRIPT = """
import sys, torch, rankcore
gen = torch.Generator().manual_seed(3)
n = 3000
ei = torch.randint(0, n, (2, 40000), generator=gen)
ei = torch.cat([ei, torch.stack([torch.zeros(2000, dtype=torch.long), torch.arange(1, 2001)])], dim=1)  # a hub
out = {}
for k in [1, 2, 3, 4, 8, 16, 17, 33]:
    sources = torch.rand(k, n, generator=gen) < 0.3
    for dtype in (torch.int64, torch.float64):
        out[(k, str(dtype))] = rankcore.count_walks(ei, n, 5, sources, dtype=dtype)
try:  # the saturating path (rows that may overflow) and the overflow message
    rankcore.count_walks(ei, n, 40, torch.ones(4, n, dtype=torch.bool))
except OverflowError as err:
    out["overflow"] = str(err)
torch.save(out, sys.argv[1])
"""


def _isa_runs(folder: str, isas: list[str]) -> dict:
    """_ISA_SCRIPT's results in a process per variant (both at once): the variant is picked once per process."""
    import subprocess
    import sys

    script = os.path.join(folder, "isa.py")
    with open(script, "w") as f:
        f.write(_ISA_SCRIPT)
    procs = {isa: subprocess.Popen([sys.executable, script, os.path.join(folder, f"{isa}.pt")],
                                   env=dict(os.environ, RANKCORE_CPU_ISA=isa)) for isa in isas}
    try:
        for isa, proc in procs.items():
            assert proc.wait(timeout=300) == 0, isa
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()
    return {isa: torch.load(os.path.join(folder, f"{isa}.pt")) for isa in isas}


# The AVX-512 cap is no cap (it is the highest): unless RANKCORE_CPU_ISA is set here, that variant runs in the
# pytest process; the capped ones in processes of their own, in the background beside the other tests.
_ISA_HERE = "RANKCORE_CPU_ISA" not in os.environ
background.register("graph: capped CPU ISA variants", _isa_runs,
                    ["baseline", "avx2"] if _ISA_HERE else ["baseline", "avx2", "avx512"],
                    needed_by="test_cpu_isa_variants_agree")


@pytest.mark.slow
def test_cpu_isa_variants_agree(tmp_path, monkeypatch, background_result):
    """The baseline, AVX2 and AVX-512 variants of the CPU walk-count step (RANKCORE_CPU_ISA caps the one the
    CPU would pick) give bit-identical int64 and float64 counts and the same overflow error."""
    import runpy
    import sys

    results = dict(background_result("graph: capped CPU ISA variants"))
    if _ISA_HERE:
        script = tmp_path / "isa.py"
        script.write_text(_ISA_SCRIPT)
        monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path / "avx512.pt")])
        runpy.run_path(str(script))
        results["avx512"] = torch.load(tmp_path / "avx512.pt")
    base = results["baseline"]
    assert "overflow" in base and "length" in base["overflow"]
    for isa in ["avx2", "avx512"]:
        assert results[isa].keys() == base.keys()
        for key, value in base.items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(results[isa][key], value), (isa, key)
            else:
                assert results[isa][key] == value
    for k in [1, 17]:
        exact, approx = base[(k, "torch.int64")], base[(k, "torch.float64")]
        assert torch.equal(approx, exact.to(torch.float64))


def test_walk_index_that_fits_is_returned_when_other_walk_counts_overflow():
    """K8 (walk counts beyond int64 at length 21) beside one edge 8-9: the walk index of I = {8} sums walks from
    the boundary {8, 9} only and fits; it used to raise because the count from every vertex overflowed in K8."""
    e = [(i, j) for i in range(8) for j in range(8) if i != j] + [(8, 9), (9, 8)]
    ei, n = torch.tensor(e).t(), 10
    part = torch.zeros(n, dtype=torch.bool)
    part[8] = True
    for target in (None, 0, 8, 9):
        want = walk_index_reference(ei, n, part, 22, target=target)
        assert torch.equal(rankcore.walk_index(ei, n, part, 22, target=target), want)
    both = torch.stack([part, part.roll(1)])  # the second partition, I = {9}, has the same boundary
    assert torch.equal(rankcore.walk_index(ei, n, both, 22), torch.stack([walk_index_reference(ei, n, m, 22)
                                                                          for m in both]))
    clique_side = torch.zeros(n, dtype=torch.bool)
    clique_side[0] = True  # its boundary is in K8: the walk index itself exceeds int64
    with pytest.raises(OverflowError, match="not representable"):
        rankcore.walk_index(ei, n, clique_side, 22)


def test_vertex_prediction_fits_when_counts_overflow_near_both_ends():
    # I = {p_0}: walks from its boundary overflow in the first clique, walks from the target p_20 in the second,
    # yet the walks between them fit (a known issue until 2026-12-07: it raised OverflowError)
    ei, n = path_between_cliques(20, 20)
    part = torch.zeros(n, dtype=torch.bool)
    part[0] = True
    both = torch.stack([part, part.roll(5)])  # and I = {p_5}, whose boundary is on the path
    for depth in (21, 22, 25, 30):
        want = torch.stack([walk_index_reference(ei, n, m, depth, target=20) for m in both])
        assert torch.equal(rankcore.walk_index(ei, n, both, depth, target=20), want), depth
    # far enough to detour into a clique: the walk index itself overflows, and says so
    with pytest.raises(OverflowError):
        walk_index_reference(ei, n, part, 45, target=20)
    with pytest.raises(OverflowError, match="not representable: walk counts of length .* on the way to the target"):
        rankcore.walk_index(ei, n, part, 45, target=20)


@settings(max_examples=25, deadline=None)
@given(path=st.integers(3, 14), clique=st.integers(12, 16), depth=st.integers(8, 30), data=st.data())
def test_vertex_prediction_beside_cliques_matches_reference(path, clique, depth, data):
    # sides of one or two path vertices (boundaries on the path or at a clique's foot), and sometimes any mask
    ei, n = path_between_cliques(path, clique)
    partition = torch.zeros(3, n, dtype=torch.bool)
    for row in range(3):
        for v in data.draw(st.lists(st.integers(0, path), min_size=1, max_size=2)):
            partition[row, v] = True
    if data.draw(st.booleans()):
        partition[2] = masks(data.draw, None, n)
    target = data.draw(st.integers(0, path) if data.draw(st.booleans()) else st.integers(0, n - 1))
    try:
        want = torch.stack([walk_index_reference(ei, n, m, depth, target=target) for m in partition])
    except OverflowError:
        # a count overflowing on the way ("not representable: walk counts of length ..."), or counts that fit
        # summing past int64 over a large boundary (the sum is named: a random mask at depth 18 did that)
        with pytest.raises(OverflowError, match=rf"the walk index at target {target} \(depth {depth}\) "
                                                r"(is not representable|= \d+ exceeds the int64 range)"):
            rankcore.walk_index(ei, n, partition, depth, target=target)
        return
    assert torch.equal(rankcore.walk_index(ei, n, partition, depth, target=target), want)


def _walk_index_at(edge_index, n, partition, depth, target) -> list[int]:
    """The walk index at the target in Python ints, from the boundaries' reference and (Â^(depth-1) e_t) by
    sparse steps (Â symmetric): unbounded, so a fitting row of a batch is known when another overflows."""
    nbrs = [set() for _ in range(n)]
    for i, j in edge_index.t().tolist():
        if i != j:
            nbrs[i].add(j)
    count = [int(v == target) for v in range(n)]
    for _ in range(depth - 1):
        count = [count[v] + sum(count[u] for u in nbrs[v]) for v in range(n)]
    rows = boundary_reference(edge_index, n, partition).reshape(-1, n).tolist()
    return [sum(c for c, inside in zip(count, row) if inside) for row in rows]


def test_vertex_prediction_fallback_searches_only_as_deep_as_needed(monkeypatch):
    # The fallback found every vertex's distance to t first, an Â step on the whole graph per level: t in the
    # middle of a path of 10^5 vertices took 18 s (a path of 3000 here: 1500 steps) before the count from the
    # boundary overflowed within 50 steps near t. Now the search deepens as the count needs it (the vertices not
    # seen yet are dropped too: every kept count is then at most the true one, so an overflow is real).
    from rankcore.graph import walks

    calls, real = [0], walks._walks_from

    def counting(graph, start, length):
        calls[0] += 1
        return real(graph, start, length)

    monkeypatch.setattr(walks, "_walks_from", counting)
    ei, n = path_between_cliques(3000, 16)
    first_half = torch.zeros(n, dtype=torch.bool)
    first_half[:1500] = True
    with pytest.raises(OverflowError, match="not representable: walk counts of length .* on the way to the target"):
        rankcore.walk_index(ei, n, first_half, 10**6, target=1500)
    assert calls[0] < 300, calls[0]
    # exact where the search must go past its first radius (the boundary 90 edges from t, a clique at t)
    ei, n = path_between_cliques(100, 16)
    near, far = torch.zeros(2, n, dtype=torch.bool)
    far[10] = near[60] = True
    for depth in (91, 92, 95, 100):
        want = _walk_index_at(ei, n, far, depth, 100)
        assert rankcore.walk_index(ei, n, far, depth, target=100).tolist() == want[0], depth
    # a batch shares one count: one partition's walk index overflowing (walks from p_60 reach the clique at t
    # early) raises for the whole batch, as the reference does, although the other one fits
    both = torch.stack([far, near])
    want = _walk_index_at(ei, n, both, 92, 100)
    assert want[0] <= 2**63 - 1 < want[1]
    with pytest.raises(OverflowError, match="not representable"):
        rankcore.walk_index(ei, n, both, 92, target=100)


def test_networkx_ids_are_its_integer_labels_in_any_insertion_order():
    """A graph built edge by edge lists its vertices in first-seen order (2, 1, 0, 3 here); its results must
    read in its own labels, as the same edges given as an edge_index do. Other labels number by G.nodes."""
    nx = pytest.importorskip("networkx")
    pairs = [(2, 1), (1, 0), (0, 3), (3, 1)]
    g = nx.Graph()
    g.add_edges_from(pairs)
    assert list(g.nodes) == [2, 1, 0, 3]
    ei = torch.tensor(pairs).t()
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    assert torch.equal(rankcore.count_walks(g, None, 1), rankcore.count_walks(ei, 4, 1))
    assert torch.equal(rankcore.sparsify(g, None, "degree", num_remove=1).removed,
                       rankcore.sparsify(ei, 4, "degree", num_remove=1).removed)
    named = nx.relabel_nodes(g, {v: f"v{v}" for v in g.nodes})  # not ints: positions in G.nodes
    position = {v: i for i, v in enumerate(named.nodes)}
    ei_named = torch.tensor([[position[f"v{u}"], position[f"v{v}"]] for u, v in pairs]).t()
    ei_named = torch.cat([ei_named, ei_named.flip(0)], dim=1)
    assert torch.equal(rankcore.count_walks(named, None, 1), rankcore.count_walks(ei_named, 4, 1))


def test_container_corner_cases_give_the_graph_they_describe():
    """symmetrize=True on a built directed Graph adds the reverse edges (it was ignored where the op does not
    require an undirected graph); scipy duplicates that cancel are no edge (as in the CSR of the same matrix);
    an edgeless [[], []] list is a graph, not a float tensor."""
    sp = pytest.importorskip("scipy.sparse")
    import numpy as np
    ei = torch.tensor([[0], [1]])
    directed = rankcore.Graph.from_input(ei, 2)
    assert torch.equal(rankcore.count_walks(directed, None, 1, symmetrize=True),
                       rankcore.count_walks(ei, 2, 1, symmetrize=True))
    assert torch.equal(rankcore.count_walks(directed, None, 1), torch.tensor([1, 2]))
    cancelling = sp.coo_matrix((np.array([1.0, -1.0, 1.0, -1.0]), (np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0]))),
                               shape=(2, 2))
    assert torch.equal(rankcore.count_walks(cancelling, None, 1), rankcore.count_walks(cancelling.tocsr(), None, 1))
    assert torch.equal(rankcore.count_walks(cancelling, None, 1), torch.tensor([1, 1]))
    assert cancelling.data.tolist() == [1.0, -1.0, 1.0, -1.0]  # the caller's matrix is untouched
    assert torch.equal(rankcore.count_walks([[], []], 3, 2), torch.ones(3, dtype=torch.int64))
