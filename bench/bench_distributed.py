"""The graph ops on torch.distributed (issue 14): N gloo processes on one machine against one process.

    OMP_NUM_THREADS=1 python -m pytest bench/bench_distributed.py --benchmark-json=dist.json
    OMP_NUM_THREADS=1 python bench/bench_distributed.py            # the same runs, printed as markdown

* count_walks (k = 16 source masks, length 4) on the 10M-column power-law graph: 2 processes of 1 thread
  against 1 process of 1 thread and of 2 threads (this machine has 2 cores), with the bytes every rank
  sends per step (the halo plan) against the all_gather alternative (every rank receiving every other
  rank's rows).
* A scale-out table, 1, 2, 4, 8 processes of 1 thread each (RANKCORE_BENCH_DIST_SIZE, default 1M
  columns): build, count_walks, 1-WIS (1,000 removals; rounds of the protocol) and per-rank peak memory.
  On a 2-core machine, more than 2 processes share the cores: those rows show the overheads (halo
  bytes, rounds, memory per rank), not speed-ups.

Every rank loads only its own shard of the edge list from a file (the parent writes the shards), so the
per-rank memory is what a rank of a real run would hold. Times are taken inside the ranks between
barriers: the slowest rank's time, minimum over repetitions.
"""

from __future__ import annotations

import os
import tempfile
import time

import pytest
import torch

import rankcore
from rankcore.datasets import power_law_graph
from rankcore.distributed import DistGraph, count_walks, run_local, sparsify

SIZES = {"1M": 1_000_000, "10M": 10_000_000}
K, LENGTH, REPS, WIS_REMOVE = 16, 4, 3, 1000
REPORT_NOTE = """The median / min / max columns time the whole call (writing the shards, starting the processes,
the graph build); the numbers to read are the `*_s` columns, measured inside the ranks (slowest rank)."""


def _write_shards(size: str, world: int, folder: str) -> tuple[list[str], int]:
    columns = SIZES[size]
    n = columns // 10
    ei = power_law_graph(n, columns // 2, seed=0)
    paths = []
    for r in range(world):
        p = os.path.join(folder, f"{size}-{world}-{r}.pt")
        torch.save(ei[:, r::world].clone(), p)
        paths.append(p)
    return paths, n


def _peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM; ru_maxrss would include the parent's before exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _timed(fn, dist_mod):
    dist_mod.barrier()
    t0 = time.perf_counter()
    out = fn()
    dist_mod.barrier()
    return time.perf_counter() - t0, out


def _rank_worker(paths: list[str], n: int, wis_remove: int, depth: int = 2, batch: int | None = None) -> dict:
    import torch.distributed as dist

    rank = dist.get_rank()
    t_build, dg = _timed(lambda: DistGraph.from_local_edges(torch.load(paths[rank]), n), dist)
    t_halo, plan = _timed(dg.halo, dist)
    gen = torch.Generator().manual_seed(rank)
    masks = torch.rand(K, dg.num_local_nodes, generator=gen) < 0.5
    walks = min(_timed(lambda: count_walks(dg, LENGTH, masks), dist)[0] for _ in range(REPS))
    stats = {}
    t_wis = None
    if wis_remove:
        t_wis, _ = _timed(lambda: sparsify(dg, "wis", num_remove=wis_remove, depth=depth, batch=batch,
                                                    stats=stats), dist)
    return {"build_s": t_build, "halo_s": t_halo, "walks_s": walks, "wis_s": t_wis, "rounds": stats.get("rounds"),
            "send_bytes_per_step": plan.bytes_per_column * K, "n_local": dg.num_local_nodes,
            "halo": plan.num_halo, "peak_rss_mib": _peak_rss_mib()}


def _single_worker(paths: list[str], n: int, wis_remove: int, depth: int = 2) -> dict:
    """One process, the whole edge list: the single-process ops a user runs today."""
    ei = torch.cat([torch.load(p) for p in paths], dim=1)
    t0 = time.perf_counter()
    graph = rankcore.Graph.from_input(ei, n)
    t_build = time.perf_counter() - t0
    del ei
    gen = torch.Generator().manual_seed(0)
    masks = torch.rand(K, n, generator=gen) < 0.5
    walks = float("inf")
    for _ in range(REPS):
        t0 = time.perf_counter()
        rankcore.count_walks(graph, None, LENGTH, masks)
        walks = min(walks, time.perf_counter() - t0)
    t_wis = None
    if wis_remove:
        t0 = time.perf_counter()
        rankcore.wis(graph, None, wis_remove, depth)
        t_wis = time.perf_counter() - t0
    return {"build_s": t_build, "walks_s": walks, "wis_s": t_wis,
            "peak_rss_mib": _peak_rss_mib()}


def measure(size: str, world: int, *, single_threads: int | None = None, wis_remove: int = WIS_REMOVE,
            depth: int = 2, batch: int | None = None) -> dict:
    """``single_threads`` set: the one-process baseline with that many threads; else ``world`` ranks."""
    with tempfile.TemporaryDirectory(prefix="rankcore_bench_") as folder:
        paths, n = _write_shards(size, max(world, 1), folder)
        if single_threads is not None:
            return run_local(_single_worker, 1, paths, n, wis_remove, depth, threads=single_threads,
                             timeout_s=3600)[0]
        ranks = run_local(_rank_worker, world, paths, n, wis_remove, depth, batch, threads=1, timeout_s=3600)
    out = {key: max(r[key] for r in ranks) for key in ("build_s", "halo_s", "walks_s", "peak_rss_mib", "halo")}
    out["wis_s"] = ranks[0]["wis_s"]
    out["rounds"] = ranks[0]["rounds"]
    out["send_bytes_per_step"] = sum(r["send_bytes_per_step"] for r in ranks)
    out["all_gather_bytes_per_step"] = (world - 1) * n * K * 8 if world > 1 else 0
    out["n"] = n
    return out


def _record(benchmark, fn):
    info = benchmark.pedantic(fn, rounds=1, iterations=1)
    benchmark.extra_info.update(info)


@pytest.mark.parametrize("setup", ["1 process 1 thread", "1 process 2 threads", "2 processes"])
def test_count_walks_10M(benchmark, setup):
    benchmark.group = "distributed count_walks 10M k=16 L=4"
    if setup == "2 processes":
        _record(benchmark, lambda: measure("10M", 2, wis_remove=0))
    else:
        _record(benchmark, lambda: measure("10M", 1, single_threads=int(setup[10]), wis_remove=0))


@pytest.mark.parametrize("world", [1, 2, 4, 8])
def test_scale_out(benchmark, world):
    size = os.environ.get("RANKCORE_BENCH_DIST_SIZE", "1M")
    benchmark.group = f"distributed scale-out {size}"
    _record(benchmark, lambda: measure(size, world))


def removal_rate(count: int, world: int = 2, batch: int | None = None, depth: int = 2) -> dict:
    """WIS at ``depth`` (2: 1-WIS, 3: 2-WIS), ``count`` removals on the 1M-column graph: ``world`` ranks (the default
    batch unless given) against the single-process op (1 thread each), and the ratio of their times (= of their
    times per 1,000 removals)."""
    single = measure("1M", 1, single_threads=1, wis_remove=count, depth=depth)
    ranks = measure("1M", world, wis_remove=count, batch=batch, depth=depth)
    return {"depth": depth, "removals": count, "single_s": single["wis_s"], "distributed_s": ranks["wis_s"],
            "rounds": ranks["rounds"], "ratio": ranks["wis_s"] / single["wis_s"]}


@pytest.mark.parametrize("depth, count", [(2, 1000), (2, 100_000), (2, 490_000), (3, 1000), (3, 20_000),
                                          (3, 200_000)])
def test_wis_removal_rate(benchmark, depth, count):
    benchmark.group = f"distributed {depth - 1}-WIS against the single-process op, 1M columns, 2 processes"
    _record(benchmark, lambda: removal_rate(count, depth=depth))


def main() -> None:
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, torch {torch.__version__}, "
          f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}")
    print("\n#### count_walks, 10M columns, k = 16, length 4\n")
    print("| setup | walks s | vs 1 process, 2 threads | bytes sent per step (all ranks) | all_gather bytes | peak RSS / rank MiB |")
    print("|---|---|---|---|---|---|")
    rows = {"1 process, 1 thread": measure("10M", 1, single_threads=1, wis_remove=0),
            "1 process, 2 threads": measure("10M", 1, single_threads=2, wis_remove=0),
            "2 processes, 1 thread each": measure("10M", 2, wis_remove=0)}
    base = rows["1 process, 2 threads"]["walks_s"]
    for name, r in rows.items():
        print(f"| {name} | {r['walks_s']:.3f} | {r['walks_s'] / base:.2f}x | {r.get('send_bytes_per_step', 0) / 2**20:.1f} MiB | "
              f"{r.get('all_gather_bytes_per_step', 0) / 2**20:.1f} MiB | {r['peak_rss_mib']:.0f} |")
    size = os.environ.get("RANKCORE_BENCH_DIST_SIZE", "1M")
    print(f"\n#### scale-out, {size} columns, 1 thread per process\n")
    print("| processes | build s | halo plan s | walks s | 1-WIS 1000 s | rounds | halo rows / rank | sent per step | all_gather | peak RSS / rank MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    single = measure(size, 1, single_threads=1)
    print(f"| single-process op | {single['build_s']:.2f} | - | {single['walks_s']:.3f} | {single['wis_s']:.2f} | - | - | - | - | "
          f"{single['peak_rss_mib']:.0f} |")
    for world in (1, 2, 4, 8):
        r = measure(size, world)
        print(f"| {world} | {r['build_s']:.2f} | {r['halo_s']:.2f} | {r['walks_s']:.3f} | {r['wis_s']:.2f} | {r['rounds']} | "
              f"{r['halo']} | {r['send_bytes_per_step'] / 2**20:.1f} MiB | {r['all_gather_bytes_per_step'] / 2**20:.1f} MiB | "
              f"{r['peak_rss_mib']:.0f} |", flush=True)
    print("\n#### WIS per 1,000 removals, 1M columns, 2 processes (default batch) against the single-process op\n")
    print("| WIS | removals | single-process s | 2 processes s | rounds | ratio |")
    print("|---|---|---|---|---|---|")
    for depth, count in ((2, 1000), (2, 100_000), (2, 490_000), (3, 1000), (3, 20_000), (3, 200_000)):
        r = removal_rate(count, depth=depth)
        print(f"| {depth - 1}-WIS | {count:,} | {r['single_s']:.3f} | {r['distributed_s']:.3f} | {r['rounds']} | "
              f"{r['ratio']:.1f}x |", flush=True)
    print(f"\n#### WIS rounds, {size} columns, {WIS_REMOVE} removals\n")
    print("| WIS | processes | batch | rounds | distributed s | single-process s |")
    print("|---|---|---|---|---|---|")
    for depth in (2, 3):
        single = measure(size, 1, single_threads=1, depth=depth)
        for world in (2, 4):
            for batch in (64, 256, 1024, 4096):
                r = measure(size, world, depth=depth, batch=batch)
                print(f"| {depth - 1}-WIS | {world} | {batch} | {r['rounds']} | {r['wis_s']:.2f} | {single['wis_s']:.2f} |",
                      flush=True)


if __name__ == "__main__":
    main()
