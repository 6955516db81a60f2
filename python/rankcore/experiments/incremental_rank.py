"""Incremental rank learning in CP tensor completion (Razin, Maman & Cohen, ICML 2021).

Order-4 tensor 10x10x10x10, rank-5 ground truth (unit Frobenius norm), 2000 observed entries, a CP
factorization with many components (R = 1000; 100 with --quick) trained by gradient descent with one
global adaptive step from small Gaussian inits (std 5e-2, 1e-2, 5e-3). Recorded: the top-10 component
norms and the reconstruction error ||W - W*|| / ||W*|| along training. Expected: components become
large one at a time (the error falls in steps) and the smaller init ends closer to the ground truth.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..tensor import CompletionProblem, CPFactorization, train
from ._io import pyplot, save_figure, write_json

SHAPE = (10, 10, 10, 10)
GT_RANK = 5
OBSERVED = 2000
INIT_STDS = (5e-2, 1e-2, 5e-3)


def config(quick: bool) -> dict:
    if quick:
        return dict(rank=100, lr=1e-2, iterations=30000, log_every=100)
    return dict(rank=1000, lr=1e-2, iterations=60000, log_every=200)


def components_appeared(norms: list[list[float]], threshold: float) -> list[int | None]:
    """For k = 1..len: the first logged position where the k-th largest norm exceeds threshold."""
    out = []
    for k in range(len(norms[0])):
        first = next((i for i, row in enumerate(norms) if row[k] > threshold), None)
        out.append(first)
    return out


def run(out_dir: str | Path = "rankcore_results", quick: bool = False, seed: int = 0,
        iterations: int | None = None) -> dict:
    cfg = config(quick)
    if iterations is not None:
        cfg["iterations"] = iterations
    problem = CompletionProblem.random(SHAPE, GT_RANK, OBSERVED, seed=seed)
    runs = []
    for std in INIT_STDS:
        model = CPFactorization(SHAPE, cfg["rank"], init_std=std, generator=torch.Generator().manual_seed(seed + 1))
        hist = train(model, problem, lr=cfg["lr"], max_iterations=cfg["iterations"], log_every=cfg["log_every"],
                     stop_loss=1e-12, top_k=10)
        iters = hist.iterations
        appear = components_appeared(hist.component_norms, threshold=0.05)
        runs.append({"init_std": std, **hist.to_dict(),
                     "final_error": hist.reconstruction_error[-1],
                     "iteration_component_appeared": [iters[i] if i is not None else None for i in appear]})
        print(f"init std {std:g}: final loss {hist.loss[-1]:.3e}, reconstruction error "
              f"{hist.reconstruction_error[-1]:.4f}, components > 0.05 appeared at iterations "
              f"{runs[-1]['iteration_component_appeared'][:GT_RANK + 1]} ({hist.seconds:.0f} s)", flush=True)
    result = {"experiment": "incremental-rank", "shape": SHAPE, "ground_truth_rank": GT_RANK, "observed": OBSERVED,
              "quick": quick, "seed": seed, **cfg, "runs": runs}
    out = Path(out_dir)
    write_json(out / "incremental_rank.json", result)
    plot(result, out / "incremental_rank.png")
    return result


def plot(result: dict, path: Path) -> None:
    plt = pyplot()
    runs = result["runs"]
    fig, axes = plt.subplots(1, len(runs) + 1, figsize=(4.2 * (len(runs) + 1), 3.6))
    for ax, r in zip(axes, runs):
        norms = list(zip(*r["component_norms"]))
        for k, series in enumerate(norms):
            ax.plot(r["iterations"], series, lw=1.2, label=f"#{k + 1}" if k < 6 else None)
        ax.set_title(f"top-10 component norms, init std {r['init_std']:g}")
        ax.set_xlabel("iteration")
    axes[0].legend(fontsize=7)
    ax = axes[-1]
    for r in runs:
        ax.plot(r["iterations"], r["reconstruction_error"], label=f"init std {r['init_std']:g}")
    ax.set_yscale("log")
    ax.set_title("reconstruction error ||W - W*|| / ||W*||")
    ax.set_xlabel("iteration")
    ax.legend(fontsize=8)
    fig.suptitle(f"CP completion, {'x'.join(map(str, result['shape']))}, ground-truth rank "
                 f"{result['ground_truth_rank']}, {result['observed']} observed, R = {result['rank']}")
    save_figure(fig, path)
