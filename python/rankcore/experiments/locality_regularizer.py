"""The anti-locality regulariser against a CNN's bias toward locality (Razin, Maman & Cohen, ICML 2022; DESIGN 6).

A narrow ResNet-18 (rankcore.cnn.resnet18) is trained from scratch on a long-range task at several ranges, with
loss = BCE + lambda * R for lambda = 0 and two lambda > 0 (R: rankcore.cnn.AntiLocalityRegularizer), several
seeds each (a seed fixes the data draw and the initialisation, shared by every lambda: the comparisons are
paired by seed). Recorded per run: validation accuracy after every epoch, the test accuracy of the selected
parameters, their train accuracy (a run that memorised after its best validation epoch shows a low one), and the
penalty R measured afterwards on held-out (test) images in eval mode (each sample's input gradient is then exactly
its own): R = 1 means the model's dependence on region I does not change
with the content of region J (no interaction); lower R means the two regions interact.

* ``--task is-same``: Is-Same-Class (rankcore.cnn.data.is_same_class, sklearn digits); range = the horizontal
  gap between the two objects; I and J = the two object slots (which one is I: random per batch). Train,
  validation and test pairs use disjoint digit images (a fixed 45/15/40 split of the 1797 digits).
* ``--task pathfinder``: Pathfinder (rankcore.cnn.data.pathfinder); range = the path length (dashes per target
  snake); I a random square of side ``patch``, J a random square at least ``min_distance`` away. One seeded
  draw of ``train_size + val_size + test_size`` images, split in that order (distinct images, each drawn from
  its own seeded stream).

Protocol (issue 24; everything that is chosen is chosen on validation, the test set is read once per reported
model, after all training):

* **Training to convergence.** After every epoch the validation accuracy is measured. A run stops at the first
  epoch ``e >= min_epochs`` at which the best validation accuracy is ``patience`` epochs old (no strictly higher
  value since), or at ``max_epochs``; the parameters (and BatchNorm buffers) of the best validation epoch (the
  earliest, on ties) are restored and evaluated on the test set: accuracy and held-out R, once.
  ``min_epochs`` is there because these runs sit at chance for many epochs before they take off (issue 24:
  lambda 0 left chance at epochs 15-17 at a 40 px gap); a stop during that plateau would compare an untrained
  baseline. Erring long favours lambda = 0, not the regulariser.
* **Validation-chosen lambda.** For each (range, seed): the lambda > 0 whose run has the highest best-epoch
  validation accuracy (the smaller lambda on ties). Its test accuracy is compared with lambda = 0's.
* **Equal compute.** A regularised step costs ``step_cost`` plain steps, a fixed number per penalty and task
  (:data:`STEP_COST`: the medians measured by bench/bench_cnn.py on the CPU configurations, docs/definitions.md
  §4; fixed, so the budget does not depend on the machine's load; ``cfg["step_cost"]`` overrides it, and each
  run records its measured seconds per step beside it). A regularised run that trained E epochs spent
  ``step_cost * E`` plain epochs' worth of compute; "lambda 0 at equal compute" is the lambda = 0 run trained for
  ``max(1, floor(step_cost * E))`` epochs with no early stop, keeping its best validation epoch among them. It is
  the same trajectory as the converged lambda = 0 run (same seed, data order and initialisation), so one lambda
  = 0 run per (range, seed) is trained as long as the longest of these budgets needs and snapshots the best
  validation parameters at each budget; every snapshot is one reported model and reads the test set once.
  ``cfg["equal_compute"] = False`` skips this.
* **Statistics.** Per cell: mean, sample standard deviation and a 95% Student t interval over seeds. Gains
  (validation-chosen lambda, or each fixed lambda, minus lambda = 0; at convergence and at equal compute) are
  paired by seed: the same statistics on the per-seed differences, and the two-sided paired t-test p-value.
* **Verdicts** (full runs only, never under ``--quick``, and only with >= 5 seeds): a target is met when the
  95% CI of the paired gain at the longest range has its lower bound at or above the target (+5 points on
  Is-Same; +10 on Pathfinder, where in addition lambda 0's 95% CI at the longest range must lie at or below
  60%), and at the shortest range when the CI's lower bound is at or above -2 points (a cost of at most 2). A
  run over one range judges neither (its one range is both the shortest and the longest).

Configurations (:func:`config`), all SGD with momentum 0.9, batch 64:

* CPU (default; sized for 2 shared cores and one torch thread per run: :func:`run` sets
  ``torch.set_num_threads(threads)``, default 1, for the run and restores the previous count afterwards; on a
  loaded 2-core machine torch's default thread count made ``--quick`` take 27 minutes instead of 83 s).
  Is-Same: 8 x 104 canvas, the 8 x 8 digits at native size, gaps 0 and 56 px, 2000 train / 1000 validation /
  2000 test pairs, ResNet-18 width 8 with the small stem (3x3, no down-sampling: a last-stage unit sees 109
  columns, so at a 56 px gap, 72 px from the outer edge of one object to the other, one unit can see both), lr
  1e-2, 30..60 epochs with patience 10, lambda 0 / 0.03 / 0.1, 5 seeds. Why (issue 24 item 4,
  results/locality_regularizer/is_same_pilots.md): at gaps 56, 64 and 80 lambda 0 stays at chance after 60
  epochs (validation <= 54%, test 49-51%) while it fits the training set to 77-84%, and its held-out R is
  0.9996-1.0000: it does not make the two objects interact. At 48 px it learns slowly (72% test after 60 epochs,
  R 0.71), at 40 px on the earlier 8 x 72 canvas 78.5% after 40 epochs. Lambda 0.3 and 1 (penalty eighth) kept
  the 48 px task at chance; 0.1 did not. The cap of 60 epochs is set by the time of a 5-seed run on one core.
  The committed Is-Same result is ``run(penalty="eighth", penalty_form="angle", cfg={"lambdas": (0.0, 0.3, 1.0)})``
  (``rankcore experiment locality-regularizer --penalty eighth --penalty-form angle --lambdas 0 0.3 1``):
  the angle form's pilots (the same file) chose lambda 0.3 and 1; docs/cnn.md has both forms' runs.
  Pathfinder: 64 px, path lengths 3 and 9, 20000 train / 2000 validation / 2000 test images with random
  dihedral augmentation, ResNet-18 width 16 with the ImageNet stem
  (16 x 16 maps in the first stage), 10..30 epochs with patience 5, lambda 0 / 0.1 / 1, squares of side 8 at
  least 16 px apart, 5 seeds. The training set size is what makes the task learnable at all: with 2000-4000
  images the net memorises (100% train, 50% test even at length 3); with 20000, lambda = 0 reaches 99% at
  length 3 by epoch 5 and leaves chance at length 9 around epoch 6 (results/locality_regularizer/). A full run
  takes hours (Pathfinder with the exact penalty: about 80 s per regularised epoch); ``--jobs 2`` runs two
  one-thread processes side by side, ``--penalty eighth`` makes a regularised step 1.7-2x a plain one.
* ``--quick``: a smoke run, not a measurement: the same models on 384 training / 200 validation images, 2..4
  epochs with patience 1, two seeds. It says so in its output and prints no verdicts.
* ``--full-scale``: the published sizes (224 px Is-Same canvas with 32 px objects, gaps 0..160; 150 px
  Pathfinder, lengths 3..9; ResNet-18 width 64 with the ImageNet stem; 5000 train / 2000 validation / 10000
  test pairs, or 10k / 2k / 10k images; 20..150 epochs with patience 20, lambda 0 / 0.1 / 1 and 0 / 3 / 9);
  meant for ``--device cuda``. Differences from the published runs: the objects are upsampled digits, not
  CIFAR-10 images; early stopping on a validation split (the paper stops 20 epochs after 100% train accuracy);
  the Pathfinder square side and distance (10, 40) are our choice; BatchNorm statistics are updated once per
  step over [x; x~] (see rankcore.cnn.regularizer); the step costs of :data:`STEP_COST` are CPU measurements.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch

from ._io import pyplot, save_figure, write_json
from ._stats import t_quantile_975

TASKS = ("is-same", "pathfinder")

# How the penalty is computed (``run(penalty=...)``): (estimator, R on batch // k samples, R on one training step in
# `every`, weighted every * lambda: lazy regularisation); definitions §4.
PENALTIES = {"exact": ("exact", 1, 1), "quarter": ("exact", 4, 1), "eighth": ("exact", 8, 1),
             "fd": ("finite_difference", 1, 1), "fd-quarter": ("finite_difference", 4, 1),
             "fd-eighth": ("finite_difference", 8, 1), "eighth-every2": ("exact", 8, 2)}

# Which R is trained on (``run(penalty_form=...)``): the published mean |cos|, or rankcore's angle variant.
PENALTY_FORMS = ("cosine", "angle")

# A regularised step in plain steps, per task and penalty: the middle of the medians measured by
# bench/bench_cnn.py (CPU, one thread, batch 64, the CPU configurations; docs/definitions.md §4). Fixed numbers,
# so that "lambda 0 at equal compute" is reproducible; cfg["step_cost"] overrides them.
STEP_COST = {
    "is-same": {"exact": 5.6, "quarter": 2.55, "eighth": 1.95, "fd": 4.65, "fd-quarter": 2.4, "fd-eighth": 1.85},
    "pathfinder": {"exact": 5.15, "quarter": 2.25, "eighth": 1.7, "fd": 4.5, "fd-quarter": 2.15, "fd-eighth": 1.65},
}
# A lazy penalty's step, averaged over training: one `eighth` step and one plain step per two steps.
for _costs in STEP_COST.values():
    _costs["eighth-every2"] = (1 + _costs["eighth"]) / 2

# The targets, in accuracy (fractions): judged only in full runs with at least MIN_SEEDS seeds.
MIN_SEEDS = 5
TARGETS = {"is-same": {"gain": 0.05, "cost": 0.02, "baseline_at_most": None},
           "pathfinder": {"gain": 0.10, "cost": 0.02, "baseline_at_most": 0.60}}

# The CPU configurations; see the module docstring and README for why these sizes.
CPU = {
    "is-same": dict(canvas=(8, 104), object_size=8, ranges=(0, 56), train_size=2000, val_size=1000,
                    test_size=2000, width=8, stem="small", min_epochs=30, max_epochs=60, patience=10, batch=64,
                    lr=1e-2, momentum=0.9, lambdas=(0.0, 0.03, 0.1), seeds=5, r_images=500, equal_compute=True),
    "pathfinder": dict(size=64, ranges=(3, 9), train_size=20000, val_size=2000, test_size=2000, patch=8,
                       min_distance=16, width=16, stem="imagenet", augment=True, min_epochs=10, max_epochs=30,
                       patience=5, batch=64, lr=1e-2, momentum=0.9, lambdas=(0.0, 0.1, 1.0), seeds=5,
                       r_images=500, equal_compute=True),
}
QUICK = {
    "is-same": dict(ranges=(0, 56), train_size=384, val_size=200, test_size=500, min_epochs=2, max_epochs=4,
                    patience=1, seeds=2, r_images=200),
    "pathfinder": dict(train_size=384, val_size=200, test_size=400, min_epochs=2, max_epochs=4, patience=1, seeds=2,
                       r_images=200),
}
FULL_SCALE = {
    "is-same": dict(canvas=(224, 224), object_size=32, ranges=(0, 40, 80, 120, 160), train_size=5000,
                    val_size=2000, test_size=10000, width=64, stem="imagenet", min_epochs=20, max_epochs=150,
                    patience=20, batch=64, lr=1e-2, momentum=0.9, lambdas=(0.0, 0.1, 1.0), seeds=5, r_images=2000,
                    equal_compute=True),
    "pathfinder": dict(size=150, ranges=(3, 5, 7, 9), train_size=10000, val_size=2000, test_size=10000, patch=10,
                       min_distance=40, width=64, stem="imagenet", min_epochs=20, max_epochs=150, patience=20,
                       batch=64, lr=1e-2, momentum=0.9, lambdas=(0.0, 3.0, 9.0), seeds=5, r_images=2000,
                       equal_compute=True),
}


def config(task: str = "is-same", quick: bool = False, full_scale: bool = False) -> dict:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    cfg = dict(FULL_SCALE[task] if full_scale else CPU[task])
    if quick:
        cfg.update(QUICK[task])
    return cfg


def _data(task: str, cfg: dict, value: int, seed: int):
    """(train, validation, test) of one (range, seed). Is-Same: three :class:`TaskData` from disjoint digit images;
    Pathfinder: (images, labels) slices ``[:n_train]``, ``[n_train:n_train + n_val]``, ``[n_train + n_val:]`` of one
    seeded draw."""
    from ..cnn import data

    if task == "is-same":
        common = dict(canvas=tuple(cfg["canvas"]), distance=value, object_size=cfg["object_size"], seed=seed)
        return tuple(data.is_same_class(cfg[f"{name}_size"], split=name, **common)
                     for name in ("train", "val", "test"))
    n_tr, n_va, n_te = cfg["train_size"], cfg["val_size"], cfg["test_size"]
    both = data.pathfinder(n_tr + n_va + n_te, size=cfg["size"], path_length=value, seed=seed, progress=False)
    cuts = [(0, n_tr), (n_tr, n_tr + n_va), (n_tr + n_va, n_tr + n_va + n_te)]
    return tuple((both.images[a:b], both.labels[a:b]) for a, b in cuts)


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


def _validation_accuracy(model, x, y, device) -> float:
    """Accuracy on the validation split (after every epoch; every choice of the protocol is made on it)."""
    return _accuracy(model, x, y, device)


def _test_evaluation(model, x, y, sampler, device, r_images: int, seed: int) -> tuple[float, float]:
    """The one read of the test set per reported model, after all training: (accuracy, held-out R on the first
    ``r_images`` test images)."""
    return _accuracy(model, x, y, device), heldout_penalty(model, x[:r_images], sampler, device, seed=seed)


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
            values.append((float(r.detach()), len(xb)))
    # weighted by batch size: a short last batch (e.g. 250 images in batches of 100) must not count as a full one
    return sum(r * n for r, n in values) / sum(n for _, n in values)


def check_lambda_grid(lambdas, name: str = "cfg['lambdas']") -> tuple:
    """The lambda grid sorted without repeats, or ValueError (``name`` says where it came from) unless every
    value is finite and >= 0 and 0 is among them: the summary reads lambdas[0] as the baseline."""
    values = [float(v) for v in lambdas]
    if any(not lam >= 0 or lam == float("inf") for lam in values) or 0.0 not in values:
        raise ValueError(f"{name} must be finite, >= 0 and include 0 (the baseline), got {lambdas}")
    grid = tuple(sorted(set(values)))
    if len({f"{lam:g}" for lam in grid}) < len(grid):  # the summaries key lambdas by f"{lam:g}": they would merge
        raise ValueError(f"{name} has lambdas equal to 6 significant digits (their results would merge), got {lambdas}")
    return grid


def _regularizer(sampler, penalty: str, batch: int, form: str = "cosine"):
    from ..cnn import AntiLocalityRegularizer

    estimator, fraction, every = PENALTIES[penalty]
    samples = None if fraction == 1 else max(2, batch // fraction)
    return AntiLocalityRegularizer(sampler, samples=samples, estimator=estimator, form=form, every=every)


def _log(message: str) -> None:
    print(message, flush=True)


def _snapshot(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def should_stop(val_curve: list[float], cfg: dict) -> bool:
    """The early-stopping rule after epoch ``len(val_curve)``: at ``max_epochs``; else from ``min_epochs`` on, once
    the best validation accuracy so far (its first occurrence) is ``patience`` epochs old."""
    epoch = len(val_curve)
    if epoch >= cfg["max_epochs"]:
        return True
    best_epoch = 1 + max(range(epoch), key=lambda k: (val_curve[k], -k))
    return epoch >= cfg["min_epochs"] and epoch - best_epoch >= cfg["patience"]


def budget_epochs(step_cost: float, epochs: int) -> int:
    """Plain epochs at equal compute with a regularised run of ``epochs`` epochs: ``max(1, floor(step_cost *
    epochs))`` (both runs take the same number of steps per epoch). A hair of slack absorbs float error."""
    return max(1, int(math.floor(step_cost * epochs + 1e-9)))


def train_one(task: str, cfg: dict, train_data, val_data, test_data, lam: float, seed: int, device: str = "cpu",
              log=_log, budgets: dict | None = None) -> dict:
    """Train one model to convergence on validation (see the module docstring); returns its record.

    ``budgets`` (lambda = 0 only): ``{name: epochs}``; for each, also the best validation epoch within the first
    ``epochs`` epochs of the same trajectory (training continues past the early stop when a budget needs it)
    is evaluated, in ``record["equal_compute"][name]``. The test set is read once per reported model, after all
    training (:func:`_test_evaluation`).
    """
    from ..cnn import resnet18, train_step

    budgets = dict(budgets or {})
    if budgets and lam > 0:
        raise ValueError("equal-compute budgets belong to the lambda = 0 run")
    x_tr, y_tr = _arrays(train_data)
    x_va, y_va = _arrays(val_data)
    x_te, y_te = _arrays(test_data)
    torch.manual_seed(seed)
    model = resnet18(in_channels=1, num_outputs=1, width=cfg["width"], stem=cfg["stem"]).to(device)
    if cfg.get("optimizer", "sgd") == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    else:
        opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"])
    sampler = _sampler(task, cfg, train_data)
    reg = (_regularizer(sampler, cfg.get("penalty", "exact"), cfg["batch"], cfg.get("penalty_form", "cosine"))
           if lam > 0 else None)
    gen = torch.Generator().manual_seed(seed)
    n, bs = len(x_tr), cfg["batch"]
    steps_per_epoch = n // bs
    history = {"val_accuracy_curve": [], "loss": [], "penalty": [], "epoch_seconds": []}
    best = None  # (validation accuracy, epoch, parameters)
    converged = None  # (best, epochs trained) when the early-stopping rule fires
    at_budget = {}  # name -> best within the budget's epochs
    need = max(budgets.values(), default=0)
    epoch = 0
    while converged is None or epoch < need:
        epoch += 1
        model.train()
        t0 = time.perf_counter()
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
        history["epoch_seconds"].append(round(time.perf_counter() - t0, 3))
        history["loss"].append(round(sum(losses) / len(losses), 5))
        history["penalty"].append(round(sum(pens) / len(pens), 5) if pens else None)
        val = _validation_accuracy(model, x_va, y_va, device)
        history["val_accuracy_curve"].append(val)
        if best is None or val > best[0]:
            best = (val, epoch, _snapshot(model))
        for name, e in budgets.items():
            if e == epoch:
                at_budget[name] = best
        if converged is None and should_stop(history["val_accuracy_curve"], cfg):
            converged = (best, epoch)
    (val_acc, best_epoch, state), epochs = converged
    seconds = sum(history["epoch_seconds"])
    steps = steps_per_epoch * epoch
    # training is over: restore the selected parameters and read the test set, once per reported model
    model.load_state_dict(state)
    test_acc, r = _test_evaluation(model, x_te, y_te, sampler, device, cfg["r_images"], seed)
    train_acc = _accuracy(model, x_tr, y_tr, device)
    record = {"lambda": lam, "seed": seed, "epochs": epochs, "best_epoch": best_epoch, "val_accuracy": val_acc,
              "test_accuracy": test_acc, "train_accuracy": train_acc, "heldout_penalty": r,
              "steps_per_epoch": steps_per_epoch, "train_seconds": round(seconds, 1),
              "seconds_per_step": seconds / max(steps, 1), **history}
    if budgets:
        record["epochs_trained"] = epoch  # the trajectory, past the early stop when a budget needed it
        record["equal_compute"] = {}
        for name, e in budgets.items():
            b_val, b_epoch, b_state = at_budget[name]
            model.load_state_dict(b_state)
            b_test, b_r = _test_evaluation(model, x_te, y_te, sampler, device, cfg["r_images"], seed)
            record["equal_compute"][name] = {"budget_epochs": e, "best_epoch": b_epoch, "val_accuracy": b_val,
                                             "test_accuracy": b_test, "heldout_penalty": b_r}
    log(f"  lambda={lam:g} seed={seed}: {epochs} epochs (best {best_epoch}), val {val_acc:.3f} test {test_acc:.3f} "
        f"train {train_acc:.3f} held-out R {r:.3f} ({seconds:.0f} s)"
        + "".join(f"; equal compute with lambda {name}: {v['budget_epochs']} epochs, test {v['test_accuracy']:.3f}"
                  for name, v in record.get("equal_compute", {}).items()))
    return record


# ----------------------------------------------------------------------------------------------------------------
# statistics


def _t_pvalue(t_stat: float, dof: int) -> float | None:
    try:
        from scipy.stats import t
    except ImportError:
        return None
    return float(2 * t.sf(abs(t_stat), dof))


def describe(values) -> dict:
    """mean, sample std (n - 1), the 95% Student t interval (``ci95`` half-width, ``low``, ``high``) and the
    two-sided one-sample t-test p-value against 0 (for differences: the paired t-test; None without scipy).
    With one value the spread, the interval and p are None; with zero spread the interval is the mean and p is
    1 (mean 0) or 0."""
    values = [float(v) for v in values]
    n = len(values)
    mean = sum(values) / n
    out = {"n": n, "mean": mean, "std": None, "ci95": None, "low": None, "high": None, "p_value": None,
           "values": values}
    if n < 2:
        return out
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    if sd <= 1e-12 * max(1.0, max(abs(v) for v in values)):  # equal values up to rounding in the mean
        sd = 0.0
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    if sd == 0:
        p = 1.0 if mean == 0 else 0.0
    else:
        p = _t_pvalue(mean / (sd / math.sqrt(n)), n - 1)
    out.update(std=sd, ci95=half, low=mean - half, high=mean + half, p_value=p)
    return out


def paired_gain(a, b) -> dict:
    """:func:`describe` of the per-seed differences ``a[s] - b[s]`` (paired by seed)."""
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    return describe([x - y for x, y in zip(a, b)])


def choose_lambda(runs: list[dict]) -> dict:
    """The validation-chosen run among the lambda > 0 runs of one (range, seed): the highest best-epoch validation
    accuracy, the smaller lambda on ties. Test accuracy plays no part."""
    candidates = [r for r in runs if r["lambda"] > 0]
    if not candidates:
        raise ValueError("no lambda > 0 run to choose from")
    return max(candidates, key=lambda r: (r["val_accuracy"], -r["lambda"]))


# Configuration keys that may differ between pooled results: the grid each file covers, not how a run trains.
_POOL_FREE_KEYS = {"ranges", "seeds", "lambdas", "equal_compute"}


def _pool_setting(result: dict) -> dict:
    """What must agree between pooled results: the task, smoke / full-scale flags, device and every configuration
    entry that changes a converged run."""
    setting = {key: result.get(key) for key in ("task", "quick", "smoke_run", "full_scale", "device")}
    setting.update({f"config.{key}": value for key, value in result.get("config", {}).items()
                    if key not in _POOL_FREE_KEYS})
    return setting


def pooled_markdown(results: list[dict], value: int) -> str:
    """The runs at range ``value`` of several result JSONs of one configuration (disjoint seeds, e.g. a run and its
    follow-up seeds), pooled by seed, as markdown lines: per lambda the test accuracy (mean ± 95% t half-width),
    the paired gain over lambda 0 and held-out R; the validation-chosen lambda's gain and the per-seed gains.
    ``rankcore experiment locality-regularizer --pool FILE ... --ranges VALUE`` prints it. ValueError when a seed
    appears in two files, a (seed, lambda) run is missing, or the files differ in anything but their seeds, ranges,
    lambda grids and equal-compute readings (which do not change the converged runs)."""
    runs, seen = [], {}
    first = _pool_setting(results[0]) if results else None
    for k, result in enumerate(results):
        setting = _pool_setting(result)
        if setting != first:
            differ = sorted(key for key in set(first) | set(setting) if first.get(key) != setting.get(key))
            raise ValueError(f"result {k} differs from result 0 in {', '.join(differ)}: pool the runs of one "
                             f"configuration only")
        here = [r for r in result["runs"] if r["range"] == value]
        for seed in {r["seed"] for r in here}:
            if seed in seen:
                raise ValueError(f"seed {seed} is in result {seen[seed]} and in result {k}: pool disjoint seeds")
            seen[seed] = k
        runs += here
    if not runs:
        raise ValueError(f"no run at range {value} in the results")
    seeds = sorted(seen)
    lambdas = sorted({r["lambda"] for r in runs})
    if 0.0 not in lambdas or len(lambdas) < 2:
        raise ValueError(f"pooling needs lambda 0 and a lambda > 0 at range {value}, got {lambdas}")
    by = {(r["seed"], r["lambda"]): r for r in runs}
    missing = [(s, lam) for s in seeds for lam in lambdas if (s, lam) not in by]
    if missing:
        raise ValueError(f"no run for (seed, lambda) {missing[0]} at range {value}")
    base = [by[s, 0.0]["test_accuracy"] for s in seeds]
    lines = [f"| range {value}, seeds {', '.join(map(str, seeds))} | test % | paired gain over lambda 0, points | "
             "held-out R |", "|---|---|---|---|"]
    for lam in lambdas:
        acc = [by[s, lam]["test_accuracy"] for s in seeds]
        gain = "" if lam == 0 else _gain_cell(paired_gain(acc, base))
        r = _ci_cell(describe([by[s, lam]["heldout_penalty"] for s in seeds]), 1.0, 3)
        lines.append(f"| lambda {lam:g} | {_ci_cell(describe(acc))} | {gain} | {r} |")
    picks = [choose_lambda([by[s, lam] for lam in lambdas]) for s in seeds]
    chosen = [p["test_accuracy"] for p in picks]
    chosen_lambdas = ", ".join(f"{p['lambda']:g}" for p in picks)
    lines.append(f"| validation-chosen ({chosen_lambdas}) | {_ci_cell(describe(chosen))} "
                 f"| {_gain_cell(paired_gain(chosen, base))} | |")
    lines += ["", "Per seed (validation-chosen minus lambda 0): "
              + ", ".join(f"{100 * (c - b):+.1f}" for c, b in zip(chosen, base)) + "."]
    return "\n".join(lines)


def _cell(runs, value, lam, seeds):
    by_seed = {r["seed"]: r for r in runs if r["range"] == value and r["lambda"] == lam}
    return [by_seed[s] for s in seeds]


def _summary(runs: list[dict], ranges, lambdas, seeds) -> dict:
    """Per lambda and range: statistics over seeds (in seed order) of the run records; the validation-chosen
    lambda > 0, lambda 0 at equal compute, and the paired gains over lambda 0."""
    keys = ("test_accuracy", "val_accuracy", "train_accuracy", "heldout_penalty", "epochs", "best_epoch")
    per_lambda = {}
    for lam in lambdas:
        per_lambda[f"{lam:g}"] = {key: [describe([r[key] for r in _cell(runs, v, lam, seeds)]) for v in ranges]
                                  for key in keys}
    base = [[r["test_accuracy"] for r in _cell(runs, v, lambdas[0], seeds)] for v in ranges]
    out = {"lambdas": per_lambda,
           "gain_per_lambda": {f"{lam:g}": [paired_gain([r["test_accuracy"] for r in _cell(runs, v, lam, seeds)],
                                                        base[i]) for i, v in enumerate(ranges)]
                               for lam in lambdas[1:]}}
    if len(lambdas) < 2:
        return out
    chosen, equal = [], []
    for v in ranges:
        picks = [choose_lambda([r for r in runs if r["range"] == v and r["seed"] == s]) for s in seeds]
        chosen.append(picks)
        zero = _cell(runs, v, lambdas[0], seeds)
        equal.append([z["equal_compute"][f"{p['lambda']:g}"]["test_accuracy"] if "equal_compute" in z else None
                      for z, p in zip(zero, picks)])
    out["chosen"] = {
        "lambda_per_seed": [[p["lambda"] for p in picks] for picks in chosen],
        "test_accuracy": [describe([p["test_accuracy"] for p in picks]) for picks in chosen],
        "heldout_penalty": [describe([p["heldout_penalty"] for p in picks]) for picks in chosen],
        "gain": [paired_gain([p["test_accuracy"] for p in picks], b) for picks, b in zip(chosen, base)],
    }
    if all(e is not None for row in equal for e in row):
        out["equal_compute"] = {
            "lambda0_test_accuracy": [describe(row) for row in equal],
            "gain": [paired_gain([p["test_accuracy"] for p in picks], row) for picks, row in zip(chosen, equal)],
        }
    return out


def _verdicts(result: dict) -> dict:
    """The issue's targets, judged from the paired 95% CIs (module docstring); ``status`` per target: "met",
    "NOT met", or "not assessed" with fewer than :data:`MIN_SEEDS` seeds, without a lambda > 0, or over one range."""
    target = TARGETS[result["task"]]
    summary, n = result["summary"], len(result["seeds"])
    out = {"rule": f"met when the lower bound of the 95% t CI of the paired gain (validation-chosen lambda minus "
                   f"lambda 0, at convergence, >= {MIN_SEEDS} seeds) is at or above the target"}
    if "chosen" not in summary:
        why = "no lambda > 0"
    elif n < MIN_SEEDS:
        why = f"{n} seeds < {MIN_SEEDS}"
    elif len(summary["chosen"]["gain"]) < 2:
        # One range is both the shortest and the longest: judging it as both would print a cost verdict made of a
        # gain (or the reverse). The targets compare a run's shortest and longest range; read the gain line instead.
        why = "one range: the targets are judged on a run over the shortest and the longest range"
    else:
        why = None
    if why is not None:
        out.update(gain={"status": "not assessed", "why": why}, cost={"status": "not assessed", "why": why})
        return out
    gain, cost = summary["chosen"]["gain"][-1], summary["chosen"]["gain"][0]
    met = gain["low"] is not None and gain["low"] >= target["gain"]
    text = f"gain at the longest range >= {100 * target['gain']:g} points"
    if target["baseline_at_most"] is not None:
        base = summary["lambdas"][f"{result['lambdas'][0]:g}"]["test_accuracy"][-1]
        met = met and base["high"] is not None and base["high"] <= target["baseline_at_most"]
        text += f", lambda 0's CI at the longest range <= {100 * target['baseline_at_most']:g}%"
    out["gain"] = {"target": text, "status": "met" if met else "NOT met", "gain": gain}
    cost_met = cost["low"] is not None and cost["low"] >= -target["cost"]
    out["cost"] = {"target": f"cost at the shortest range <= {100 * target['cost']:g} points",
                   "status": "met" if cost_met else "NOT met", "gain": cost}
    return out


# ----------------------------------------------------------------------------------------------------------------
# running


def _check_jobs(jobs, device: str) -> int:
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")
    if jobs > 1 and not device.startswith("cpu"):
        raise ValueError("jobs > 1 runs CPU processes side by side; on a GPU use jobs=1")
    return jobs


def _run_in_worker(task: str, cfg: dict, value: int, seed: int, lam: float, device: str, threads: int,
                   budgets: dict | None) -> dict:
    """One (range, seed, lambda) run in a worker process: the data comes from the on-disk cache the parent
    filled, so every worker trains on the same arrays as a sequential run would."""
    torch.set_num_threads(threads)
    train_data, val_data, test_data = _data(task, cfg, value, seed)
    return {"range": value, **train_one(task, cfg, train_data, val_data, test_data, lam, seed, device,
                                        log=lambda m: _log(f"  [{task} range={value}]{m[1:]}"), budgets=budgets)}


def _budgets(cfg: dict, lambdas, done: dict, value, seed) -> dict | None:
    """The equal-compute budgets (plain epochs) of lambda 0 at (range, seed), from its lambda > 0 runs."""
    if not cfg["equal_compute"] or len(lambdas) < 2:
        return None
    return {f"{lam:g}": budget_epochs(cfg["step_cost"], done[(value, seed, lam)]["epochs"]) for lam in lambdas[1:]}


def _run_sequential(task, cfg, ranges, seeds, lambdas, device, range_name) -> list[dict]:
    done = {}
    for value in ranges:
        for s in seeds:
            train_data, val_data, test_data = _data(task, cfg, value, s)
            print(f"{task} {range_name}={value} seed={s}", flush=True)
            for lam in [*lambdas[1:], lambdas[0]]:  # lambda 0 last: its equal-compute budgets need the others
                budgets = _budgets(cfg, lambdas, done, value, s) if lam == lambdas[0] else None
                done[(value, s, lam)] = {"range": value, **train_one(task, cfg, train_data, val_data, test_data,
                                                                     lam, s, device, budgets=budgets)}
    return [done[(v, s, lam)] for v in ranges for s in seeds for lam in lambdas]


def _run_parallel(task, cfg, ranges, seeds, lambdas, device, jobs, threads, range_name) -> list[dict]:
    """The runs of :func:`run` in ``jobs`` processes of ``threads`` threads; results in the sequential order.

    The data of every (range, seed) is generated (and cached) here first, so workers never draw it twice. The
    lambda > 0 runs go first (the lambda 0 runs need their epoch counts for the equal-compute budgets); every
    run is the same computation as in the sequential order, so the results are equal.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    for value in ranges:
        for s in seeds:
            _data(task, cfg, value, s)
    work = [(value, s, lam) for value in ranges for s in seeds for lam in lambdas]
    print(f"{task}: {len(work)} runs over {range_name} {list(ranges)} in {jobs} processes", flush=True)
    done = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        first = {w: pool.submit(_run_in_worker, task, cfg, *w, device, threads, None) for w in work
                 if w[2] != lambdas[0]}
        done.update({w: f.result() for w, f in first.items()})
        zero = {w: pool.submit(_run_in_worker, task, cfg, *w, device, threads,
                               _budgets(cfg, lambdas, done, w[0], w[1])) for w in work if w[2] == lambdas[0]}
        done.update({w: f.result() for w, f in zero.items()})
    return [done[w] for w in work]


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


SMOKE = ("SMOKE RUN (--quick): tiny data, a few epochs, two seeds; it checks that everything runs and measures "
         "nothing. No verdicts.")


def run(out_dir: str | Path = "rankcore_results", quick: bool = False, seed: int = 0, task: str = "is-same",
        device: str = "cpu", full_scale: bool = False, cfg: dict | None = None, jobs: int = 1,
        threads: int = 1, penalty: str = "exact", penalty_form: str = "cosine") -> dict:
    """Train every (range, lambda, seed); write ``locality_regularizer_<task>.json`` / ``.png`` / ``.md``.

    ``seed``: the first seed; the seeds are ``seed, seed + 1, ...`` (``cfg["seeds"]`` of them), each giving the
    data draw and the initialisation, shared by all lambdas. ``cfg`` overrides the configuration (tests).
    ``quick``: a smoke run (module docstring): it says so on stdout, in the JSON (``smoke_run``) and the
    markdown, and judges no target. ``threads``: torch threads per training process, default 1 (what the CPU
    configurations are sized for; on a loaded 2-core machine torch's default count was 20x slower).
    ``torch.set_num_threads(threads)`` holds for the run and the previous count is restored afterwards, also on
    an error. ``jobs``: CPU processes training side by side, ``threads`` torch threads each (``rankcore
    experiment ... --jobs 2`` on a 2-core machine halves the wall time); the results equal a sequential run's.
    ``penalty``: how R and its gradient are computed in training, one of :data:`PENALTIES`: ``"exact"`` (the
    definition: the whole batch, double backward), ``"quarter"`` / ``"eighth"`` (exact on a random B // 4 or
    B // 8 of the batch), ``"fd"``, ``"fd-quarter"``, ``"fd-eighth"`` (the same with the finite-difference
    gradient), ``"eighth-every2"`` (``"eighth"`` on every other training step at twice lambda, plain steps between:
    lazy regularisation, AntiLocalityRegularizer's ``every``). Recorded as ``config["penalty"]``, with its
    ``config["step_cost"]`` (:data:`STEP_COST`); held-out R is always the exact value of the published (cosine)
    R. ``penalty_form``: which R is trained on, ``"cosine"`` (the published mean |cos|) or ``"angle"`` (rankcore's
    variant mean (1 - (2/pi) phi), phi the angle between the lines of the two gradients: non-zero slope at R = 1;
    rankcore.cnn.AntiLocalityRegularizer); recorded as ``config["penalty_form"]``. Its step costs what the cosine
    form's does (:data:`STEP_COST`).
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    jobs = _check_jobs(jobs, device)
    threads = _check_threads(threads)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("--device cuda: torch.cuda.is_available() is False on this machine")
    _require_plotting()
    cfg = {**config(task, quick, full_scale), "penalty": penalty, "penalty_form": penalty_form, **(cfg or {})}
    if not isinstance(cfg["penalty"], str) or cfg["penalty"] not in PENALTIES:
        raise ValueError(f"penalty must be one of {tuple(PENALTIES)}, got {cfg['penalty']!r}")
    if not isinstance(cfg["penalty_form"], str) or cfg["penalty_form"] not in PENALTY_FORMS:
        raise ValueError(f"penalty_form must be one of {PENALTY_FORMS}, got {cfg['penalty_form']!r}")
    cfg.setdefault("equal_compute", True)
    cfg["lambdas"] = check_lambda_grid(cfg["lambdas"])
    if cfg.get("step_cost") is None:
        cfg["step_cost"] = STEP_COST[task][cfg["penalty"]]
    # The verdicts read ranges[0] as the shortest range and ranges[-1] as the longest (the CLI sorts --ranges;
    # through the Python API ranges=(56, 0) judged the gain at 0 px and the cost at 56 px, and (56, 56) judged one
    # range as both, which the one-range rule forbids).
    ranges = list(cfg.get("ranges") or ())
    if not ranges or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in ranges):
        raise ValueError(f"cfg['ranges'] must be ints >= 0, at least one, got {cfg.get('ranges')!r}")
    cfg["ranges"] = tuple(sorted(set(ranges)))
    # seeds 0 trained nothing, then failed in the statistics; r_images or test_size < 2 failed in held-out R after
    # a run's training (the swap needs 2 images); fewer training images than a batch (no step) or no validation
    # image failed likewise.
    for key, least in (("seeds", 1), ("r_images", 2), ("batch", 2), ("train_size", cfg.get("batch", 2)),
                       ("val_size", 1), ("test_size", 2), ("min_epochs", 0), ("max_epochs", 1), ("patience", 1)):
        value = cfg.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"cfg[{key!r}] must be an int >= {least}, got {value!r}")
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
    if quick:
        print(SMOKE, flush=True)
    print(f"{task}: torch.set_num_threads({threads}) in every training process (the configurations are sized "
          f"for one thread each)", flush=True)
    start = time.time()
    if jobs == 1:
        runs = _run_sequential(task, cfg, ranges, seeds, lambdas, device, range_name)
    else:
        runs = _run_parallel(task, cfg, ranges, seeds, lambdas, device, jobs, threads, range_name)
    result = {"experiment": "locality-regularizer", "task": task, "range_name": range_name, "quick": quick,
              "smoke_run": quick, "full_scale": full_scale, "device": device, "jobs": jobs, "torch_threads": threads,
              "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
              "ranges": ranges, "lambdas": lambdas, "seeds": seeds,
              "summary": _summary(runs, ranges, lambdas, seeds)}
    result["verdicts"] = None if quick else _verdicts(result)
    if quick:
        result["note"] = SMOKE
    result.update(wall_seconds=round(time.time() - start, 1), runs=runs)
    out = Path(out_dir)
    stem = f"locality_regularizer_{task.replace('-', '_')}"
    write_json(out / f"{stem}.json", result)
    text = markdown(result)
    (out / f"{stem}.md").write_text(text)
    plot(result, out / f"{stem}.png")
    print(_digest(result), flush=True)
    return result


# ----------------------------------------------------------------------------------------------------------------
# output


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def _ci_cell(d: dict, scale: float = 100.0, digits: int = 1, sign: bool = False) -> str:
    """``mean ± half-width`` (the half-width of the 95% t CI; no ± for one seed)."""
    fmt = f"{{:{'+' if sign else ''}.{digits}f}}"
    text = fmt.format(scale * d["mean"])
    return text if d["ci95"] is None else f"{text} ± {scale * d['ci95']:.{digits}f}"


def _gain_cell(d: dict) -> str:
    if d["ci95"] is None:
        return f"{100 * d['mean']:+.1f}"
    p = "" if d["p_value"] is None else f", p {d['p_value']:.2g}"
    return f"{100 * d['mean']:+.1f} [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}] (sd {100 * d['std']:.1f}{p})"


def _verdict_items(result: dict) -> list[str]:
    v = result.get("verdicts")
    if v is None:  # a smoke run judges nothing
        return []
    return [f"* {key}: not assessed ({v[key]['why']})" if v[key]["status"] == "not assessed"
            else f"* {v[key]['target']}: {v[key]['status']} (gain {_gain_cell(v[key]['gain'])})"
            for key in ("gain", "cost")]


def _verdict_lines(result: dict) -> list[str]:
    items = _verdict_items(result)
    return ["## Targets", "", f"Rule: {result['verdicts']['rule']}.", "", *items] if items else []


def markdown(result: dict) -> str:
    """The result as markdown: test accuracy (mean ± 95% CI) per lambda and range, the validation-chosen lambda,
    lambda 0 at equal compute, the paired gains, held-out R, the training lengths, and (full runs) the targets."""
    name = "distance (px)" if result["task"] == "is-same" else "path length"
    ranges, cfg, summary = result["ranges"], result["config"], result["summary"]
    n = len(result["seeds"])
    form = f", {cfg['penalty_form']} form" if "penalty_form" in cfg else ""  # absent from runs before the option
    head = "| | " + " | ".join(f"{name} {v}" for v in ranges) + " |"
    sep = "|---" * (len(ranges) + 1) + "|"
    lines = [f"# Anti-locality regulariser: {result['task']}" + (" (SMOKE RUN, --quick)" if result["quick"] else ""),
             ""]
    if result["quick"]:
        lines += [f"**{SMOKE}**", ""]
    lines += ["Config: " + ", ".join(f"{k}={v}" for k, v in cfg.items()) + f"; device {result['device']}, "
              f"{result['torch_threads']} torch threads"
              + (f" x {result['jobs']} processes" if result.get("jobs", 1) > 1 else "")
              + f"; seeds {result['seeds']}; wall time {result['wall_seconds'] / 60:.1f} min.", "",
              f"Protocol: train / validation / test disjoint; each run stops once its best validation accuracy is "
              f"{cfg['patience']} epochs old (not before epoch {cfg['min_epochs']}, at most {cfg['max_epochs']}), "
              f"and the best validation epoch's parameters read the test set once. The lambda > 0 is chosen per "
              f"({result['range_name']}, seed) by validation accuracy. Lambda 0 at equal compute: trained "
              f"floor({cfg['step_cost']:g} x E) epochs, E = the chosen run's epochs ({cfg['step_cost']:g} = a "
              f"regularised step in plain steps, penalty {cfg['penalty']}{form}), best validation epoch among them. "
              f"Cells: mean ± half-width of the 95% t CI over {n} seeds.", "",
              "## Test accuracy (%)", "", head, sep]
    for lam, rows in summary["lambdas"].items():
        lines.append(f"| lambda {lam} | " + " | ".join(_ci_cell(d) for d in rows["test_accuracy"]) + " |")
    if "chosen" in summary:
        lines.append("| validation-chosen lambda > 0 | "
                     + " | ".join(_ci_cell(d) for d in summary["chosen"]["test_accuracy"]) + " |")
    if "equal_compute" in summary:
        lines.append("| lambda 0 at equal compute | "
                     + " | ".join(_ci_cell(d) for d in summary["equal_compute"]["lambda0_test_accuracy"]) + " |")
    if "chosen" in summary:
        lines += ["", "Chosen lambda per seed: " + "; ".join(
            f"{name} {v}: {', '.join(f'{lam:g}' for lam in per)}"
            for v, per in zip(ranges, summary["chosen"]["lambda_per_seed"])) + "."]
        lines += ["", "## Gain over lambda 0 (points; paired by seed: mean [95% CI], sd, paired t-test p)", "",
                  head, sep,
                  "| validation-chosen, at convergence | "
                  + " | ".join(_gain_cell(d) for d in summary["chosen"]["gain"]) + " |"]
        if "equal_compute" in summary:
            lines.append("| validation-chosen, at equal compute | "
                         + " | ".join(_gain_cell(d) for d in summary["equal_compute"]["gain"]) + " |")
        for lam, gains in summary["gain_per_lambda"].items():
            lines.append(f"| lambda {lam} (fixed), at convergence | " + " | ".join(_gain_cell(d) for d in gains)
                         + " |")
        lines += ["", "Per seed (validation-chosen minus lambda 0, at convergence): " + "; ".join(
            f"{name} {v}: {', '.join(f'{100 * g:+.1f}' for g in d['values'])}"
            for v, d in zip(ranges, summary["chosen"]["gain"])) + "."]
    lines += ["", "## Held-out penalty R (eval mode, test images; 1 = no interaction between I and J)", "", head, sep]
    for lam, rows in summary["lambdas"].items():
        lines.append(f"| lambda {lam} | " + " | ".join(_ci_cell(d, 1.0, 3) for d in rows["heldout_penalty"]) + " |")
    lines += ["", "## Validation / train accuracy (%) of the parameters read (the best validation epoch's) and epochs "
                  "(trained, best), means over seeds", "", head, sep]
    for lam, rows in summary["lambdas"].items():
        lines.append(f"| lambda {lam} | " + " | ".join(
            f"{_pct(va['mean'])} / {_pct(tr['mean'])}; {ep['mean']:.1f}, {be['mean']:.1f}"
            for va, tr, ep, be in zip(rows["val_accuracy"], rows["train_accuracy"], rows["epochs"],
                                      rows["best_epoch"])) + " |")
    verdicts = _verdict_lines(result)
    if verdicts:
        lines += [""] + verdicts
    if result.get("note") and not result["quick"]:
        lines += ["", result["note"]]
    return "\n".join(lines) + "\n"


def _digest(result: dict) -> str:
    """What stdout shows at the end: the gains (and the verdicts, in full runs only)."""
    summary = result["summary"]
    lines = []
    if result["quick"]:
        lines.append(SMOKE)
    if "chosen" in summary:
        for v, g, lam0, ch in zip(result["ranges"], summary["chosen"]["gain"],
                                  summary["lambdas"][f"{result['lambdas'][0]:g}"]["test_accuracy"],
                                  summary["chosen"]["test_accuracy"]):
            lines.append(f"{result['task']} {result['range_name']}={v}: lambda 0 {_ci_cell(lam0)} %, "
                         f"validation-chosen lambda {_ci_cell(ch)} %, gain {_gain_cell(g)} points")
    lines += _verdict_items(result)
    return "\n".join(lines)


def _band(ax, xs, stats, scale, color, label, style="o-"):
    """Means joined by a line, the 95% CI as a band (clipped to the quantity's range [0, scale])."""
    mean = [scale * d["mean"] for d in stats]
    ax.plot(xs, mean, style, color=color, label=label)
    if all(d["ci95"] is not None for d in stats):
        ax.fill_between(xs, [max(0.0, scale * d["low"]) for d in stats], [min(scale, scale * d["high"]) for d in stats],
                        color=color, alpha=0.15, lw=0)


def plot(result: dict, path: Path) -> None:
    """Four panels: test accuracy per lambda with 95% CI bands over seeds (and the validation-chosen lambda, and
    lambda 0 at equal compute); held-out R with bands; the paired gains with their CIs; validation curves at the
    longest range."""
    plt = pyplot()
    ranges, summary = result["ranges"], result["summary"]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.4))
    ax_acc, ax_r, ax_gain, ax_curve = axes.ravel()
    for k, (lam, rows) in enumerate(summary["lambdas"].items()):
        _band(ax_acc, ranges, rows["test_accuracy"], 100, f"C{k}", f"lambda = {lam}")
        _band(ax_r, ranges, rows["heldout_penalty"], 1, f"C{k}", f"lambda = {lam}")
    if "chosen" in summary:
        _band(ax_acc, ranges, summary["chosen"]["test_accuracy"], 100, "k", "validation-chosen lambda > 0", "s--")
    if "equal_compute" in summary:
        _band(ax_acc, ranges, summary["equal_compute"]["lambda0_test_accuracy"], 100, "C0",
              "lambda = 0 at equal compute", "^:")
    xlabel = "distance between the objects (px)" if result["task"] == "is-same" else "path length (dashes)"
    n = len(result["seeds"])
    smoke = " (SMOKE RUN)" if result["quick"] else ""
    ax_acc.axhline(50, color="gray", lw=0.8, ls=":")
    ax_acc.set(xlabel=xlabel, ylabel="test accuracy (%)",
               title=f"{result['task']}{smoke}: test accuracy, 95% CI over {n} seeds")
    ax_r.set(xlabel=xlabel, ylabel="R on held-out images", ylim=(0, 1.05),
             title="held-out penalty R (1 = I and J do not interact)")
    if "chosen" in summary:
        series = [("validation-chosen, at convergence", summary["chosen"]["gain"], "k")]
        if "equal_compute" in summary:
            series.append(("validation-chosen, at equal compute", summary["equal_compute"]["gain"], "C3"))
        for j, (label, gains, color) in enumerate(series):
            xs = [v + (j - 0.5 * (len(series) - 1)) * 0.02 * (max(ranges) - min(ranges) or 1) for v in ranges]
            err = [0.0 if d["ci95"] is None else 100 * d["ci95"] for d in gains]
            ax_gain.errorbar(xs, [100 * d["mean"] for d in gains], yerr=err, fmt="o-", color=color, capsize=3,
                             label=label)
        ax_gain.axhline(0, color="gray", lw=0.8)
    ax_gain.set(xlabel=xlabel, ylabel="gain over lambda 0 (points)", title="paired gain, 95% CI")
    for ax in (ax_acc, ax_r, ax_gain):
        ax.set_xticks(ranges)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    longest = ranges[-1]
    for k, lam in enumerate(summary["lambdas"]):
        curves = [r for r in result["runs"] if r["range"] == longest and f"{r['lambda']:g}" == lam]
        for j, r in enumerate(curves):
            c = r["val_accuracy_curve"]
            ax_curve.plot(range(1, len(c) + 1), [100 * v for v in c], color=f"C{k}", alpha=0.5, lw=0.9,
                          label=f"lambda = {lam}" if j == 0 else None)
            # the early stop (lambda 0 trains on to its equal-compute budgets) and the selected epoch
            ax_curve.plot([r["epochs"]], [100 * c[r["epochs"] - 1]], "|", color=f"C{k}", ms=10)
            ax_curve.plot([r["best_epoch"]], [100 * c[r["best_epoch"] - 1]], "*", color=f"C{k}", ms=7)
    ax_curve.axhline(50, color="gray", lw=0.8, ls=":")
    ax_curve.xaxis.get_major_locator().set_params(integer=True)
    name = "distance" if result["task"] == "is-same" else "path length"
    ax_curve.set(xlabel="epoch", ylabel="validation accuracy (%)",
                 title=f"validation at {name} {longest} (per seed; | stop, * selected)")
    ax_curve.legend(fontsize=8)
    save_figure(fig, path)
