"""count_walks (length 4) against the paths a user would otherwise take, in the same run.

    python -m pytest bench/bench_walks.py --benchmark-json=walks.json
    python bench/report.py walks.json          # ratios as a markdown table

Each group is one (graph size, k, device); rankcore (the native op on a prebuilt Graph, exact int64 or
float64) is compared with torch.sparse.mm on a float64 CSR of Â and with scipy.sparse (CPU).
`extra_info` records the compulsory bytes moved (CSR once per step + read x + write y per step) so
the report can give bytes/s against the measured copy bandwidth.
"""

import numpy as np
import pytest
import torch

import rankcore

from conftest import power_law, selected, selected_sizes

LENGTH = 4
_baselines: dict = {}


def _rounds(size: str) -> dict:
    return {"rounds": 5 if size == "100k" else 3, "iterations": 1, "warmup_rounds": 1}


def _a_hat_csr(graph: rankcore.Graph, dtype, device):
    """Â = A + I as a torch sparse CSR (rows = targets, so Â @ x pulls from in-neighbours)."""
    key = ("torch", graph.num_nodes, graph.num_edges, dtype, str(device))
    if key not in _baselines:
        n = graph.num_nodes
        diag = torch.arange(n)
        rows = torch.cat([torch.repeat_interleave(diag, graph.rowptr.diff()), diag])
        cols = torch.cat([graph.col.long(), diag])
        values = torch.ones(rows.numel(), dtype=dtype)
        coo = torch.sparse_coo_tensor(torch.stack([rows, cols]), values, (n, n)).coalesce()
        _baselines[key] = coo.to_sparse_csr().to(device)
    return _baselines[key]


def _a_hat_scipy(graph: rankcore.Graph, dtype):
    import scipy.sparse as sp

    key = ("scipy", graph.num_nodes, graph.num_edges, dtype)
    if key not in _baselines:
        n = graph.num_nodes
        rowptr = graph.rowptr.numpy()
        mat = sp.csr_matrix((np.ones(graph.num_edges, dtype=dtype), graph.col.numpy(), rowptr), shape=(n, n))
        _baselines[key] = (mat + sp.identity(n, dtype=dtype, format="csr")).tocsr()
    return _baselines[key]


def _compulsory_bytes(graph: rankcore.Graph, k: int, value_bytes: int = 8) -> int:
    n, nnz = graph.num_nodes, graph.num_edges
    per_step = 8 * (n + 1) + graph.col.element_size() * nnz + 2 * n * k * value_bytes
    return LENGTH * per_step


@pytest.mark.parametrize("dtype", [torch.int64, torch.float64], ids=["int64", "float64"])
@pytest.mark.parametrize("k", [1, 16, 64])
@pytest.mark.parametrize("size", selected_sizes())
def test_rankcore(benchmark, device, size, k, dtype):
    graph = power_law(size).to(device)
    start = torch.ones(graph.num_nodes, k, dtype=dtype, device=device)

    def run():
        out = rankcore.ops.walk_count(graph.rowptr, graph.col, start, LENGTH)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return out

    benchmark.group = f"walks {size} k={k} {device.type}"
    benchmark.extra_info.update(impl="rankcore", dtype=str(dtype), nnz=graph.num_edges, n=graph.num_nodes,
                                bytes=_compulsory_bytes(graph, k))
    out = benchmark.pedantic(run, **_rounds(size))
    assert out.shape == (graph.num_nodes, k)


@pytest.mark.parametrize("k", [1, 16, 64])
@pytest.mark.parametrize("size", selected_sizes())
def test_torch_sparse_mm(benchmark, device, size, k):
    graph = power_law(size)
    a_hat = _a_hat_csr(graph, torch.float64, device)
    start = torch.ones(graph.num_nodes, k, dtype=torch.float64, device=device)

    def run():
        y = start
        for _ in range(LENGTH):
            y = torch.sparse.mm(a_hat, y)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return y

    benchmark.group = f"walks {size} k={k} {device.type}"
    benchmark.extra_info.update(impl="torch.sparse.mm float64", nnz=graph.num_edges + graph.num_nodes,
                                bytes=_compulsory_bytes(graph, k))
    y = benchmark.pedantic(run, **_rounds(size))
    expected = rankcore.ops.walk_count(graph.rowptr, graph.col, start.cpu(), LENGTH)
    assert torch.allclose(y.cpu(), expected, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.int64, np.float64], ids=["int64", "float64"])
@pytest.mark.parametrize("k", [1, 16, 64])
@pytest.mark.parametrize("size", selected_sizes())
def test_scipy(benchmark, size, k, dtype):
    pytest.importorskip("scipy")
    graph = power_law(size)
    a_hat = _a_hat_scipy(graph, dtype)
    start = np.ones((graph.num_nodes, k), dtype=dtype)

    def run():
        y = start
        for _ in range(LENGTH):
            y = a_hat @ y  # int64 wraps silently on overflow: not exact-safe
        return y

    benchmark.group = f"walks {size} k={k} cpu"
    benchmark.extra_info.update(impl=f"scipy {np.dtype(dtype).name}", nnz=graph.num_edges + graph.num_nodes,
                                bytes=_compulsory_bytes(graph, k))
    benchmark.pedantic(run, **_rounds(size))


def test_copy_bandwidth(benchmark, device):
    """Reference bandwidth: one 1 GiB tensor copy (read + write counted)."""
    src = torch.ones(2**27, dtype=torch.float64, device=device)
    dst = torch.empty_like(src)

    def run():
        dst.copy_(src)
        if device.type == "cuda":
            torch.cuda.synchronize()

    benchmark.group = f"copy bandwidth {device.type}"
    benchmark.extra_info.update(impl="copy", bytes=2 * src.nbytes)
    benchmark.pedantic(run, rounds=10, iterations=1, warmup_rounds=2)


# The user's path on the issue-22 graphs: rankcore.count_walks on a prebuilt Graph with [k, n] source masks
# (int64, exact; the masks' layout conversion and the [k, n] result included) against torch.sparse.mm float64
# on a prebuilt CSR of Â with a prebuilt [n, k] start. "flat": 10M random pairs over 2M ids, symmetrized (ids in
# random order, max in-degree about 30: no locality to exploit); "power_law": exponent 2.5 over 2M ids, 10M edges.
FLAT_PAIRS = {"1M": 1_000_000, "10M": 10_000_000}
_user_graphs: dict = {}


def _user_graph(kind: str, size: str):
    """(Graph, [16, n] bool source masks: each vertex a source of each column with probability 1%)."""
    key = (kind, size)
    if key not in _user_graphs:
        m = FLAT_PAIRS[size]
        n = m // 5
        gen = torch.Generator().manual_seed(1)
        if kind == "flat":
            g = rankcore.Graph.from_input(torch.randint(n, (2, m), generator=gen), n, symmetrize=True)
        else:
            from rankcore.datasets import power_law_graph

            g = rankcore.Graph.from_input(power_law_graph(n, m, 2.5, seed=1), n)
        _user_graphs[key] = (g, torch.rand(16, n, generator=gen) < 0.01)
    return _user_graphs[key]


@pytest.mark.parametrize("impl", ["rankcore.count_walks int64", "torch.sparse.mm float64"])
@pytest.mark.parametrize("kind", ["flat", "power_law"])
@pytest.mark.parametrize("size", selected("RANKCORE_BENCH_USER_SIZES", "10M", FLAT_PAIRS))
def test_count_walks_user_path(benchmark, size, kind, impl):
    graph, masks = _user_graph(kind, size)
    if impl.startswith("rankcore"):
        def run():
            return rankcore.count_walks(graph, None, LENGTH, masks)
    else:
        a_hat = _a_hat_csr(graph, torch.float64, "cpu")
        start = masks.t().to(torch.float64).contiguous()

        def run():
            y = start
            for _ in range(LENGTH):
                y = torch.sparse.mm(a_hat, y)
            return y.t()

    benchmark.group = f"count_walks user path {kind} {size} k=16 cpu"
    benchmark.extra_info.update(impl=impl, nnz=graph.num_edges, n=graph.num_nodes)
    out = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    expected = rankcore.ops.walk_count(graph.rowptr, graph.col, masks.t().to(torch.int64).contiguous(), LENGTH)
    assert torch.equal(out.to(torch.int64), expected.t())  # float64 is exact at these counts (< 2^53)
