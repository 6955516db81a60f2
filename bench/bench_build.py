"""The graph build and the user paths that start from a raw edge_index, against what a torch user would
write, in the same run (issue 12 items 1 and 7).

    python -m pytest bench/bench_build.py --benchmark-json=build.json
    python bench/report.py build.json              # ratios as markdown tables
    python bench/bench_build.py --memory           # peak extra memory of each build, fresh processes
    RANKCORE_BUILD_SIZES=1M,10M  RANKCORE_BUILD_WIS=10M|none  (defaults)

Groups (every one starts from the same raw ``[2, m]`` int64 edge_index; nothing is cached between rounds):

* ``build {size}``: ``rankcore.Graph.from_input`` (the native ``rankcore::build_csr``: range check, self-loops
  dropped, duplicates merged, sorted rows, symmetry flag, the input-column -> slot map) against the Python
  reference build (``rankcore.graph.container._build``: torch.unique + torch.isin, the build before the native
  op) and torch's own COO -> CSR (``sparse_coo_tensor(edge_index, ones).coalesce().to_sparse_csr()``: no
  self-loop removal, no symmetry check, no slot map, so less work than the other two).
* ``count_walks e2e {size} k=16``: ``rankcore.count_walks(edge_index, n, 4, masks)`` (exact int64, the build
  included) against a torch user's path: drop self-loops, COO of A + I, coalesce, ones as values, CSR,
  4 x ``torch.sparse.mm`` with a float64 [n, 16] block.
* ``wis e2e {size}``: ``rankcore.wis(edge_index, n, num_remove=#edges)`` (1-WIS, the full exact removal order,
  the build and its undirected check included) on a power-law graph with that many *undirected* edges
  (2x as many columns). Issue 12's target: under 10 s for 10M. No baseline: the naive greedy is in
  bench_wis.py (hours at this size).

Sizes: "1M"/"10M" edge columns for build and count_walks (power_law_graph(n, columns / 2), n = columns / 10,
as in conftest.py); "1M"/"10M" undirected edges for WIS (n = edges / 5, as in bench_wis.py).
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

import rankcore  # noqa: E402
from rankcore.datasets import power_law_graph  # noqa: E402
from rankcore.graph import container  # noqa: E402

SIZES = {"1M": 1_000_000, "10M": 10_000_000}
LENGTH, K = 4, 16
_inputs: dict = {}


def _selected(variable: str, default: str) -> list[str]:
    names = [s for s in os.environ.get(variable, default).split(",") if s and s != "none"]
    unknown = [s for s in names if s not in SIZES]
    if unknown:
        raise ValueError(f"{variable}: unknown {unknown}; choose from {list(SIZES)}")
    return names


def edge_index_of(size: str) -> tuple[torch.Tensor, int]:
    """The raw edge_index with SIZES[size] columns (both directions of columns / 2 edges) and n."""
    key = ("columns", size)
    if key not in _inputs:
        columns = SIZES[size]
        n = columns // 10
        _inputs[key] = (power_law_graph(n, columns // 2, seed=0), n)
    return _inputs[key]


def wis_input(size: str) -> tuple[torch.Tensor, int, int]:
    """A raw edge_index with SIZES[size] undirected edges (n = edges / 5), n, and its edge count."""
    key = ("wis", size)
    if key not in _inputs:
        m = SIZES[size]
        n = m // 5
        ei = power_law_graph(n, m, seed=0)
        edges = rankcore.Graph.from_input(ei, n).num_edges // 2
        _inputs[key] = (ei, n, edges)
    return _inputs[key]


def torch_coo_to_csr(ei: torch.Tensor, n: int) -> torch.Tensor:
    """What a torch user writes to get a CSR from an edge_index (rows = targets, like rankcore's)."""
    values = torch.ones(ei.shape[1], dtype=torch.float32)
    return torch.sparse_coo_tensor(ei.flip(0), values, (n, n)).coalesce().to_sparse_csr()


def torch_walks(ei: torch.Tensor, n: int, masks: torch.Tensor) -> torch.Tensor:
    """count_walks the torch way: Â = A + I (self-loops dropped, duplicates merged) as a float64 CSR."""
    keep = ei[0] != ei[1]
    diag = torch.arange(n).expand(2, n)
    idx = torch.cat([ei[:, keep].flip(0), diag], dim=1)
    coo = torch.sparse_coo_tensor(idx, torch.ones(idx.shape[1], dtype=torch.float64), (n, n)).coalesce()
    a_hat = torch.sparse_coo_tensor(coo.indices(), torch.ones_like(coo.values()), (n, n)).to_sparse_csr()
    y = masks.t().to(torch.float64)
    for _ in range(LENGTH):
        y = torch.sparse.mm(a_hat, y)
    return y.t()


def _masks(n: int) -> torch.Tensor:
    return torch.rand(K, n, generator=torch.Generator().manual_seed(0)) < 0.5


def _info(benchmark, impl: str, ei: torch.Tensor, **extra):
    benchmark.extra_info.update(impl=impl, columns=ei.shape[1], edge_index_bytes=ei.nbytes, **extra)


ROUNDS = {"1M": dict(rounds=5, iterations=1, warmup_rounds=1), "10M": dict(rounds=3, iterations=1, warmup_rounds=1)}


@pytest.mark.parametrize("size", _selected("RANKCORE_BUILD_SIZES", "1M,10M"))
@pytest.mark.parametrize("impl", ["rankcore", "python reference", "torch coo->csr"])
def test_build(benchmark, size, impl):
    ei, n = edge_index_of(size)
    benchmark.group = f"build {size} cpu"
    _info(benchmark, impl, ei, n=n)
    if impl == "rankcore":
        g = benchmark.pedantic(lambda: rankcore.Graph.from_input(ei, n), **ROUNDS[size])
        assert g.slot is not None and g.num_nodes == n
    elif impl == "python reference":
        benchmark.pedantic(lambda: container._build(ei, n, require_undirected=False, symmetrize=False),
                           **ROUNDS[size])
    else:
        benchmark.pedantic(lambda: torch_coo_to_csr(ei, n), **ROUNDS[size])


@pytest.mark.parametrize("size", _selected("RANKCORE_BUILD_SIZES", "1M,10M"))
@pytest.mark.parametrize("impl", ["rankcore", "torch CSR + sparse.mm"])
def test_count_walks_end_to_end(benchmark, size, impl):
    ei, n = edge_index_of(size)
    masks = _masks(n)
    benchmark.group = f"count_walks e2e {size} k={K} cpu"
    _info(benchmark, impl, ei, n=n, dtype="int64" if impl == "rankcore" else "float64")
    if impl == "rankcore":
        out = benchmark.pedantic(lambda: rankcore.count_walks(ei, n, LENGTH, masks), **ROUNDS[size])
    else:
        out = benchmark.pedantic(lambda: torch_walks(ei, n, masks), **ROUNDS[size])
    assert out.shape == (K, n)


@pytest.mark.parametrize("size", _selected("RANKCORE_BUILD_WIS", "10M"))
def test_wis_full_order_end_to_end(benchmark, size):
    ei, n, edges = wis_input(size)
    benchmark.group = f"wis e2e {size} cpu"
    _info(benchmark, "rankcore", ei, n=n, undirected_edges=edges)
    result = benchmark.pedantic(lambda: rankcore.wis(ei, n, edges), rounds=2, iterations=1)
    assert result.removed.shape == (edges, 2)


def test_results_agree():
    """The three builds and both walk counts agree on the 1M graph (what the benchmarks time is correct)."""
    ei, n = edge_index_of("1M")
    g = rankcore.Graph.from_input(ei, n)
    ref = container._build(ei, n, require_undirected=False, symmetrize=False)
    csr = torch_coo_to_csr(ei[:, ei[0] != ei[1]], n)  # torch keeps self-loops
    assert torch.equal(g.rowptr, ref.rowptr) and torch.equal(g.col, ref.col)
    assert torch.equal(g.rowptr, csr.crow_indices()) and torch.equal(g.col.long(), csr.col_indices())
    masks = _masks(n)
    ours = rankcore.count_walks(ei, n, LENGTH, masks)
    assert torch.equal(ours.to(torch.float64), torch_walks(ei, n, masks))


# --- peak memory (python bench/bench_build.py --memory) -------------------------------------------------------

BUILDS = ["rankcore", "python reference", "torch coo->csr"]


def _status(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _memory_child(impl: str, size: str) -> dict:
    ei, n = edge_index_of(size)
    run = {"rankcore": lambda: rankcore.Graph.from_input(ei, n),
           "python reference": lambda: container._build(ei, n, require_undirected=False, symmetrize=False),
           "torch coo->csr": lambda: torch_coo_to_csr(ei, n)}[impl]
    before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    result = run()
    peak = _status("VmHWM")
    del result
    return {"impl": impl, "peak_extra_mib": (peak - before) / 2**20, "edge_index_mib": ei.nbytes / 2**20,
            "ratio": (peak - before) / ei.nbytes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memory", action="store_true", help="peak extra memory of each build (fresh processes)")
    parser.add_argument("--size", default="10M")
    parser.add_argument("--impl", help=argparse.SUPPRESS)  # internal: one implementation in this process
    args = parser.parse_args()
    if args.impl:
        print(json.dumps(_memory_child(args.impl, args.size)))
        return
    if not args.memory:
        parser.error("run the timings with pytest (see the module docstring); --memory for peak memory")
    print(f"| build of {args.size} columns | peak extra MiB (outputs included) | / edge_index bytes |")
    print("|---|---|---|")
    for impl in BUILDS:
        out = subprocess.run([sys.executable, __file__, "--impl", impl, "--size", args.size],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {impl} | {r['peak_extra_mib']:.0f} | {r['ratio']:.2f}x (edge_index {r['edge_index_mib']:.0f} MiB) |",
              flush=True)


if __name__ == "__main__":
    main()
