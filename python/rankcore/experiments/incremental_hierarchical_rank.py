"""Incremental hierarchical rank learning in HT completion (Razin, Maman & Cohen, ICML 2022).

Order 4, dims 8 (4096 entries), tree ((0, 1), (2, 3)); ground truth: a random HT tensor of widths
(2, 2) (hierarchical rank <= 2 at every node), unit Frobenius norm; 2048 observed entries. An HT
factorization of widths (16, 16) is trained with one global adaptive step from init std 1e-1 and
1e-2 (1e-3 in the full run too). Recorded: the local component norms at the root and at node (0, 1),
the reconstruction error, and the hierarchical effective ranks of the learned tensor. Expected:
local components grow one at a time, and smaller init ends with lower hierarchical rank.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..tensor import CompletionProblem, HTFactorization, all_indices, hierarchical_effective_ranks, train
from ._io import pyplot, save_figure, write_json

SHAPE, OBSERVED, GT_WIDTHS, WIDTHS = (8, 8, 8, 8), 2048, (2, 2), (16, 16)


def config(quick: bool) -> dict:
    if quick:
        return dict(init_stds=(1e-1, 1e-2), lr=1e-2, iterations=1500, log_every=50)
    return dict(init_stds=(1e-1, 1e-2, 1e-3), lr=1e-2, iterations=80000, log_every=200)


def problem(seed: int) -> CompletionProblem:
    gen = torch.Generator().manual_seed(seed)
    gt = HTFactorization(SHAPE, GT_WIDTHS, init_std=1.0, dtype=torch.float64, generator=gen)
    with torch.no_grad():
        target = gt.tensor().float()
    target = target / target.norm()
    flat = torch.randperm(target.numel(), generator=gen)[:OBSERVED]
    return CompletionProblem(target=target, indices=all_indices(SHAPE)[flat], values=target.reshape(-1)[flat])


def run(out_dir: str | Path = "rankcore_results", quick: bool = False, seed: int = 0) -> dict:
    cfg = config(quick)
    prob = problem(seed)
    tree = ((0, 1), (2, 3))
    runs = []
    for std in cfg["init_stds"]:
        model = HTFactorization(SHAPE, WIDTHS, init_std=std, generator=torch.Generator().manual_seed(seed + 1))
        root_norms, node_norms = [], []

        class Tracked(torch.nn.Module):  # train() logs component_norms(): record both levels separately
            def __init__(self):
                super().__init__()
                self.m = model

            def forward(self, idx):
                return self.m(idx)

            def tensor(self):
                return self.m.tensor()

            def component_norms(self):
                norms = self.m.local_component_norms()
                node_norms.append(norms[0][0].sort(descending=True).values[:5].tolist())
                root_norms.append(norms[1][0].sort(descending=True).values[:5].tolist())
                return norms[1][0]

        hist = train(Tracked(), prob, lr=cfg["lr"], max_iterations=cfg["iterations"], log_every=cfg["log_every"],
                     stop_loss=1e-10, top_k=5)
        eff = hierarchical_effective_ranks(model.tensor().detach(), tree)
        runs.append({"init_std": std, "iterations": hist.iterations, "loss": hist.loss,
                     "reconstruction_error": hist.reconstruction_error, "root_component_norms": root_norms,
                     "node01_component_norms": node_norms,
                     "effective_ranks": {str(k): v for k, v in eff.items()}})
        print(f"init std {std:g}: loss {hist.loss[-1]:.3g}, error {hist.reconstruction_error[-1]:.3g}, "
              f"hierarchical effective ranks {[round(v, 2) for v in eff.values()]}", flush=True)
    gt_eff = hierarchical_effective_ranks(prob.target, tree)
    result = {"experiment": "incremental-hierarchical-rank", "shape": SHAPE, "observed": OBSERVED,
              "ground_truth_widths": GT_WIDTHS, "widths": WIDTHS, "quick": quick, "seed": seed, **cfg,
              "ground_truth_effective_ranks": {str(k): v for k, v in gt_eff.items()}, "runs": runs}
    out = Path(out_dir)
    write_json(out / "incremental_hierarchical_rank.json", result)
    plot(result, out / "incremental_hierarchical_rank.png")
    return result


def plot(result: dict, path: Path) -> None:
    plt = pyplot()
    runs = result["runs"]
    fig, axes = plt.subplots(1, len(runs) + 1, figsize=(4.2 * (len(runs) + 1), 3.6))
    for ax, r in zip(axes, runs):
        for k, series in enumerate(zip(*r["root_component_norms"])):
            ax.plot(r["iterations"], series, lw=1.2, label=f"root #{k + 1}")
        for k, series in enumerate(zip(*r["node01_component_norms"])):
            ax.plot(r["iterations"], series, lw=1, ls="--", label=f"node (0,1) #{k + 1}")
        ax.set_title(f"local component norms, init {r['init_std']:g}", fontsize=9)
        ax.set_xlabel("iteration")
    axes[0].legend(fontsize=6)
    ax = axes[-1]
    for r in runs:
        ax.plot(r["iterations"], r["reconstruction_error"], label=f"init {r['init_std']:g}; eff. ranks "
                + ", ".join(f"{v:.1f}" for v in r["effective_ranks"].values()))
    ax.set_yscale("log")
    ax.set_title("reconstruction error", fontsize=9)
    ax.legend(fontsize=6)
    save_figure(fig, path)
