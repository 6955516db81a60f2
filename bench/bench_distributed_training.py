"""Data-parallel training of CP / HT factorizations: one training step on 1 vs P gloo processes.

    OMP_NUM_THREADS=1 python -m pytest bench/bench_distributed_training.py --benchmark-json=ddp.json
    OMP_NUM_THREADS=1 python bench/bench_distributed_training.py   # the table: 3 interleaved rounds, min

Each configuration runs ``rankcore.distributed.training.distributed_train`` on P processes started by
``run_local`` (one torch thread each), every rank holding 1/P of the observed entries, float32, the
adaptive optimizer; "train()" is the single-process ``rankcore.tensor.train`` in this process (one
thread), the baseline. The step time is measured inside the workers (``History.seconds`` over the
iterations, after a warm-up run; the slowest rank), so the process start-up is not in it. Also
measured: the CPU time per step of the busiest rank (``time.process_time``: less sensitive to a shared
box's load). The pytest-benchmark time of a row is the whole spawn and is not the number to read — the per-step ms are
in ``extra_info["step_ms"]``. Sizes with RANKCORE_BENCH_DDP (comma-separated, default "cp,ht").
"""

import os
import sys
import time

import pytest
import torch

from rankcore.distributed.launch import run_local
from rankcore.distributed.training import distributed_train, shard_entries
from rankcore.tensor import CompletionProblem, CPFactorization, HTFactorization, train

sys.path.insert(0, os.path.dirname(__file__))
from conftest import selected  # noqa: E402

# name -> (kind, shape, rank(s), observed entries)
CONFIGS = {"cp": ("cp", (10, 10, 10, 10), 256, 5000), "cp-large": ("cp", (20, 20, 20, 20), 256, 40000),
           "ht": ("ht", (4,) * 8, 32, 20000), "ht-large": ("ht", (4,) * 8, 64, 40000)}
STEPS = 30
REPORT_NOTE = """The median / min / max columns time the whole spawn; the numbers to read are step_ms (wall per step,
slowest rank) and step_cpu_ms_per_rank (CPU per step of the busiest rank)."""
PROCESSES = [1, 2]


def _setup(name):
    kind, shape, ranks, m = CONFIGS[name]
    problem = CompletionProblem.random(shape, 3, m, seed=0)
    gen = torch.Generator().manual_seed(0)
    if kind == "cp":
        model = CPFactorization(shape, ranks, init_std=1e-2, init_mean=0.3, generator=gen)
    else:
        model = HTFactorization(shape, ranks, init_std=0.3, generator=gen)
    return problem, model


def worker(name, steps):
    """(wall, CPU) seconds per step of distributed_train on this rank (after a short warm-up run)."""
    problem, model = _setup(name)
    idx, vals = shard_entries(problem.indices, problem.values)
    distributed_train(model, idx, vals, max_iterations=3, log_every=1000)
    cpu = time.process_time()
    hist = distributed_train(model, idx, vals, max_iterations=steps, log_every=1000)
    return hist.seconds / (steps + 1), (time.process_time() - cpu) / (steps + 1)


def single_process_step(name, steps):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        problem, model = _setup(name)
        train(model, problem, max_iterations=3, log_every=1000, track_error=False)
        start, cpu = time.perf_counter(), time.process_time()
        train(model, problem, max_iterations=steps, log_every=1000, track_error=False)
        return (time.perf_counter() - start) / (steps + 1), (time.process_time() - cpu) / (steps + 1)
    finally:
        torch.set_num_threads(threads)


def step_ms(name, processes, steps=STEPS):
    """(wall ms, CPU ms) per step; over ranks the slowest wall time and the largest CPU time."""
    if processes == 0:
        wall, cpu = single_process_step(name, steps)
        return 1e3 * wall, 1e3 * cpu
    per_rank = run_local(worker, processes, name, steps, threads=1)
    return 1e3 * max(w for w, _ in per_rank), 1e3 * max(c for _, c in per_rank)


def _label(processes):
    return "train()" if processes == 0 else f"DDP x{processes}"


@pytest.mark.distributed
@pytest.mark.parametrize("processes", [0] + PROCESSES, ids=_label)
@pytest.mark.parametrize("name", selected("RANKCORE_BENCH_DDP", "cp,ht", CONFIGS))
def test_ddp_training_step(benchmark, name, processes):
    benchmark.group = f"ddp training {name}"
    result = {}

    def run():
        result["wall"], result["cpu"] = step_ms(name, processes)

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(impl=_label(processes), step_ms=result["wall"], step_cpu_ms_per_rank=result["cpu"],
                                processes=processes, config=str(CONFIGS[name]))


def main(rounds: int = 3):
    """Every configuration ``rounds`` times, interleaved (the box is shared): min and all rounds."""
    names = selected("RANKCORE_BENCH_DDP", "cp,ht", CONFIGS)
    times = {(n, p): [] for n in names for p in [0] + PROCESSES}
    for _ in range(rounds):
        for key in times:
            times[key].append(step_ms(*key))
    print("| config | implementation | wall ms / step (min) | rounds | CPU ms / step / rank (min) |")
    print("|---|---|---:|---|---:|")
    for (name, processes), ms in times.items():
        walls = [w for w, _ in ms]
        print(f"| {name} {CONFIGS[name][1:]} | {_label(processes)} | {min(walls):.2f} | "
              f"{', '.join(f'{t:.1f}' for t in walls)} | {min(c for _, c in ms):.2f} |", flush=True)


if __name__ == "__main__":
    main()
