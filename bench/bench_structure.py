"""edge_common_neighbors and closed_walk_counts against torch.sparse, in the same run (CPU and CUDA).

    python -m pytest bench/bench_structure.py --benchmark-json=structure.json
    python bench/report.py structure.json

The user's alternative for per-edge common neighbours is the sparse product A @ A sampled on the edges
((A²)_uv = |N(u) ∩ N(v)|); for the L = 3 closed walks it is the same product's row sums on the edges
(2·tri(t) = Σ_{v ~ t} (A²)_tv) plus the closed form. L = 4 has no cheap torch.sparse route, so it is
timed for rankcore alone (on the 100k graph only: it costs O(Σ_t |ball_2(t)|)).
Sizes: RANKCORE_BENCH_SIZES (default 100k,1M,10M directed columns; power-law, 10 per vertex).
"""

import pytest
import torch

import rankcore

from conftest import power_law, selected_sizes

_cache: dict = {}


def _rounds(size: str) -> dict:
    return {"rounds": 5 if size == "100k" else 3, "iterations": 1, "warmup_rounds": 1}


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _adjacency(graph: rankcore.Graph, device):
    key = (graph.num_nodes, graph.num_edges, str(device))
    if key not in _cache:
        n = graph.num_nodes
        rows = torch.repeat_interleave(torch.arange(n), graph.rowptr.diff())
        a = torch.sparse_coo_tensor(torch.stack([rows, graph.col.long()]), torch.ones(rows.numel()), (n, n))
        _cache[key] = a.coalesce().to(device)
    return _cache[key]


@pytest.mark.parametrize("size", selected_sizes())
def test_common_neighbors_rankcore(benchmark, device, size):
    graph = power_law(size).to(device)

    def run():
        out = rankcore.ops.edge_common_neighbors(graph.rowptr, graph.col)
        _sync(device)
        return out

    benchmark.group = f"common neighbours {size} {device.type}"
    benchmark.extra_info.update(impl="rankcore", nnz=graph.num_edges, n=graph.num_nodes)
    out = benchmark.pedantic(run, **_rounds(size))
    assert out.shape == (graph.num_edges,)


@pytest.mark.parametrize("size", selected_sizes())
def test_common_neighbors_torch_sparse(benchmark, device, size):
    graph = power_law(size)
    if size == "10M":
        pytest.skip("A @ A on the 10M graph: minutes and tens of GiB (CPU), memory-bound SpGEMM blow-up (GPU)")
    a = _adjacency(graph, device)

    def run():
        out = torch.sparse.mm(a, a).sparse_mask(a)  # (A²)_uv on the edges, in A's coalesced order
        _sync(device)
        return out

    benchmark.group = f"common neighbours {size} {device.type}"
    benchmark.extra_info.update(impl="torch.sparse A@A masked", nnz=graph.num_edges, n=graph.num_nodes)
    out = benchmark.pedantic(run, **_rounds(size))
    expected = rankcore.ops.edge_common_neighbors(graph.rowptr, graph.col)
    assert torch.equal(out.coalesce().values().cpu().long(), expected)  # same (row, col) order as the CSR


@pytest.mark.parametrize("length", [3, 4])
@pytest.mark.parametrize("size", selected_sizes())
def test_closed_walks_rankcore(benchmark, device, size, length):
    if length == 4 and size != "100k":
        pytest.skip("L = 4 is timed on the 100k graph only")
    graph = power_law(size).to(device)

    def run():
        out = rankcore.ops.closed_walk_counts(graph.rowptr, graph.col, length)
        _sync(device)
        return out

    benchmark.group = f"closed walks L={length} {size} {device.type}"
    benchmark.extra_info.update(impl="rankcore", nnz=graph.num_edges, n=graph.num_nodes)
    out = benchmark.pedantic(run, **_rounds(size))
    assert out.shape == (graph.num_nodes,)
