"""Natural data is fit by low-rank CP tensors (Razin, Maman & Cohen, ICML 2021), on sklearn's digits.

Each 8x8 digit image is binarised (pixel > 7 of 16) and read as a multi-index of an order-64 tensor
with dims 2 (one-hot per pixel). The target is one-vs-all: 2 for the positive class, 0 otherwise.
A CP factorization of rank R = 1..15 (init std 1e-3 around a mean R^(-1/64): a product of 64 factors
near 1 neither vanishes nor explodes, and the initial output is 1 whatever R; the paper used mean 1) is trained with full-batch Adam on a train split, and the train/test error
(mean squared error / 4, so predicting the class frequency p scores p (1 - p)) is recorded against R
for: the natural data, the same images with randomly permuted labels, and random binary images with
the true labels. Expected: natural data is fit well at low rank; the random variants are not.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..tensor import CPFactorization
from ._io import pyplot, save_figure, write_json

VARIANTS = ("natural", "random labels", "random images")


def load_digits_binary() -> tuple[torch.Tensor, torch.Tensor]:
    """(indices [1797, 64] int64 in {0, 1}, labels [1797] int64) from scikit-learn's bundled copy."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise RuntimeError("natural-data-rank needs scikit-learn for its bundled 8x8 digits "
                           "(pip install scikit-learn; no download is needed)") from None
    digits = load_digits()
    x = torch.as_tensor(digits.data > 7, dtype=torch.int64)
    y = torch.as_tensor(digits.target, dtype=torch.int64)
    return x, y


def config(quick: bool) -> dict:
    if quick:
        return dict(ranks=[1, 2, 4, 8, 15], steps=600, lr=1e-2, positive_classes=[0])
    return dict(ranks=list(range(1, 16)), steps=2000, lr=5e-3, positive_classes=[0, 3, 8])


def fit(x_train, t_train, x_test, t_test, rank: int, steps: int, lr: float, seed: int) -> tuple[float, float]:
    model = CPFactorization((2,) * x_train.shape[1], rank, init_std=1e-3,
                            init_mean=rank ** (-1.0 / x_train.shape[1]),
                            generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = ((model(x_train) - t_train) ** 2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        train_err = float(((model(x_train) - t_train) ** 2).mean()) / 4
        test_err = float(((model(x_test) - t_test) ** 2).mean()) / 4
    return train_err, test_err


def run(out_dir: str | Path = "rankcore_results", quick: bool = False, seed: int = 0) -> dict:
    cfg = config(quick)
    x, y = load_digits_binary()
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(y), generator=gen)
    n_train = 1200
    tr, te = perm[:n_train], perm[n_train:]
    data = {
        "natural": (x, y),
        "random labels": (x, y[torch.randperm(len(y), generator=gen)]),
        "random images": (torch.randint(0, 2, x.shape, generator=gen), y),
    }
    curves = {v: {"train": [], "test": []} for v in VARIANTS}
    baselines = []
    for cls in cfg["positive_classes"]:
        p = float((y[te] == cls).double().mean())
        baselines.append(p * (1 - p))
    for variant in VARIANTS:
        xv, yv = data[variant]
        for rank in cfg["ranks"]:
            tr_errs, te_errs = [], []
            for cls in cfg["positive_classes"]:
                t = 2.0 * (yv == cls).float()
                a, b = fit(xv[tr], t[tr], xv[te], t[te], rank, cfg["steps"], cfg["lr"], seed + rank)
                tr_errs.append(a)
                te_errs.append(b)
            curves[variant]["train"].append(sum(tr_errs) / len(tr_errs))
            curves[variant]["test"].append(sum(te_errs) / len(te_errs))
            print(f"{variant:>14} R={rank:>2}: train {curves[variant]['train'][-1]:.4f} "
                  f"test {curves[variant]['test'][-1]:.4f}", flush=True)
    result = {"experiment": "natural-data-rank", "dataset": "sklearn digits 8x8, binarised (pixel > 7)",
              "order": int(x.shape[1]), "train": n_train, "test": int(len(te)), "quick": quick, "seed": seed,
              **cfg, "variance_baseline_test": sum(baselines) / len(baselines), "curves": curves}
    out = Path(out_dir)
    write_json(out / "natural_data_rank.json", result)
    plot(result, out / "natural_data_rank.png")
    return result


def plot(result: dict, path: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, split in zip(axes, ("train", "test")):
        for variant in VARIANTS:
            ax.plot(result["ranks"], result["curves"][variant][split], marker="o", label=variant)
        ax.axhline(result["variance_baseline_test"], color="gray", ls="--", lw=1, label="predict p (variance)")
        ax.set_xlabel("CP rank R")
        ax.set_yscale("log")
        ax.set_title(f"{split} error (MSE / 4, log scale)")
    axes[0].legend(fontsize=8)
    fig.suptitle("order-64 CP fit of binarised 8x8 digits, one-vs-all")
    save_figure(fig, path)
