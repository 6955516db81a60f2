"""Where does WIS beat random edge removal? The gain of 1-WIS over random against homophily, on contextual
stochastic block models (:func:`rankcore.datasets.csbm`).

For each edge homophily h the graph has the same expected average degree ``degree`` and ``classes`` classes:
a vertex expects h * degree neighbours in its class and (1 - h) * degree outside it, i.e.
p_in = classes * h * degree / n and p_out = classes * (1 - h) * degree / ((classes - 1) * n). The features
carry ``feature_signal`` (class means of that norm plus standard Gaussian noise), so a GNN gets information
from both. At every h the sparsification harness (:mod:`rankcore.experiments.sparsification`) trains a GCN
on ``seeds`` random 80/10/10 splits for each method and removal ratio; the reported number is the gain of
each method over random, paired by split (same split and initialisation), mean and 95% t-interval.

    rankcore experiment sparsification-homophily [--quick] [--jobs N] [--out DIR]
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

from . import sparsification as harness
from ._io import pyplot, save_figure, write_json


def config(quick: bool) -> dict:
    if quick:
        return dict(n=600, homophily=(0.2, 0.5, 0.8), ratios=(0.7,), seeds=2, epochs=30,
                    methods=("random", "wis", "degree"))
    return dict(n=2500, homophily=(0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 0.95), ratios=(0.5, 0.7, 0.9), seeds=10,
                epochs=200, methods=("random", "wis", "wis:3", "local_degree", "degree", "k_neighbor"))


def block_probabilities(n: int, classes: int, degree: float, homophily: float) -> tuple[float, float]:
    """(p_in, p_out) giving expected degree ``degree`` of which a fraction ``homophily`` within the class."""
    p_in = classes * homophily * degree / n
    p_out = classes * (1.0 - homophily) * degree / ((classes - 1) * n)
    return min(p_in, 1.0), min(p_out, 1.0)


def run(out_dir="rankcore_results", quick: bool = False, seed: int = 0, jobs: int = 1, *, classes: int = 5,
        degree: float = 5.0, feature_signal: float = 1.0, threads: int = 1) -> dict:
    """Writes ``sparsification_homophily.json`` / ``.md`` / ``.png`` into ``out_dir``; ``seed`` picks the
    graphs (one csbm per homophily level), the splits are seeds 0..seeds-1 of the harness."""
    from .. import datasets

    cfg = config(quick)
    out_dir = Path(out_dir)
    t_start = time.perf_counter()
    levels = []
    for h in cfg["homophily"]:
        p_in, p_out = block_probabilities(cfg["n"], classes, degree, h)
        g = datasets.csbm(cfg["n"], classes, p_in, p_out, feature_signal, seed)
        data = SimpleNamespace(x=g["x"], y=g["y"], edge_index=g["edge_index"], num_nodes=g["num_nodes"],
                               name=f"csbm h={h}")
        res = harness.run(f"csbm_h{h}", list(cfg["methods"]), list(cfg["ratios"]), ["gcn"], cfg["seeds"],
                          data=data, out_dir=out_dir / "sparsification_homophily_runs", epochs=cfg["epochs"],
                          threads=threads, jobs=jobs, plot=False, name=f"csbm_h{h:.2f}")
        gains = harness.gains_over(res, "random", cfg["ratios"])["gcn"]
        levels.append({"homophily_target": h, "homophily_measured": g["homophily"], "p_in": p_in, "p_out": p_out,
                       "undirected_edges": res["undirected_edges"], "accuracy": res["results"]["gcn"],
                       "gain_over_random": gains})
    out = {"experiment": "sparsification-homophily", "quick": quick, "graph_seed": seed, "classes": classes,
           "n": cfg["n"], "degree": degree, "feature_signal": feature_signal, "ratios": list(cfg["ratios"]),
           "methods": list(cfg["methods"]), "seeds": cfg["seeds"], "epochs": cfg["epochs"], "model": "gcn",
           "levels": levels, "total_seconds": time.perf_counter() - t_start,
           "statistics": "gain = method minus random test accuracy on the same split and initialisation, mean "
                         "and 95% t-interval over the splits"}
    write_json(out_dir / "sparsification_homophily.json", out)
    table = format_table(out)
    (out_dir / "sparsification_homophily.md").write_text(table + "\n")
    out["table"] = table
    plot(out, out_dir / "sparsification_homophily.png")
    return out


def format_table(out: dict) -> str:
    lines = [f"Gain over random edge removal (test accuracy points, GCN, paired by split; mean ± 95% CI over "
             f"{out['seeds']} splits), csbm n={out['n']}, {out['classes']} classes, average degree {out['degree']}, "
             f"feature signal {out['feature_signal']}" + (" — QUICK smoke run, not evidence" if out["quick"] else ""),
             ""]
    specs = [s for s in out["methods"] if s != "random"]
    header = "| homophily | " + " | ".join(f"{s} @ {r:.0%}" for s in specs for r in out["ratios"]) + " |"
    lines += [header, "|---:|" + "---:|" * (len(specs) * len(out["ratios"]))]
    for level in out["levels"]:
        cells = []
        for s in specs:
            for r in out["ratios"]:
                g = level["gain_over_random"][s][f"{r:.2f}"]
                ci = "" if g["ci95"] != g["ci95"] else f" ± {100 * g['ci95']:.1f}"
                cells.append(f"{100 * g['mean']:+.1f}{ci}")
        lines.append(f"| {level['homophily_measured']:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(out: dict, path: Path) -> None:
    plt = pyplot()
    ratios = out["ratios"]
    fig, axes = plt.subplots(1, len(ratios), figsize=(5 * len(ratios), 3.8), squeeze=False)
    hs = [level["homophily_measured"] for level in out["levels"]]
    for ax, r in zip(axes[0], ratios):
        for spec in [s for s in out["methods"] if s != "random"]:
            gains = [level["gain_over_random"][spec][f"{r:.2f}"] for level in out["levels"]]
            mean = [100 * g["mean"] for g in gains]
            err = [0.0 if g["ci95"] != g["ci95"] else 100 * g["ci95"] for g in gains]
            ax.errorbar(hs, mean, yerr=err, marker="o", capsize=3, label=spec)
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_xlabel("edge homophily")
        ax.set_ylabel("gain over random (points), 95% CI")
        ax.set_title(f"{r:.0%} of edges removed")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"csbm, GCN, {out['seeds']} splits" + (" (quick smoke run)" if out["quick"] else ""))
    save_figure(fig, path)

