"""Implicit bias toward locality of HT factorization (Razin, Maman & Cohen, ICML 2022).

Order 8, dims 3 (6561 entries); the model pools adjacent modes (tree ((0,1),(2,3)),((4,5),(6,7))).
Two ground truths with the same structure, a sum of 2 products of random pair functions: "near"
pairs adjacent modes (0,1),(2,3),..., "far" pairs distant ones (0,4),(1,5),... 2000 observed entries,
widths 8, init std 1e-1, one global adaptive step. (the definitions' 1e-3 .. 1e-2 follows the papers' HT runs
on orders 3-4; this tree has three levels of products, and at 1e-2 the near run stayed on its rank-1
plateau for 45k iterations at lr 1e-2 and 3e-2: test error 0.52, near-group effective ranks 1.0 vs 1.9
in the target.)
Recorded: test error on the unobserved entries and the effective ranks of the learned tensor's matricizations for near mode groups (tree nodes
{0,1}, {0,1,2,3}) and far groups ({0,4}, {0,2,4,6}). Expected: the learned tensors have low rank at
near groups (the hierarchical rank of the tree) — the near target is recovered, the far one is not.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..tensor import CompletionProblem, HTFactorization, all_indices, effective_rank, matricize, train
from ._io import pyplot, save_figure, write_json

ORDER, DIM, OBSERVED, WIDTHS = 8, 3, 2000, 8
PAIRS = {"near": [(0, 1), (2, 3), (4, 5), (6, 7)], "far": [(0, 4), (1, 5), (2, 6), (3, 7)]}
GROUPS = {"near {0,1}": (0, 1), "near {0,1,2,3}": (0, 1, 2, 3), "far {0,4}": (0, 4), "far {0,2,4,6}": (0, 2, 4, 6)}


def config(quick: bool) -> dict:
    return dict(init_std=1e-1, lr=1e-2, iterations=1500 if quick else 15000, log_every=100)


def target(kind: str, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    shape = (DIM,) * ORDER
    total = torch.zeros(shape, dtype=torch.float64)
    for _ in range(2):
        term = torch.ones(shape, dtype=torch.float64)
        for a, b in PAIRS[kind]:
            f = torch.randn(DIM, DIM, generator=gen, dtype=torch.float64)
            view = [1] * ORDER
            view[a], view[b] = DIM, DIM
            term = term * f.reshape(view)
        total += term
    return (total / total.norm()).float()


def run(out_dir: str | Path = "rankcore_results", quick: bool = False, seed: int = 0) -> dict:
    cfg = config(quick)
    shape = (DIM,) * ORDER
    flat = torch.randperm(DIM ** ORDER, generator=torch.Generator().manual_seed(seed))[:OBSERVED]
    unobserved = torch.ones(DIM ** ORDER, dtype=torch.bool)
    unobserved[flat] = False
    runs = []
    for kind in ("near", "far"):
        t = target(kind, seed)
        prob = CompletionProblem(target=t, indices=all_indices(shape)[flat], values=t.reshape(-1)[flat])
        model = HTFactorization(shape, WIDTHS, init_std=cfg["init_std"], generator=torch.Generator().manual_seed(seed))
        hist = train(model, prob, lr=cfg["lr"], max_iterations=cfg["iterations"], log_every=cfg["log_every"],
                     stop_loss=1e-10)
        w = model.tensor().detach()
        test = float((w.reshape(-1) - t.reshape(-1))[unobserved].norm() / t.reshape(-1)[unobserved].norm())
        ranks = {g: effective_rank(matricize(w, modes)) for g, modes in GROUPS.items()}
        target_ranks = {g: effective_rank(matricize(t, modes)) for g, modes in GROUPS.items()}
        runs.append({"target": kind, "iterations": hist.iterations, "loss": hist.loss, "test_error": test,
                     "learned_effective_ranks": ranks, "target_effective_ranks": target_ranks})
        print(f"{kind} target: train loss {hist.loss[-1]:.3g}, test error {test:.3f}, learned effective ranks "
              f"{ {g: round(v, 2) for g, v in ranks.items()} }", flush=True)
    result = {"experiment": "locality", "order": ORDER, "dim": DIM, "observed": OBSERVED, "widths": WIDTHS,
              "quick": quick, "seed": seed, **cfg, "runs": runs}
    out = Path(out_dir)
    write_json(out / "locality.json", result)
    plot(result, out / "locality.png")
    return result


def plot(result: dict, path: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
    groups = list(GROUPS)
    for k, r in enumerate(result["runs"]):
        x = [i + 0.4 * k for i in range(len(groups))]
        axes[0].bar(x, [r["learned_effective_ranks"][g] for g in groups], width=0.4,
                           label=f"learned, {r['target']} target (test error {r['test_error']:.2f})")
        axes[0].scatter(x, [r["target_effective_ranks"][g] for g in groups], marker="_", s=250, linewidths=2,
                        color="black" if k == 0 else "red", zorder=3,
                        label=f"the {r['target']} target itself")
        axes[1].plot(r["iterations"], r["loss"], label=f"{r['target']} target")
    axes[0].set_xticks([i + 0.2 for i in range(len(groups))], groups, fontsize=7)
    axes[0].set_yscale("log")
    axes[0].set_title("effective rank of the matricization (bars: learned, dashes: target)", fontsize=9)
    axes[0].legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    axes[1].set_yscale("log")
    axes[1].set_title("train loss", fontsize=9)
    axes[1].set_xlabel("iteration")
    axes[1].legend(fontsize=7)
    save_figure(fig, path)
