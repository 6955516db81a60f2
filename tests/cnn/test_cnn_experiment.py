"""Smoke test of `rankcore experiment locality-regularizer` on a micro configuration (seconds)."""

import json
import re
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

from rankcore.experiments import EXPERIMENTS, locality_regularizer as lr  # noqa: E402

MICRO = {
    "is-same": dict(canvas=(8, 24), object_size=8, ranges=(0, 4), train_size=16, val_size=16, test_size=16, width=2,
                    min_epochs=1, max_epochs=2, patience=1, batch=8, lambdas=(0.0, 0.5, 1.0), seeds=2, r_images=8),
    "pathfinder": dict(size=32, ranges=(2, 3), train_size=16, val_size=8, test_size=16, patch=4, min_distance=6,
                       width=2, min_epochs=1, max_epochs=1, patience=1, batch=8, lambdas=(0.0, 3.0), seeds=2,
                       r_images=8),
}


@pytest.mark.parametrize("task", ["is-same", "pathfinder"])
def test_run_writes_json_png_md(tmp_path, monkeypatch, task):
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "cache"))
    result = lr.run(out_dir=tmp_path / "out", task=task, seed=3, cfg=MICRO[task])
    stem = tmp_path / "out" / f"locality_regularizer_{task.replace('-', '_')}"
    for ext in (".json", ".png", ".md"):
        assert (stem.parent / (stem.name + ext)).stat().st_size > 0
    saved = json.loads((stem.parent / (stem.name + ".json")).read_text())
    assert saved["task"] == task and saved["seeds"] == [3, 4] and saved["smoke_run"] is False
    lambdas, ranges = MICRO[task]["lambdas"], MICRO[task]["ranges"]
    assert len(saved["runs"]) == len(ranges) * len(lambdas) * 2
    summary = saved["summary"]
    for lam in lambdas:
        rows = summary["lambdas"][f"{lam:g}"]
        for key in ("test_accuracy", "val_accuracy", "heldout_penalty", "train_accuracy", "epochs", "best_epoch"):
            assert len(rows[key]) == len(ranges) and all(d["n"] == 2 for d in rows[key])
        assert all(0 <= d["mean"] <= 1 for d in rows["test_accuracy"])
        assert all(0 <= d["mean"] <= 1 + 1e-6 for d in rows["heldout_penalty"])
    assert len(summary["chosen"]["gain"]) == len(ranges) and len(summary["equal_compute"]["gain"]) == len(ranges)
    assert set(summary["gain_per_lambda"]) == {f"{lam:g}" for lam in lambdas[1:]}
    assert saved["verdicts"]["gain"]["status"] == "not assessed"  # two seeds < 5
    step_cost = lr.STEP_COST[task]["exact"]
    assert saved["config"]["step_cost"] == step_cost
    for run in saved["runs"]:
        assert (run["penalty"][0] is None) == (run["lambda"] == 0)
        assert "test_accuracy_curve" not in run  # no per-epoch test reads any more
        assert 1 <= run["best_epoch"] <= run["epochs"] <= MICRO[task]["max_epochs"]
        assert run["val_accuracy"] == max(run["val_accuracy_curve"][:run["epochs"]])
        if run["lambda"] == 0:  # trained on to the longest equal-compute budget of its (range, seed)
            others = [r for r in saved["runs"] if (r["range"], r["seed"]) == (run["range"], run["seed"])
                      and r["lambda"] > 0]
            budgets = {f"{r['lambda']:g}": lr.budget_epochs(step_cost, r["epochs"]) for r in others}
            assert {k: v["budget_epochs"] for k, v in run["equal_compute"].items()} == budgets
            assert run["epochs_trained"] == len(run["val_accuracy_curve"]) == max(run["epochs"], *budgets.values())
        else:
            assert len(run["val_accuracy_curve"]) == run["epochs"] and "equal_compute" not in run
    md = (stem.parent / (stem.name + ".md")).read_text()
    assert "Test accuracy" in md and "Held-out penalty R" in md and "validation-chosen" in md
    assert "equal compute" in md and "SMOKE" not in md
    assert result["config"]["width"] == 2


def test_registered_and_configs():
    assert EXPERIMENTS["locality-regularizer"] == "rankcore.experiments.locality_regularizer"
    for task in lr.TASKS:
        full, cpu, quick = lr.config(task, full_scale=True), lr.config(task), lr.config(task, quick=True)
        assert full["width"] == 64 and full["stem"] == "imagenet" and full["batch"] == 64
        assert len(cpu["lambdas"]) == 3 and cpu["lambdas"][0] == 0
        assert cpu["seeds"] >= lr.MIN_SEEDS == 5 and full["seeds"] >= 5  # the reported tables: >= 5 seeds a cell
        for c in (full, cpu, quick):
            assert c["val_size"] > 0 and 1 <= c["patience"] and c["min_epochs"] <= c["max_epochs"]
        assert quick["max_epochs"] < cpu["max_epochs"]
    assert lr.config("is-same", full_scale=True)["canvas"] == (224, 224)
    assert lr.config("pathfinder", full_scale=True)["size"] == 150
    with pytest.raises(ValueError, match="task"):
        lr.config("cifar")


def test_jobs_give_the_sequential_results(tmp_path, monkeypatch):
    """--jobs 2 trains in two one-thread processes; every run equals the one-thread sequential run."""
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "cache"))
    cfg = dict(MICRO["pathfinder"], seeds=1)
    sequential = lr.run(out_dir=tmp_path / "seq", task="pathfinder", cfg=cfg)  # one thread, as each worker
    parallel = lr.run(out_dir=tmp_path / "par", task="pathfinder", cfg=cfg, jobs=2)
    assert parallel["jobs"] == 2 and sequential["jobs"] == 1
    keys = ("range", "lambda", "seed", "epochs", "best_epoch", "val_accuracy", "val_accuracy_curve", "test_accuracy",
            "train_accuracy", "heldout_penalty", "loss", "penalty")
    assert [[r[k] for k in keys] for r in parallel["runs"]] == [[r[k] for k in keys] for r in sequential["runs"]]
    assert [r.get("equal_compute") for r in parallel["runs"]] == [r.get("equal_compute") for r in sequential["runs"]]
    assert parallel["summary"]["chosen"] == sequential["summary"]["chosen"]
    assert "x 2 processes" in (tmp_path / "par" / "locality_regularizer_pathfinder.md").read_text()


# ----------------------------------------------------------------------------------------------------------------
# the protocol: disjoint splits, validation-only choices, one test read per reported model


def test_is_same_splits_use_disjoint_digit_images(tmp_path, monkeypatch):
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "cache"))
    from rankcore.cnn import data

    cfg = dict(MICRO["is-same"], train_size=400, val_size=200, test_size=200)
    train, val, test = lr._data("is-same", cfg, 4, seed=1)
    assert [len(d) for d in (train, val, test)] == [400, 200, 200]
    assert [d.meta["split"] for d in (train, val, test)] == ["train", "val", "test"]
    used = [set(d.meta["sources"].ravel().tolist()) for d in (train, val, test)]
    assert not used[0] & used[1] and not used[0] & used[2] and not used[1] & used[2]
    parts = data.digit_split(pytest.importorskip("sklearn.datasets").load_digits().target)
    for name, u in zip(("train", "val", "test"), used):
        assert u <= set(parts[name].tolist())
    assert sum(len(p) for p in parts.values()) == len(set().union(*map(set, parts.values()))) == 1797
    # and the rendered images: no validation or test picture shows a training digit in either slot
    for d in (val, test):
        for slot in train.regions:
            rows, cols = slot.slices()
            seen = {t[0, rows, cols].numpy().tobytes() for t in train.images}
            assert not any(t[0, rows, cols].numpy().tobytes() in seen for t in d.images)


def test_pathfinder_splits_are_disjoint_slices_of_one_draw(tmp_path, monkeypatch):
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "cache"))
    from rankcore.cnn import data

    cfg = MICRO["pathfinder"]
    train, val, test = lr._data("pathfinder", cfg, 3, seed=2)
    assert [len(d[0]) for d in (train, val, test)] == [16, 8, 16]
    whole = data.pathfinder(40, size=32, path_length=3, seed=2, progress=False)
    assert torch.equal(torch.cat([train[0], val[0], test[0]]), whole.images)
    assert torch.equal(torch.cat([train[1], val[1], test[1]]), whole.labels)
    pictures = [{x.numpy().tobytes() for x in d[0]} for d in (train, val, test)]
    assert sum(map(len, pictures)) == 40 and len(set().union(*pictures)) == 40  # no image in two splits


def _micro_run(task="is-same", **over):
    cfg = lr.config(task)
    cfg.update(MICRO[task], penalty="exact", step_cost=lr.STEP_COST[task]["exact"], **over)
    return cfg


def test_test_set_is_read_once_per_reported_model_after_training(tmp_path, monkeypatch):
    """Every test read happens after the run's last training step: one per regularised run, and one per reported
    model of the lambda = 0 run (converged, and each equal-compute budget)."""
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "cache"))
    import rankcore.cnn as cnn

    events = []
    real_step, real_eval, real_train = cnn.train_step, lr._test_evaluation, lr.train_one
    monkeypatch.setattr(cnn, "train_step", lambda *a, **k: events.append("step") or real_step(*a, **k))
    monkeypatch.setattr(lr, "_test_evaluation", lambda *a, **k: events.append("test") or real_eval(*a, **k))

    def spy(*args, **kwargs):
        events.append(("run", args[5]))
        return real_train(*args, **kwargs)

    monkeypatch.setattr(lr, "train_one", spy)
    cfg = dict(MICRO["is-same"], ranges=(4,), seeds=1)
    lr.run(out_dir=tmp_path, task="is-same", cfg=cfg)
    starts = [k for k, e in enumerate(events) if isinstance(e, tuple)]
    segments = [events[a:b] for a, b in zip(starts, starts[1:] + [len(events)])]
    assert [seg[0][1] for seg in segments] == [0.5, 1.0, 0.0]  # lambda 0 last (it needs the budgets)
    for seg in segments:
        body = seg[1:]
        first_test = body.index("test")
        assert "step" in body[:first_test] and "step" not in body[first_test:]  # reads only after training
        assert body.count("test") == (1 if seg[0][1] > 0 else 1 + 2)  # lambda 0: converged + 2 budgets


def _scripted_validation(monkeypatch, values):
    """Validation accuracy follows ``values`` epoch by epoch; returns the parameters seen at each epoch's end."""
    seen = []

    def fake(model, x, y, device):
        seen.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return values[len(seen) - 1]

    monkeypatch.setattr(lr, "_validation_accuracy", fake)
    return seen


def _capture_test_reads(monkeypatch):
    reads = []

    def fake(model, x, y, sampler, device, r_images, seed):
        reads.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return 0.5, 0.5

    monkeypatch.setattr(lr, "_test_evaluation", fake)
    return reads


def _same_state(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def _micro_data(tmp_path, monkeypatch, task="is-same"):
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "cache"))
    return lr._data(task, MICRO[task], 4 if task == "is-same" else 3, 0)


@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_early_stopping_after_patience_restores_the_best_epoch(tmp_path, monkeypatch, lam):
    data = _micro_data(tmp_path, monkeypatch)
    # best 0.7 at epoch 2; epoch 4 only ties it (not an improvement); patience 3 -> stop after epoch 5
    seen = _scripted_validation(monkeypatch, [0.5, 0.7, 0.6, 0.7, 0.65, 0.9, 0.9, 0.9])
    reads = _capture_test_reads(monkeypatch)
    cfg = _micro_run(min_epochs=2, max_epochs=20, patience=3)
    rec = lr.train_one("is-same", cfg, *data, lam, seed=0, log=lambda m: None)
    assert (rec["epochs"], rec["best_epoch"], rec["val_accuracy"]) == (5, 2, 0.7)
    assert len(seen) == 5 and len(reads) == 1
    assert _same_state(reads[0], seen[1]) and not _same_state(reads[0], seen[4])  # epoch 2's parameters


def test_early_stopping_waits_for_min_epochs_and_stops_at_the_cap(tmp_path, monkeypatch):
    data = _micro_data(tmp_path, monkeypatch)
    _scripted_validation(monkeypatch, [0.9] + [0.5] * 9)
    _capture_test_reads(monkeypatch)
    rec = lr.train_one("is-same", _micro_run(min_epochs=6, max_epochs=20, patience=1), *data, 0.0, seed=0,
                       log=lambda m: None)
    assert (rec["epochs"], rec["best_epoch"]) == (6, 1)
    _scripted_validation(monkeypatch, [0.1 * k for k in range(1, 10)])  # always improving: the cap stops it
    rec = lr.train_one("is-same", _micro_run(min_epochs=0, max_epochs=4, patience=1), *data, 0.0, seed=0,
                       log=lambda m: None)
    assert (rec["epochs"], rec["best_epoch"]) == (4, 4)


def test_should_stop_rule():
    cfg = dict(min_epochs=3, max_epochs=10, patience=2)
    assert not lr.should_stop([0.9, 0.1], cfg)  # before min_epochs
    assert lr.should_stop([0.9, 0.1, 0.1], cfg)  # best 2 epochs old at epoch 3
    assert not lr.should_stop([0.1, 0.9, 0.1], cfg)
    assert lr.should_stop([0.1, 0.9, 0.1, 0.9], cfg)  # a tie is no improvement
    assert lr.should_stop([0.5] * 10, dict(cfg, patience=100))  # the cap


def test_equal_compute_budgets_continue_the_same_trajectory(tmp_path, monkeypatch):
    """lambda 0 at equal compute = lambda 0 trained exactly budget epochs (no early stop), best validation epoch
    among them; the converged result is unaffected by training on."""
    data = _micro_data(tmp_path, monkeypatch)
    assert lr.budget_epochs(5.6, 3) == 16 and lr.budget_epochs(1.95, 2) == 3 and lr.budget_epochs(1.7, 0) == 1
    assert lr.budget_epochs(2.5, 2) == 5  # exact products are not floored below
    cfg = _micro_run(min_epochs=1, max_epochs=2, patience=1)
    with_budgets = lr.train_one("is-same", cfg, *data, 0.0, seed=0, log=lambda m: None, budgets={"a": 5, "b": 1})
    plain = lr.train_one("is-same", cfg, *data, 0.0, seed=0, log=lambda m: None)
    for key in ("epochs", "best_epoch", "val_accuracy", "test_accuracy", "heldout_penalty"):
        assert with_budgets[key] == plain[key]
    assert with_budgets["epochs_trained"] == 5
    alone = lr.train_one("is-same", dict(cfg, min_epochs=5, max_epochs=5), *data, 0.0, seed=0, log=lambda m: None)
    a = with_budgets["equal_compute"]["a"]
    assert alone["val_accuracy_curve"] == with_budgets["val_accuracy_curve"]
    assert (a["best_epoch"], a["val_accuracy"], a["test_accuracy"]) == (alone["best_epoch"], alone["val_accuracy"],
                                                                         alone["test_accuracy"])
    b = with_budgets["equal_compute"]["b"]
    assert b["best_epoch"] == 1 and b["val_accuracy"] == with_budgets["val_accuracy_curve"][0]
    with pytest.raises(ValueError, match="lambda = 0"):
        lr.train_one("is-same", cfg, *data, 0.5, seed=0, budgets={"a": 2})


def _rec(value, seed, lam, val, test, epochs=10, equal=None):
    r = {"range": value, "seed": seed, "lambda": lam, "val_accuracy": val, "test_accuracy": test,
         "train_accuracy": 1.0, "heldout_penalty": 0.5, "epochs": epochs, "best_epoch": epochs}
    if equal is not None:
        r["equal_compute"] = {k: {"test_accuracy": v} for k, v in equal.items()}
    return r


def test_lambda_is_chosen_on_validation_only():
    """Validation and test disagree: the chosen lambda is the validation winner, and the test accuracies of the
    other runs change nothing."""
    runs = [_rec(0, 0, 0.0, 0.60, 0.60, equal={"0.5": 0.61, "1": 0.62}),
            _rec(0, 0, 0.5, 0.80, 0.55),  # best on validation, worse on test
            _rec(0, 0, 1.0, 0.70, 0.95),  # best on test
            _rec(0, 1, 0.0, 0.60, 0.60, equal={"0.5": 0.63, "1": 0.64}),
            _rec(0, 1, 0.5, 0.70, 0.90),
            _rec(0, 1, 1.0, 0.70, 0.40)]  # a tie on validation: the smaller lambda
    assert lr.choose_lambda(runs[:3])["lambda"] == 0.5 and lr.choose_lambda(runs[3:])["lambda"] == 0.5
    s = lr._summary(runs, [0], [0.0, 0.5, 1.0], [0, 1])
    assert s["chosen"]["lambda_per_seed"] == [[0.5, 0.5]]
    assert s["chosen"]["test_accuracy"][0]["values"] == [0.55, 0.90]
    assert s["chosen"]["gain"][0]["values"] == pytest.approx([-0.05, 0.30])
    assert s["equal_compute"]["lambda0_test_accuracy"][0]["values"] == [0.61, 0.63]  # the chosen run's budget
    changed = [dict(r, test_accuracy=0.0) if r["lambda"] == 1.0 else r for r in runs]
    assert lr._summary(changed, [0], [0.0, 0.5, 1.0], [0, 1])["chosen"] == s["chosen"]
    with pytest.raises(ValueError, match="lambda > 0"):
        lr.choose_lambda(runs[:1])


def test_paired_statistics_match_scipy():
    stats = pytest.importorskip("scipy.stats")
    a = [0.82, 0.77, 0.66, 0.80, 0.71, 0.69]
    b = [0.70, 0.70, 0.675, 0.725, 0.60, 0.66]
    g = lr.paired_gain(a, b)
    diff = [x - y for x, y in zip(a, b)]
    assert g["values"] == pytest.approx(diff) and g["n"] == 6
    assert g["mean"] == pytest.approx(sum(diff) / 6)
    assert g["std"] == pytest.approx(float(stats.tstd(diff)))
    low, high = stats.t.interval(0.95, 5, loc=g["mean"], scale=stats.sem(diff))
    assert (g["low"], g["high"]) == (pytest.approx(low), pytest.approx(high))
    assert g["ci95"] == pytest.approx((high - low) / 2)
    assert g["p_value"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    # the four seeds of lambda 0.5 over 0 at 40 px: mean +6.4, sd 5.7, p ~ 0.11
    g4 = lr.describe([0.122, 0.072, -0.0145, 0.0755])
    assert (g4["mean"], g4["std"]) == (pytest.approx(0.0638, abs=1e-4), pytest.approx(0.0569, abs=1e-4))
    assert 0.09 < g4["p_value"] < 0.13
    assert g4["p_value"] == pytest.approx(stats.ttest_1samp([0.122, 0.072, -0.0145, 0.0755], 0).pvalue)
    one = lr.describe([0.3])
    assert one["mean"] == 0.3 and one["ci95"] is None and one["p_value"] is None
    flat = lr.describe([0.1, 0.1, 0.1])
    assert (flat["low"], flat["high"], flat["p_value"]) == (pytest.approx(0.1), pytest.approx(0.1), 0.0)
    with pytest.raises(ValueError, match="equal lengths"):
        lr.paired_gain([1, 2], [1])


def _result(task, gains, base=None, seeds=5, cost=None):
    """A result dict whose summary has the given per-seed gains at the longest range (and cost at the shortest)."""
    base = base or [0.5] * seeds
    cost = cost or [0.0] * seeds
    return {"task": task, "seeds": list(range(seeds)), "lambdas": [0.0, 1.0],
            "summary": {"chosen": {"gain": [lr.describe(cost), lr.describe(gains)]},
                        "lambdas": {"0": {"test_accuracy": [lr.describe(base), lr.describe(base)]}}}}


def test_verdicts_come_from_the_paired_ci_lower_bound():
    clear = [0.08, 0.09, 0.07, 0.085, 0.075]  # mean 8, CI about [+6.8, +9.2] points
    assert lr._verdicts(_result("is-same", clear))["gain"]["status"] == "met"
    noisy = [0.20, 0.0, 0.10, -0.02, 0.12]  # mean +8 but the CI reaches below +5
    v = lr._verdicts(_result("is-same", noisy))
    assert v["gain"]["status"] == "NOT met" and v["cost"]["status"] == "met"
    assert "lower bound" in v["rule"]
    assert lr._verdicts(_result("is-same", clear, cost=[-0.03] * 5))["cost"]["status"] == "NOT met"
    assert lr._verdicts(_result("is-same", clear[:4], seeds=4))["gain"]["status"] == "not assessed"
    big = [0.30, 0.31, 0.29, 0.30, 0.32]
    assert lr._verdicts(_result("pathfinder", big, base=[0.5, 0.52, 0.49, 0.51, 0.5]))["gain"]["status"] == "met"
    # the same gain over a baseline that learned the task (CI above 60%) is not the target
    assert lr._verdicts(_result("pathfinder", big, base=[0.64, 0.66, 0.65, 0.63, 0.66]))["gain"]["status"] == "NOT met"


def test_a_run_over_one_range_judges_neither_target():
    # One range is the shortest and the longest at once: a +27-point gain must not read as "cost met" (nor a
    # gap-0 run's small difference as the long-range gain).
    one = _result("is-same", [0.27, 0.28, 0.26, 0.29, 0.27])
    one["summary"]["chosen"]["gain"] = one["summary"]["chosen"]["gain"][-1:]
    v = lr._verdicts(one)
    assert v["gain"]["status"] == v["cost"]["status"] == "not assessed"
    assert "one range" in v["cost"]["why"]
    assert all("not assessed (one range" in line for line in lr._verdict_items({"verdicts": v}))


@pytest.mark.parametrize("task", ["is-same", "pathfinder"])
def test_quick_is_a_smoke_run_without_verdicts(tmp_path, monkeypatch, capsys, task):
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "cache"))
    cfg = dict(MICRO[task], seeds=5)  # enough seeds and two ranges: a full run would judge
    result = lr.run(out_dir=tmp_path, task=task, quick=True, cfg=cfg)
    out = capsys.readouterr().out
    stem = tmp_path / f"locality_regularizer_{task.replace('-', '_')}"
    md = stem.with_suffix(".md").read_text()
    saved = json.loads(stem.with_suffix(".json").read_text())
    assert "SMOKE RUN" in out and "SMOKE RUN" in md and saved["smoke_run"] is True and saved["quick"] is True
    assert "SMOKE RUN" in saved["note"] and saved["verdicts"] is None and result["verdicts"] is None
    for text in (out, md):
        assert not re.search(r"\bmet\b|not assessed|Targets", text)
    full = lr.run(out_dir=tmp_path / "full", task=task, cfg=cfg, seed=0)  # the same runs, not quick: judged
    assert full["verdicts"]["gain"]["status"] in ("met", "NOT met")
    assert re.search(r"\bmet\b", (tmp_path / "full" / stem.with_suffix(".md").name).read_text())


@pytest.mark.parametrize("key, value", [("patience", 0), ("max_epochs", 0), ("min_epochs", -1), ("patience", 2.0),
                                        ("max_epochs", None), ("seeds", 0), ("r_images", 1), ("r_images", 0),
                                        ("train_size", 4), ("ranges", ()), ("ranges", (2, -1)), ("ranges", (2.5,))])
def test_bad_protocol_settings(tmp_path, monkeypatch, key, value):
    monkeypatch.setattr(lr, "train_one", lambda *a, **k: pytest.fail("trained with a bad setting"))
    with pytest.raises(ValueError, match=key):
        lr.run(out_dir=tmp_path, task="pathfinder", cfg=dict(MICRO["pathfinder"], **{key: value}))


def test_lambdas_equal_to_six_digits_are_refused():
    # the summaries key lambdas by f"{lam:g}": 0.1 and 0.1000001 merged into one row
    with pytest.raises(ValueError, match="6 significant digits"):
        lr.check_lambda_grid([0, 0.1, 0.1000001])
    assert lr.check_lambda_grid([0.3, 0, 0.1, 0.3]) == (0.0, 0.1, 0.3)


@pytest.mark.parametrize("ranges", [(3, 2), (3, 2, 3), (3, 3)])
def test_ranges_are_sorted_without_repeats(tmp_path, monkeypatch, ranges):
    """The verdicts read ranges[0] as the shortest and ranges[-1] as the longest range: through the Python API,
    ranges=(3, 2) judged the gain target at the shorter range and the cost at the longer, and (3, 3) judged one
    range as both (the one-range rule's case)."""
    seen = []
    monkeypatch.setattr(lr, "_run", lambda *a: seen.append(a[6]["ranges"]))
    lr.run(out_dir=tmp_path, task="pathfinder", cfg=dict(MICRO["pathfinder"], ranges=ranges))
    assert seen == [tuple(sorted(set(ranges)))]


def test_heldout_penalty_weights_batches_by_their_images(monkeypatch):
    """Mean R over the images: a short last batch (3 images after a batch of 4) counts for 3, not for 4."""
    from rankcore import cnn

    values = iter([0.2, 0.9])
    monkeypatch.setattr(cnn, "anti_locality_penalty", lambda model, xb, I, J: (torch.tensor(next(values)), None))
    r = lr.heldout_penalty(torch.nn.Identity(), torch.zeros(7, 1, 8, 8), cnn.DistantSquaresSampler(2, 1), "cpu", batch=4)
    assert r == pytest.approx((4 * 0.2 + 3 * 0.9) / 7)


@pytest.mark.parametrize("lambdas", [(0.3, 0.0, 1.0), (0.3, 1.0), (0.0, -1.0), (0.0, float("inf"))])
def test_lambda_grid_holds_zero_and_is_sorted(tmp_path, monkeypatch, lambdas):
    """The summary reads lambdas[0] as the baseline: an unsorted grid through the Python API measured the 'gain
    over lambda 0' against lambda 0.3. Sorted grids with 0 run; others are refused before any training."""
    if 0.0 in lambdas and all(0 <= lam < float("inf") for lam in lambdas):
        seen = []
        monkeypatch.setattr(lr, "_run", lambda *a: seen.append(a[6]["lambdas"]))
        lr.run(out_dir=tmp_path, task="pathfinder", cfg=dict(MICRO["pathfinder"], lambdas=lambdas))
        assert seen == [tuple(sorted(lambdas))]
        return
    monkeypatch.setattr(lr, "train_one", lambda *a, **k: pytest.fail("trained with a bad lambda grid"))
    with pytest.raises(ValueError, match="lambdas"):
        lr.run(out_dir=tmp_path, task="pathfinder", cfg=dict(MICRO["pathfinder"], lambdas=lambdas))


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True])
def test_bad_jobs(tmp_path, jobs):
    with pytest.raises(ValueError, match="jobs"):
        lr.run(out_dir=tmp_path, task="pathfinder", cfg=MICRO["pathfinder"], jobs=jobs)


def test_jobs_need_the_cpu(tmp_path):
    with pytest.raises(ValueError, match="jobs > 1 runs CPU processes"):
        lr.run(out_dir=tmp_path, task="pathfinder", cfg=MICRO["pathfinder"], jobs=2, device="cuda")


def test_run_trains_with_one_thread_and_restores_the_count(tmp_path, monkeypatch, capsys):
    """The CPU configurations are sized for one thread: torch's default count made --quick 20x slower."""
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "cache"))
    cfg = dict(MICRO["pathfinder"], ranges=(2,), lambdas=(0.0,), seeds=1)
    seen = []
    real = lr.train_one

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(lr, "train_one", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        result = lr.run(out_dir=tmp_path / "one", task="pathfinder", cfg=cfg)
        assert seen == [1] and torch.get_num_threads() == 2
        assert result["torch_threads"] == 1 and "set_num_threads(1)" in capsys.readouterr().out
        lr.run(out_dir=tmp_path / "two", task="pathfinder", cfg=cfg, threads=2)
        assert seen == [1, 2] and torch.get_num_threads() == 2

        def fail(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(lr, "train_one", fail)
        with pytest.raises(KeyboardInterrupt):
            lr.run(out_dir=tmp_path / "stopped", task="pathfinder", cfg=cfg)
        assert torch.get_num_threads() == 2  # restored on the way out too
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("threads", [0, -1, 1.5, True, "1"])
def test_bad_threads(tmp_path, threads):
    with pytest.raises(ValueError, match="threads"):
        lr.run(out_dir=tmp_path, task="pathfinder", cfg=MICRO["pathfinder"], threads=threads)


def test_missing_matplotlib_fails_before_training_and_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(lr, "train_one", lambda *a, **k: pytest.fail("trained without a way to plot"))
    with pytest.raises(RuntimeError, match=r"pip install 'rankcore\[cnn\]'"):
        lr.run(out_dir=tmp_path, task="pathfinder", cfg=MICRO["pathfinder"])


def test_the_cnn_extra_holds_the_optional_imports():
    tomllib = pytest.importorskip("tomllib")
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("no source checkout")
    extras = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    names = {re.split(r"[<>=!~\[ ]", req, maxsplit=1)[0].lower() for req in extras["cnn"]}
    # rankcore.cnn.data: sklearn's digits (and tqdm's bar when present); the experiment: matplotlib's PNG
    assert {"scikit-learn", "matplotlib", "tqdm"} <= names


@pytest.mark.parametrize("penalty, estimator, samples", [("exact", "exact", None), ("quarter", "exact", 16),
                                                         ("eighth", "exact", 8), ("fd", "finite_difference", None),
                                                         ("fd-quarter", "finite_difference", 16),
                                                         ("fd-eighth", "finite_difference", 8),
                                                         ("eighth-every2", "exact", 8)])
def test_penalty_names_choose_the_estimator_and_the_subset(penalty, estimator, samples):
    reg = lr._regularizer(lambda h, w, g: None, penalty, 64)
    assert (reg.estimator, reg.samples, reg.every) == (estimator, samples, 2 if penalty.endswith("every2") else 1)
    assert set(lr.STEP_COST["is-same"]) == set(lr.STEP_COST["pathfinder"]) == set(lr.PENALTIES)
    assert lr._regularizer(lambda h, w, g: None, penalty, 8).samples in (None, 2)  # a subset has >= 2 samples


@pytest.mark.parametrize("penalty,form", [("fd-quarter", "cosine"), ("quarter", "angle")])
def test_run_trains_with_the_chosen_penalty_and_form(tmp_path, monkeypatch, penalty, form):
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "cache"))
    cfg = dict(MICRO["is-same"], ranges=(4,), lambdas=(0.0, 1.0), seeds=1)
    used = []
    real = lr._regularizer
    monkeypatch.setattr(lr, "_regularizer", lambda *args: used.append(args[1:]) or real(*args))
    result = lr.run(out_dir=tmp_path, task="is-same", cfg=cfg, penalty=penalty, penalty_form=form)
    assert used == [(penalty, 8, form)]
    assert (result["config"]["penalty"], result["config"]["penalty_form"]) == (penalty, form)
    text = (tmp_path / "locality_regularizer_is_same.md").read_text()
    assert f"penalty={penalty}" in text and f"penalty_form={form}" in text
    if form == "angle":
        assert "penalty quarter, angle form" in text
    # training logs the form's R (the angle form's lies below the cosine R of the same gradients), in [0, 1]
    assert all(0 <= v <= 1 for v in result["runs"][1]["penalty"])
    assert lr._regularizer(lambda h, w, g: None, "eighth", 64, form).form == form
    assert lr._regularizer(lambda h, w, g: None, "eighth", 64).form == "cosine"
    defaults = lr.run(out_dir=tmp_path, task="is-same", cfg=dict(cfg, lambdas=(0.0,)))["config"]
    assert (defaults["penalty"], defaults["penalty_form"]) == ("exact", "cosine")


@pytest.mark.parametrize("form", ["cos", "Angle", None, ["angle"]])
def test_bad_penalty_form(tmp_path, monkeypatch, form):
    monkeypatch.setattr(lr, "train_one", lambda *a, **k: pytest.fail("trained with a bad penalty form"))
    with pytest.raises(ValueError, match=r"penalty_form must be one of \('cosine', 'angle'\)"):
        lr.run(out_dir=tmp_path, task="pathfinder", cfg=MICRO["pathfinder"], penalty_form=form)


@pytest.mark.parametrize("penalty", ["fd-half", "finite_difference", None, ["exact"]])
def test_bad_penalty(tmp_path, monkeypatch, penalty):
    monkeypatch.setattr(lr, "train_one", lambda *a, **k: pytest.fail("trained with a bad penalty"))
    with pytest.raises(ValueError, match="penalty must be one of"):
        lr.run(out_dir=tmp_path, task="pathfinder", cfg=MICRO["pathfinder"], penalty=penalty)


def test_cli_passes_penalty_to_the_experiment(monkeypatch, tmp_path):
    import importlib

    from rankcore import cli

    module = importlib.import_module("rankcore.experiments.locality_regularizer")
    seen = {}
    monkeypatch.setattr(module, "run", lambda out_dir, quick, seed, task=None, device="cpu", full_scale=False, jobs=1,
                        penalty="exact", threads=1: seen.update(penalty=penalty, jobs=jobs))
    assert cli.main(["experiment", "locality-regularizer", "--penalty", "eighth", "--jobs", "2",
                     "--out", str(tmp_path)]) == 0
    assert seen == {"penalty": "eighth", "jobs": 2}
    assert cli.main(["experiment", "incremental-rank", "--penalty", "eighth", "--out", str(tmp_path)]) == 2


def test_cpu_is_same_setting_is_the_documented_one():
    # docs/cnn.md and results/locality_regularizer/is_same_pilots.md: the 8 x 104 canvas, gaps 0 and 56 (lambda 0
    # stays at chance at 56 while the pair is inside the last stage's receptive field), lambda 0 / 0.03 / 0.1
    cfg, quick = lr.config("is-same"), lr.config("is-same", quick=True)
    assert cfg["canvas"] == (8, 104) and cfg["object_size"] == 8 and cfg["stem"] == "small" and cfg["width"] == 8
    assert cfg["ranges"] == (0, 56) and quick["ranges"] == cfg["ranges"]
    assert cfg["lambdas"] == (0.0, 0.03, 0.1)
    assert (cfg["min_epochs"], cfg["max_epochs"], cfg["patience"]) == (30, 60, 10)
    from rankcore.cnn import resnet18

    # the receptive field of one last-stage unit, measured: the input columns its value depends on (four random
    # inputs, so that no column is missed through a ReLU that happens to be off)
    torch.manual_seed(0)
    model = resnet18(width=cfg["width"], stem=cfg["stem"]).eval()
    x = torch.randn(4, 1, cfg["canvas"][0], 256, requires_grad=True)
    features = model.stages(model.stem(x))
    features[:, :, :, features.shape[3] // 2].sum().backward()
    columns = (x.grad.abs().sum(dim=(0, 1, 2)) > 0).nonzero().flatten()
    field = int(columns.max() - columns.min() + 1)
    assert field == 109
    span = 2 * cfg["object_size"] + max(cfg["ranges"])  # both objects at the longest gap, outer edge to outer edge
    assert span <= field and span <= cfg["canvas"][1]
