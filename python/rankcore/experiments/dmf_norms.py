"""Deep matrix factorization can drive every norm to infinity while minimising rank (Razin & Cohen 2020).

The 2x2 completion problem: w12 = 1, w21 = 1, w22 = 0 observed, w11 not; every solution has det = -1.
Balanced init (init_std times random orthogonal layers) with det W > 0, depth 2 and 3, full-batch
gradient descent on 1/2 SSE. Gradient flow keeps sign(det W), so the loss can fall only as |w11|
and every norm grow while sigma_min / sigma_max -> 0.

Fixed-step GD only approximates the flow: it drifts off the balanced manifold (|det W_1| = |det W_2|
for depth 2 under the flow), and once sigma_min is tiny a step can move one layer's determinant
across 0 — depth 2 at lr 3e-3 does so at loss ~0.046 (iteration 4228), then converges to a finite
det = -1 solution; lr 1e-3 only delays it to loss ~0.040. The run records that step
(``det_crossed_at``). det W is taken from the layers (sign and log |det| of each W_j): the
product's own det is rounding noise once sigma_min / sigma_max < 1e-16, which depth 2 reaches
before the crossing. A step-size control that rejects steps flipping a layer's sign does not help:
the drift makes the step size collapse to 0 at the same iteration.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from ..tensor.dmf import DeepMatrixFactorization, MatrixCompletion, matrix_norms, positive_determinant_
from ._io import pyplot, write_json


def config(quick: bool) -> dict:
    return dict(init_std=0.1, lr=3e-3, iterations=8000 if quick else 150_000, log_every=100 if quick else 500,
                stop_loss=1e-4)


def end_to_end_det(model) -> float:
    """det W = prod_j det W_j, from the layers' sign and log |det| (the product's own det is rounding
    noise once sigma_min / sigma_max < 1e-16, which the depth-2 run reaches at loss ~ 0.05)."""
    sign, logabs = 1.0, 0.0
    for w in model.layers:
        s, l = torch.linalg.slogdet(w.detach())
        sign, logabs = sign * float(s), logabs + float(l)
    # copysign keeps the sign when exp underflows (a negative det far below 1e-308 stays -0.0)
    return math.copysign(math.exp(logabs), sign) if sign != 0 else 0.0


def run_depth(depth: int, cfg: dict, seed: int) -> dict:
    model = positive_determinant_(DeepMatrixFactorization((2, 2), depth, cfg["init_std"], init="balanced",
                                                          generator=torch.Generator().manual_seed(seed)))
    problem = MatrixCompletion.counterexample()
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"])
    rec = {k: [] for k in ("iterations", "loss", "w11", "frobenius", "nuclear", "spectral", "sigma_ratio", "det")}
    crossed = None
    for it in range(cfg["iterations"] + 1):
        opt.zero_grad(set_to_none=True)
        loss = problem.loss(model)
        w = model.matrix().detach()
        det = end_to_end_det(model)
        if crossed is None and math.copysign(1.0, det) < 0:
            crossed = it
        done = float(loss.detach()) < cfg["stop_loss"]
        if it % cfg["log_every"] == 0 or done or it == cfg["iterations"]:
            rec["iterations"].append(it)
            rec["loss"].append(float(loss.detach()))
            rec["w11"].append(float(w[0, 0]))
            rec["det"].append(det)
            for k, v in matrix_norms(w).items():
                rec[k].append(v)
        if done or it == cfg["iterations"]:
            break
        loss.backward()
        opt.step()
    return {"depth": depth, **rec, "det_crossed_at": crossed}


def run(out_dir: str | Path = "experiments_out", quick: bool = False, seed: int = 0) -> dict:
    cfg = config(quick)
    runs = []
    for depth in (2, 3):
        r = run_depth(depth, cfg, seed)
        runs.append(r)
        print(f"depth {depth}: loss {r['loss'][0]:.3g} -> {r['loss'][-1]:.3g}, |w11| {abs(r['w11'][-1]):.3g}, "
              f"Frobenius {r['frobenius'][0]:.3g} -> {r['frobenius'][-1]:.3g}, sigma_min/sigma_max "
              f"{r['sigma_ratio'][-1]:.3g}, det crossed 0 at {r['det_crossed_at']}", flush=True)
    result = {"experiment": "dmf-norms", "quick": quick, "seed": seed, **cfg, "runs": runs}
    out = Path(out_dir)
    write_json(out / "dmf_norms.json", result)
    plot(result, out / "dmf_norms.png")
    return result


def plot(result: dict, path: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for r in result["runs"]:
        d = r["depth"]
        axes[0].plot(r["loss"], [abs(x) for x in r["w11"]], label=f"|w11|, depth {d}")
        for k in ("frobenius", "nuclear", "spectral"):
            axes[1].plot(r["loss"], r[k], label=f"{k}, depth {d}", lw=1)
        line, = axes[2].plot(r["iterations"], r["sigma_ratio"], label=f"depth {d}")
        if r.get("det_crossed_at") is not None:  # GD (not the flow) stepped across det W = 0 here
            axes[2].axvline(r["det_crossed_at"], ls=":", color=line.get_color(),
                            label=f"depth {d}: a GD step crossed det W = 0")
    for ax in axes[:2]:
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.set_xlabel("loss (decreasing ->)")
        ax.legend(fontsize=7)
    axes[0].set_title("unobserved entry")
    axes[1].set_title("norms")
    axes[2].set_yscale("log")
    axes[2].set_title("sigma_min / sigma_max")
    axes[2].set_xlabel("iteration")
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
