"""The anti-locality regulariser against a CNN's bias toward locality (Razin, Maman & Cohen, ICML 2022; DESIGN 6).

A narrow ResNet-18 (rankcore.cnn.resnet18) is trained from scratch on a long-range task at several ranges, with
loss = BCE + lambda * R for lambda = 0 and two lambda > 0 (R: rankcore.cnn.AntiLocalityRegularizer), two or more
seeds each. Recorded: test accuracy per range (mean and per seed), and the penalty R measured afterwards on
held-out images (eval mode, so each sample's input gradient is exactly its own): R = 1 means the model's
dependence on region I does not change with the content of region J (no interaction); lower R means the two
regions interact.

* ``--task is-same``: Is-Same-Class (rankcore.cnn.data.is_same_class, sklearn digits); range = the horizontal
  gap between the two objects; I and J = the two object slots (which one is I: random per batch).
* ``--task pathfinder``: Pathfinder (rankcore.cnn.data.pathfinder); range = the path length (dashes per target
  snake); I a random square of side ``patch``, J a random square at least ``min_distance`` away.

Configurations (:func:`config`), all SGD with momentum 0.9, batch 64, a fixed number of epochs:

* CPU (default; sized for 2 shared cores and one torch thread per run: :func:`run` sets
  ``torch.set_num_threads(threads)``, default 1, for the run and restores the previous count afterwards; on a
  loaded 2-core machine torch's default thread count made ``--quick`` take 27 minutes instead of 83 s).
  Is-Same: 8 x 72 canvas, the 8 x 8 digits at native size, gaps 0 / 20 / 40 px, 2000 train / 2000 test
  pairs, ResNet-18 width 8 with the small stem (3x3, no down-sampling: the last stage's units see up to
  109 px, so at a 40 px gap the two objects can interact, but only through the tails of the receptive
  fields), 25 epochs at lr 1e-2 (at 15 the regularised runs were still
  underfitted at gap 0 and lost 3-6 points there), lambda 0 / 0.5 / 1 (lambda 3 stopped
  training altogether in a pilot at gap 0: 50% test). Pathfinder: 64 px, path lengths 3 and 9, 20000 train /
  2000 test images with random dihedral augmentation, ResNet-18 width 16 with the ImageNet stem (16 x 16 maps
  in the first stage), 8 epochs, lambda 0 / 0.1 / 1, squares of side 8 at least 16 px apart. The training set
  size is what makes the task learnable at all: with 2000-4000 images the net memorises (100% train, 50% test
  even at length 3); with 20000, lambda = 0 reaches 99% at length 3 by epoch 5 and leaves chance at length 9
  around epoch 6. Pilots with lambda 0.5, 1, 3 and 9 stayed at chance at length 9 for 8 epochs, and 1 also at
  length 3; lambda 0.1 learns length 3 one epoch later than lambda 0 (results/locality_regularizer/).
  ``--jobs 2`` runs two one-thread processes side by side (about 50 minutes for the Pathfinder grid).
* Every configuration records the test accuracy on its first ``curve_images`` test images after each epoch
  (``test_accuracy_curve`` per run; the third panel of the PNG, at the longest range): on these tasks a run
  jumps from chance to its final accuracy within an epoch or two, and when it does is what lambda changes.
* ``--quick``: the same models on 384 training images for 3 epochs (Is-Same: gaps 0 and 40 only); a check
  that everything runs, not a measurement.
* ``--full-scale``: the published sizes (224 px Is-Same canvas with 32 px objects, gaps 0..160; 150 px
  Pathfinder, lengths 3..9, 10k / 10k images; ResNet-18 width 64 with the ImageNet stem; 5000 train / 10000
  test pairs, 150 epochs, lambda 0 / 0.1 / 1 and 0 / 3 / 9); meant for ``--device cuda``. Differences from
  the published runs: the objects are upsampled digits, not CIFAR-10 images; a fixed number of epochs (no
  stop 20 epochs after 100% train accuracy); the Pathfinder square side and distance (10, 40) are our choice;
  BatchNorm statistics are updated once per step over [x; x~] (see rankcore.cnn.regularizer).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from ._io import pyplot, save_figure, write_json

TASKS = ("is-same", "pathfinder")

# How the penalty is computed (``run(penalty=...)``): (estimator, R on batch // k samples); definitions §4.
PENALTIES = {"exact": ("exact", 1), "quarter": ("exact", 4), "eighth": ("exact", 8),
             "fd": ("finite_difference", 1), "fd-quarter": ("finite_difference", 4),
             "fd-eighth": ("finite_difference", 8)}

# The CPU configurations; see the module docstring and README for why these sizes.
CPU = {
    "is-same": dict(canvas=(8, 72), object_size=8, ranges=(0, 20, 40), train_size=2000, test_size=2000,
                    width=8, stem="small", epochs=25, batch=64, lr=1e-2, momentum=0.9, lambdas=(0.0, 0.5, 1.0),
                    seeds=2, r_images=500, curve_images=500),
    "pathfinder": dict(size=64, ranges=(3, 9), train_size=20000, test_size=2000, patch=8, min_distance=16,
                       width=16, stem="imagenet", augment=True, epochs=8, batch=64, lr=1e-2, momentum=0.9,
                       lambdas=(0.0, 0.1, 1.0), seeds=2, r_images=500, curve_images=500),
}
QUICK = {
    "is-same": dict(ranges=(0, 40), train_size=384, test_size=500, epochs=3, r_images=200, curve_images=200),
    "pathfinder": dict(train_size=384, test_size=400, epochs=3, r_images=200, curve_images=200),
}
FULL_SCALE = {
    "is-same": dict(canvas=(224, 224), object_size=32, ranges=(0, 40, 80, 120, 160), train_size=5000,
                    test_size=10000, width=64, stem="imagenet", epochs=150, batch=64, lr=1e-2, momentum=0.9,
                    lambdas=(0.0, 0.1, 1.0), seeds=2, r_images=2000, curve_images=2000),
    "pathfinder": dict(size=150, ranges=(3, 5, 7, 9), train_size=10000, test_size=10000, patch=10,
                       min_distance=40, width=64, stem="imagenet", epochs=150, batch=64, lr=1e-2, momentum=0.9,
                       lambdas=(0.0, 3.0, 9.0), seeds=2, r_images=2000, curve_images=2000),
}


def config(task: str = "is-same", quick: bool = False, full_scale: bool = False) -> dict:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    cfg = dict(FULL_SCALE[task] if full_scale else CPU[task])
    if quick:
        cfg.update(QUICK[task])
    return cfg


def _data(task: str, cfg: dict, value: int, seed: int):
    from ..cnn import data

    if task == "is-same":
        common = dict(canvas=tuple(cfg["canvas"]), distance=value, object_size=cfg["object_size"], seed=seed)
        return (data.is_same_class(cfg["train_size"], split="train", **common),
                data.is_same_class(cfg["test_size"], split="test", **common))
    both = data.pathfinder(cfg["train_size"] + cfg["test_size"], size=cfg["size"], path_length=value, seed=seed,
                           progress=False)
    n = cfg["train_size"]
    return ((both.images[:n], both.labels[:n]), (both.images[n:], both.labels[n:]))


def _arrays(d):
    return (d.images, d.labels) if hasattr(d, "images") else d


def _sampler(task: str, cfg: dict, train_data):
    from ..cnn import DistantSquaresSampler, SlotPairSampler

    if task == "is-same":
        return SlotPairSampler(*train_data.regions)
    return DistantSquaresSampler(cfg["patch"], cfg["min_distance"])


@torch.no_grad()
def _accuracy(model, x, y, device, batch=500) -> float:
    model.eval()
    correct = 0
    for k in range(0, len(x), batch):
        logits = model(x[k:k + batch].to(device)).reshape(-1)
        correct += int(((logits > 0).float() == y[k:k + batch].to(device)).sum())
    return correct / len(x)


def heldout_penalty(model, x, sampler, device, batch=100, seed=0) -> float:
    """Mean R of ``model`` (eval mode) over held-out images ``x``, regions from ``sampler`` (seeded).

    For a slot pair both orders (I = left / right) are averaged; otherwise one draw of (I, J) per batch.
    """
    from ..cnn import SlotPairSampler, anti_locality_penalty

    model.eval()
    gen = torch.Generator().manual_seed(seed)
    values = []
    for k in range(0, len(x) - 1, batch):
        xb = x[k:k + batch].to(device)
        if len(xb) < 2:
            break
        if isinstance(sampler, SlotPairSampler):
            pairs = [(sampler.slot_a, sampler.slot_b), (sampler.slot_b, sampler.slot_a)]
        else:
            pairs = [sampler(xb.shape[2], xb.shape[3], gen)]
        for I, J in pairs:
            r, _ = anti_locality_penalty(model, xb, I, J)
            values.append(float(r.detach()))
    return sum(values) / len(values)


def _regularizer(sampler, penalty: str, batch: int):
    from ..cnn import AntiLocalityRegularizer

    estimator, fraction = PENALTIES[penalty]
    samples = None if fraction == 1 else max(2, batch // fraction)
    return AntiLocalityRegularizer(sampler, samples=samples, estimator=estimator)


def _log(message: str) -> None:
    print(message, flush=True)


def train_one(task: str, cfg: dict, train_data, test_data, lam: float, seed: int, device: str = "cpu",
              log=_log) -> dict:
    """Train one model; returns its test accuracy, train accuracy, held-out R and per-epoch statistics."""
    from ..cnn import resnet18, train_step

    x_tr, y_tr = _arrays(train_data)
    x_te, y_te = _arrays(test_data)
    torch.manual_seed(seed)
    model = resnet18(in_channels=1, num_outputs=1, width=cfg["width"], stem=cfg["stem"]).to(device)
    if cfg.get("optimizer", "sgd") == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    else:
        opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"])
    sampler = _sampler(task, cfg, train_data)
    reg = _regularizer(sampler, cfg.get("penalty", "exact"), cfg["batch"]) if lam > 0 else None
    gen = torch.Generator().manual_seed(seed)
    n, bs = len(x_tr), cfg["batch"]
    # curve_images > 0: test accuracy on that many test images after every epoch (when does a run take off?)
    curve_images = min(int(cfg.get("curve_images", 0)), len(x_te))
    history = {"loss": [], "penalty": []}
    if curve_images > 0:
        history["test_accuracy_curve"] = []
    start = time.time()
    curve_seconds = 0.0  # the learning curve's evaluations, kept out of train_seconds
    for epoch in range(cfg["epochs"]):
        model.train()
        perm = torch.randperm(n, generator=gen)
        losses, pens = [], []
        for k in range(0, n - bs + 1, bs):
            idx = perm[k:k + bs]
            x = x_tr[idx]
            if cfg.get("augment"):  # the label is invariant to the 8 symmetries of the square (Pathfinder)
                r = torch.randint(8, (1,), generator=gen).item()
                x = torch.rot90(x, r % 4, dims=(2, 3))
                x = x.flip(3) if r >= 4 else x
            stats = train_step(model, opt, x.to(device), y_tr[idx].to(device), reg, lam, generator=gen)
            losses.append(stats["task_loss"])
            if stats["penalty"] is not None:
                pens.append(stats["penalty"])
        history["loss"].append(round(sum(losses) / len(losses), 5))
        history["penalty"].append(round(sum(pens) / len(pens), 5) if pens else None)
        if curve_images > 0:
            t0 = time.time()
            history["test_accuracy_curve"].append(_accuracy(model, x_te[:curve_images], y_te[:curve_images],
                                                            device))
            curve_seconds += time.time() - t0
    seconds = time.time() - start - curve_seconds
    test_acc = _accuracy(model, x_te, y_te, device)
    train_acc = _accuracy(model, x_tr, y_tr, device)
    r = heldout_penalty(model, x_te[:cfg["r_images"]], sampler, device, seed=seed)
    log(f"  lambda={lam:g} seed={seed}: train {train_acc:.3f} test {test_acc:.3f} held-out R {r:.3f} "
        f"({seconds:.0f} s)")
    return {"lambda": lam, "seed": seed, "test_accuracy": test_acc, "train_accuracy": train_acc,
            "heldout_penalty": r, "train_seconds": round(seconds, 1), **history}


def _summary(runs: list[dict], ranges, lambdas) -> dict:
    """Per lambda: mean over seeds (and the per-seed values) of test accuracy and held-out R at each range."""
    out = {}
    for lam in lambdas:
        rows = {"test_accuracy": [], "test_accuracy_per_seed": [], "heldout_penalty": [],
                "heldout_penalty_per_seed": [], "train_accuracy": []}
        for value in ranges:
            sel = [r for r in runs if r["lambda"] == lam and r["range"] == value]
            for key in ("test_accuracy", "heldout_penalty"):
                vals = [r[key] for r in sel]
                rows[key].append(sum(vals) / len(vals) if vals else None)
                rows[key + "_per_seed"].append(vals)
            tr = [r["train_accuracy"] for r in sel]
            rows["train_accuracy"].append(sum(tr) / len(tr) if tr else None)
        out[f"{lam:g}"] = rows
    return out


def _targets(summary: dict, lambdas) -> dict:
    """The issue's targets: best lambda > 0 at the longest range >= lambda 0 + 5 points; at the shortest each
    lambda > 0 costs at most 2 points (reported per lambda)."""
    base = summary[f"{lambdas[0]:g}"]["test_accuracy"]
    res = {}
    for lam in lambdas[1:]:
        acc = summary[f"{lam:g}"]["test_accuracy"]
        if None in (base[0], base[-1], acc[0], acc[-1]):
            continue
        res[f"{lam:g}"] = {"gain_at_longest_points": round(100 * (acc[-1] - base[-1]), 2),
                           "cost_at_shortest_points": round(100 * (base[0] - acc[0]), 2),
                           "gain_met": acc[-1] - base[-1] >= 0.05, "cost_met": base[0] - acc[0] <= 0.02}
    return res


def _check_jobs(jobs, device: str) -> int:
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")
    if jobs > 1 and not device.startswith("cpu"):
        raise ValueError("jobs > 1 runs CPU processes side by side; on a GPU use jobs=1")
    return jobs


def _run_in_worker(task: str, cfg: dict, value: int, seed: int, lam: float, device: str, threads: int) -> dict:
    """One (range, seed, lambda) run in a worker process: the data comes from the on-disk cache the parent
    filled, so every worker trains on the same arrays as a sequential run would."""
    torch.set_num_threads(threads)
    train_data, test_data = _data(task, cfg, value, seed)
    return {"range": value, **train_one(task, cfg, train_data, test_data, lam, seed, device,
                                        log=lambda m: _log(f"  [{task} range={value}]{m[1:]}"))}


def _run_parallel(task, cfg, ranges, seeds, lambdas, device, jobs, threads, range_name) -> list[dict]:
    """The runs of :func:`run` in ``jobs`` processes of ``threads`` threads; results in the sequential order.

    The data of every (range, seed) is generated (and cached) here first, so workers never draw it twice.
    Regularised runs are submitted first: they are the long ones, so the processes finish close together.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    for value in ranges:
        for s in seeds:
            _data(task, cfg, value, s)
    work = [(value, s, lam) for value in ranges for s in seeds for lam in lambdas]
    order = sorted(range(len(work)), key=lambda k: work[k][2] == 0)
    print(f"{task}: {len(work)} runs over {range_name} {list(ranges)} in {jobs} processes", flush=True)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {k: pool.submit(_run_in_worker, task, cfg, *work[k], device, threads) for k in order}
        return [futures[k].result() for k in range(len(work))]


def _check_threads(threads) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an int >= 1, got {threads!r}")
    return threads


def _require_plotting() -> None:
    # Fail before hours of training, not at the PNG after them.
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise RuntimeError("the locality-regularizer experiment needs matplotlib: "
                           "pip install 'rankcore[cnn]'") from None


def run(out_dir: str | Path = "rankcore_results", quick: bool = False, seed: int = 0, task: str = "is-same",
        device: str = "cpu", full_scale: bool = False, cfg: dict | None = None, jobs: int = 1,
        threads: int = 1, penalty: str = "exact") -> dict:
    """Train every (range, lambda, seed); write ``locality_regularizer_<task>.json`` / ``.png`` / ``.md``.

    ``seed``: the first seed; the seeds are ``seed, seed + 1, ...`` (``cfg["seeds"]`` of them), each giving the
    data draw and the initialisation, shared by all lambdas. ``cfg`` overrides the configuration (tests).
    ``threads``: torch threads per training process, default 1 (what the CPU configurations are sized for; on a
    loaded 2-core machine torch's default count was 20x slower). ``torch.set_num_threads(threads)`` holds for
    the run and the previous count is restored afterwards, also on an error.
    ``jobs``: CPU processes training side by side, ``threads`` torch threads each (``rankcore experiment ...
    --jobs 2`` on a 2-core machine halves the wall time); the results equal a sequential run's.
    ``penalty``: how R and its gradient are computed in training, one of :data:`PENALTIES`: ``"exact"`` (the
    definition: the whole batch, double backward), ``"quarter"`` / ``"eighth"`` (exact on a random B // 4 or
    B // 8 of the batch), ``"fd"``, ``"fd-quarter"``, ``"fd-eighth"`` (the same with the finite-difference
    gradient). Recorded as ``config["penalty"]``; held-out R is always the exact value.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    jobs = _check_jobs(jobs, device)
    threads = _check_threads(threads)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("--device cuda: torch.cuda.is_available() is False on this machine")
    _require_plotting()
    cfg = {**config(task, quick, full_scale), "penalty": penalty, **(cfg or {})}
    if not isinstance(cfg["penalty"], str) or cfg["penalty"] not in PENALTIES:
        raise ValueError(f"penalty must be one of {tuple(PENALTIES)}, got {cfg['penalty']!r}")
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _run(out_dir, quick, seed, task, device, full_scale, cfg, jobs, threads)
    finally:
        torch.set_num_threads(previous_threads)


def _run(out_dir, quick, seed, task, device, full_scale, cfg, jobs, threads) -> dict:
    ranges, lambdas = list(cfg["ranges"]), [float(v) for v in cfg["lambdas"]]
    seeds = [seed + k for k in range(cfg["seeds"])]
    range_name = "distance" if task == "is-same" else "path_length"
    print(f"{task}: torch.set_num_threads({threads}) in every training process (the configurations are sized "
          f"for one thread each)", flush=True)
    start = time.time()
    if jobs == 1:
        runs = []
        for value in ranges:
            for s in seeds:
                train_data, test_data = _data(task, cfg, value, s)
                print(f"{task} {range_name}={value} seed={s}", flush=True)
                for lam in lambdas:
                    r = train_one(task, cfg, train_data, test_data, lam, s, device)
                    runs.append({"range": value, **r})
    else:
        runs = _run_parallel(task, cfg, ranges, seeds, lambdas, device, jobs, threads, range_name)
    summary = _summary(runs, ranges, lambdas)
    result = {"experiment": "locality-regularizer", "task": task, "range_name": range_name, "quick": quick,
              "full_scale": full_scale, "device": device, "jobs": jobs, "torch_threads": threads,
              "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
              "ranges": ranges, "lambdas": lambdas, "seeds": seeds, "summary": summary,
              "targets": _targets(summary, lambdas), "wall_seconds": round(time.time() - start, 1), "runs": runs}
    out = Path(out_dir)
    stem = f"locality_regularizer_{task.replace('-', '_')}"
    write_json(out / f"{stem}.json", result)
    (out / f"{stem}.md").write_text(markdown(result))
    plot(result, out / f"{stem}.png")
    return result


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def markdown(result: dict) -> str:
    """The result as a markdown table: test accuracy (%) and held-out R per lambda and range."""
    name = "distance (px)" if result["task"] == "is-same" else "path length"
    ranges, cfg = result["ranges"], result["config"]
    head = "| lambda | " + " | ".join(f"{name} {v}" for v in ranges) + " |"
    sep = "|---" * (len(ranges) + 1) + "|"
    lines = [f"# Anti-locality regulariser: {result['task']}" + (" (quick)" if result["quick"] else ""), "",
             "Config: " + ", ".join(f"{k}={v}" for k, v in cfg.items()) + f"; device {result['device']}, "
             f"{result['torch_threads']} torch threads"
             + (f" x {result['jobs']} processes" if result.get("jobs", 1) > 1 else "")
             + f"; seeds {result['seeds']}; wall time {result['wall_seconds'] / 60:.1f} min.", "",
             "Test accuracy (%), mean over seeds (per seed in brackets):", "", head, sep]
    for lam, rows in result["summary"].items():
        cells = [f"{_pct(m)} ({', '.join(_pct(v) for v in per)})"
                 for m, per in zip(rows["test_accuracy"], rows["test_accuracy_per_seed"])]
        lines.append(f"| {lam} | " + " | ".join(cells) + " |")
    lines += ["", "Held-out penalty R (eval mode, test images; 1 = no interaction between I and J), mean over seeds:",
              "", head, sep]
    for lam, rows in result["summary"].items():
        lines.append(f"| {lam} | " + " | ".join("-" if v is None else f"{v:.3f}" for v in rows["heldout_penalty"])
                     + " |")
    lines += ["", "Train accuracy (%), mean over seeds:", "", head, sep]
    for lam, rows in result["summary"].items():
        lines.append(f"| {lam} | " + " | ".join(_pct(v) for v in rows["train_accuracy"]) + " |")
    lines += ["", "Targets (longest range: lambda > 0 at least 5 points above lambda 0; shortest: at most 2 points "
              "below):", ""]
    for lam, t in result["targets"].items():
        lines.append(f"* lambda {lam}: {t['gain_at_longest_points']:+.1f} points at the longest "
                     f"({'met' if t['gain_met'] else 'NOT met'}), {-t['cost_at_shortest_points']:+.1f} at the "
                     f"shortest ({'met' if t['cost_met'] else 'NOT met'})")
    if result.get("note"):
        lines += ["", result["note"]]
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    plt = pyplot()
    ranges = result["ranges"]
    curves = [r for r in result["runs"] if r.get("test_accuracy_curve") and r["range"] == ranges[-1]]
    fig, axes = plt.subplots(1, 3 if curves else 2, figsize=(15 if curves else 10, 4.2))
    for k, (lam, rows) in enumerate(result["summary"].items()):
        color = f"C{k}"
        acc = [None if v is None else 100 * v for v in rows["test_accuracy"]]
        axes[0].plot(ranges, acc, "o-", color=color, label=f"lambda = {lam}")
        for value, per in zip(ranges, rows["test_accuracy_per_seed"]):
            axes[0].scatter([value] * len(per), [100 * v for v in per], color=color, alpha=0.35, s=14)
        axes[1].plot(ranges, rows["heldout_penalty"], "o-", color=color, label=f"lambda = {lam}")
        for value, per in zip(ranges, rows["heldout_penalty_per_seed"]):
            axes[1].scatter([value] * len(per), per, color=color, alpha=0.35, s=14)
    xlabel = "distance between the objects (px)" if result["task"] == "is-same" else "path length (dashes)"
    axes[0].axhline(50, color="gray", lw=0.8, ls=":")
    axes[0].set(xlabel=xlabel, ylabel="test accuracy (%)", title=f"{result['task']}: test accuracy")
    axes[1].set(xlabel=xlabel, ylabel="R on held-out images", ylim=(0, 1.05),
                title="held-out penalty R (1 = I and J do not interact)")
    for ax in axes[:2]:
        ax.set_xticks(ranges)
        ax.legend(fontsize=8)
    if curves:  # learning curves at the longest range: mean over seeds per lambda, seeds faint
        for k, lam in enumerate(result["summary"]):
            sel = [r["test_accuracy_curve"] for r in curves if f"{r['lambda']:g}" == lam]
            if not sel:
                continue
            epochs = range(1, min(len(c) for c in sel) + 1)
            mean = [100 * sum(c[e - 1] for c in sel) / len(sel) for e in epochs]
            axes[2].plot(list(epochs), mean, "o-", color=f"C{k}", label=f"lambda = {lam}")
            for c in sel:
                axes[2].plot(list(epochs), [100 * v for v in c[:len(epochs)]], color=f"C{k}", alpha=0.3, lw=0.8)
        axes[2].axhline(50, color="gray", lw=0.8, ls=":")
        axes[2].xaxis.get_major_locator().set_params(integer=True)
        name = "distance" if result["task"] == "is-same" else "path length"
        axes[2].set(xlabel="epoch", ylabel="test accuracy (%)", title=f"learning curves at {name} {ranges[-1]}")
        axes[2].legend(fontsize=8)
    save_figure(fig, path)
