"""The spectral sparsifier at scale: ``rankcore.sparsify(graph, None, "spectral", ratio=0.5)`` with the
default sketch (k = ceil(24 ln n) rows, eps = 1), i.e. k Laplacian solves plus the sampling order.

    python -m pytest bench/bench_spectral.py --benchmark-json=spectral.json
    RANKCORE_SPECTRAL_GRAPHS=grid200,cycle10k,pl1M python -m pytest bench/bench_spectral.py ...
    python bench/bench_spectral.py --graph pl1M [--solver amg|jacobi] [--ref REV]

Graphs: "grid200" a 200 x 200 grid (40,000 vertices, 79,600 edges), "path10k" a 10,000-vertex path (a
tree: the 2-core reduction leaves nothing to solve), "cycle10k" a 10,000-vertex cycle (path-like, all of
it solved), "pl1M" the seeded power-law graph of bench_wis.py with 1M undirected edges (200k vertices, exponent 2.5,
seed 0; about 990k edges after duplicates merge). pl1M is heavy (a minute or more on 2 cores) and only
runs when named in RANKCORE_SPECTRAL_GRAPHS (default "grid200,path10k,cycle10k").

The script form runs one case in a fresh process and prints one JSON line: wall seconds and the peak
resident memory above what the process held once the graph was built (VmHWM after resetting it through
/proc/self/clear_refs; Linux only), next to the bound of
:func:`rankcore.graph.sparsify.spectral_memory_bytes`. ``--ref REV`` runs the sparsify module as it was
at git revision REV instead (the "before" side of a before / after comparison).
"""

import argparse
import importlib
import importlib.util
import json
import math
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import torch

import rankcore
from conftest import selected
from rankcore.datasets import power_law_graph

GRAPHS = ("grid200", "path10k", "cycle10k", "pl1M")
_graphs: dict = {}


def spectral_graphs() -> list[str]:
    return selected("RANKCORE_SPECTRAL_GRAPHS", "grid200,path10k,cycle10k", GRAPHS)


def _both(ei: torch.Tensor) -> torch.Tensor:
    return torch.cat([ei, ei.flip(0)], dim=1)


def graph_for(name: str) -> rankcore.Graph:
    if name not in _graphs:
        if name == "grid200":
            side = 200
            idx = torch.arange(side * side).reshape(side, side)
            ei = torch.cat([torch.stack([idx[:, :-1].reshape(-1), idx[:, 1:].reshape(-1)]),
                            torch.stack([idx[:-1].reshape(-1), idx[1:].reshape(-1)])], dim=1)
            _graphs[name] = rankcore.Graph.from_input(_both(ei), side * side)
        elif name in ("path10k", "cycle10k"):
            n = 10_000
            ring = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
            _graphs[name] = rankcore.Graph.from_input(_both(ring if name == "cycle10k" else ring[:, :-1]), n)
        else:
            m = 1_000_000
            n = m // 5
            _graphs[name] = rankcore.Graph.from_input(power_law_graph(n, m, seed=0), n, symmetrize=True)
    return _graphs[name]


def _params():
    for name in spectral_graphs():
        yield pytest.param(name, "amg", id=f"{name}-amg")
        if name == "pl1M":  # Jacobi is hopeless on the grid and the path (O(n) iterations): hubs only
            yield pytest.param(name, "jacobi", id=f"{name}-jacobi")


@pytest.mark.parametrize("name, solver", list(_params()))
def test_spectral_sparsify(benchmark, name, solver):
    if solver == "amg":
        pytest.importorskip("pyamg")
    graph = graph_for(name)
    m = graph.num_edges // 2
    benchmark.group = f"spectral {name}"
    benchmark.extra_info.update(solver=solver, n=graph.num_nodes, undirected_edges=m,
                                sketch_dim=max(16, math.ceil(24 * math.log(graph.num_nodes))))
    result = benchmark.pedantic(lambda: rankcore.sparsify(graph, None, "spectral", ratio=0.5, solver=solver),
                                rounds=1, iterations=1, warmup_rounds=0)
    assert result.removed.shape == (math.floor(m * 0.5 + 0.5), 2)


def _status(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _module_at(rev: str):
    """rankcore.graph.sparsify as it was at git revision ``rev`` (imported next to today's package)."""
    source = subprocess.run(["git", "show", f"{rev}:python/rankcore/graph/sparsify.py"], capture_output=True,
                            text=True, check=True, cwd=Path(__file__).resolve().parents[1]).stdout
    path = Path(tempfile.mkdtemp()) / "sparsify_at_rev.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("rankcore.graph._sparsify_at_rev", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def child(name: str, solver: str, rev) -> dict:
    graph = graph_for(name)
    current = importlib.import_module("rankcore.graph.sparsify")
    if rev:
        module = _module_at(rev)
        run = lambda: module.sparsify(graph, None, "spectral", ratio=0.5)  # noqa: E731
    else:
        run = lambda: current.sparsify(graph, None, "spectral", ratio=0.5, solver=solver)  # noqa: E731
    n, m = graph.num_nodes, graph.num_edges // 2
    before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    t0 = time.perf_counter()
    run()
    wall = time.perf_counter() - t0
    peak = _status("VmHWM")
    k = max(16, math.ceil(24 * math.log(n)))
    return {"graph": name, "impl": f"git {rev}" if rev else solver, "n": n, "undirected_edges": m,
            "sketch_dim": k, "wall_s": round(wall, 2), "peak_extra_mib": round((peak - before) / 2**20),
            "peak_rss_mib": round(peak / 2**20),
            "bound_mib": None if rev else round(current.spectral_memory_bytes(n, m, min(32, k)) / 2**20)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph", default="grid200", choices=GRAPHS)
    parser.add_argument("--solver", default="auto", choices=("auto", "amg", "jacobi"))
    parser.add_argument("--ref", help="git revision whose sparsify module to run (the 'before' numbers)")
    args = parser.parse_args()
    print(json.dumps(child(args.graph, args.solver, args.ref)), flush=True)


if __name__ == "__main__":
    main()
