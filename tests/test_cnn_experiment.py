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
    "is-same": dict(canvas=(8, 24), object_size=8, ranges=(0, 4), train_size=16, test_size=16, width=2, epochs=2,
                    batch=8, lambdas=(0.0, 0.5, 1.0), seeds=2, r_images=8, curve_images=16),
    "pathfinder": dict(size=32, ranges=(2, 3), train_size=16, test_size=16, patch=4, min_distance=6, width=2,
                       epochs=1, batch=8, lambdas=(0.0, 3.0), seeds=2, r_images=8, curve_images=0),
}


@pytest.mark.parametrize("task", ["is-same", "pathfinder"])
def test_run_writes_json_png_md(tmp_path, monkeypatch, task):
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "cache"))
    result = lr.run(out_dir=tmp_path / "out", task=task, seed=3, cfg=MICRO[task])
    stem = tmp_path / "out" / f"locality_regularizer_{task.replace('-', '_')}"
    for ext in (".json", ".png", ".md"):
        assert (stem.parent / (stem.name + ext)).stat().st_size > 0
    saved = json.loads((stem.parent / (stem.name + ".json")).read_text())
    assert saved["task"] == task and saved["seeds"] == [3, 4]
    lambdas = MICRO[task]["lambdas"]
    assert len(saved["runs"]) == len(MICRO[task]["ranges"]) * len(lambdas) * 2
    for lam in lambdas:
        rows = saved["summary"][f"{lam:g}"]
        for key in ("test_accuracy", "heldout_penalty", "train_accuracy"):
            assert len(rows[key]) == len(MICRO[task]["ranges"])
        assert all(len(per) == 2 for per in rows["test_accuracy_per_seed"])
        assert all(0 <= a <= 1 for a in rows["test_accuracy"])
        assert all(0 <= r <= 1 + 1e-6 for r in rows["heldout_penalty"])
    assert set(saved["targets"]) == {f"{lam:g}" for lam in lambdas[1:]}
    for run in saved["runs"]:
        assert (run["penalty"][0] is None) == (run["lambda"] == 0)
        if task == "is-same":  # one point per epoch; curve_images = test_size, so the last point is the final one
            curve = run["test_accuracy_curve"]
            assert len(curve) == MICRO[task]["epochs"] and all(0 <= a <= 1 for a in curve)
            assert curve[-1] == run["test_accuracy"]
        else:
            assert "test_accuracy_curve" not in run
    md = (stem.parent / (stem.name + ".md")).read_text()
    assert "Test accuracy" in md and "Held-out penalty R" in md
    assert result["config"]["width"] == 2


def test_registered_and_configs():
    assert EXPERIMENTS["locality-regularizer"] == "rankcore.experiments.locality_regularizer"
    for task in lr.TASKS:
        full, cpu, quick = lr.config(task, full_scale=True), lr.config(task), lr.config(task, quick=True)
        assert full["width"] == 64 and full["stem"] == "imagenet" and full["batch"] == 64
        assert len(cpu["lambdas"]) == 3 and cpu["lambdas"][0] == 0 and cpu["seeds"] >= 2
        assert quick["epochs"] < cpu["epochs"]
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
    keys = ("range", "lambda", "seed", "test_accuracy", "train_accuracy", "heldout_penalty", "loss", "penalty")
    assert [[r[k] for k in keys] for r in parallel["runs"]] == [[r[k] for k in keys] for r in sequential["runs"]]
    assert "x 2 processes" in (tmp_path / "par" / "locality_regularizer_pathfinder.md").read_text()


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
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("no source checkout")
    extras = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    names = {re.split(r"[<>=!~\[ ]", req, maxsplit=1)[0].lower() for req in extras["cnn"]}
    # rankcore.cnn.data: sklearn's digits (and tqdm's bar when present); the experiment: matplotlib's PNG
    assert {"scikit-learn", "matplotlib", "tqdm"} <= names


@pytest.mark.parametrize("penalty, estimator, samples", [("exact", "exact", None), ("quarter", "exact", 16),
                                                         ("eighth", "exact", 8), ("fd", "finite_difference", None),
                                                         ("fd-quarter", "finite_difference", 16),
                                                         ("fd-eighth", "finite_difference", 8)])
def test_penalty_names_choose_the_estimator_and_the_subset(penalty, estimator, samples):
    reg = lr._regularizer(lambda h, w, g: None, penalty, 64)
    assert (reg.estimator, reg.samples) == (estimator, samples)
    assert lr._regularizer(lambda h, w, g: None, penalty, 8).samples in (None, 2)  # a subset has >= 2 samples


def test_run_trains_with_the_chosen_penalty(tmp_path, monkeypatch):
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "cache"))
    cfg = dict(MICRO["is-same"], ranges=(4,), lambdas=(0.0, 1.0), seeds=1)
    used = []
    real = lr._regularizer
    monkeypatch.setattr(lr, "_regularizer", lambda *args: used.append(args[1:]) or real(*args))
    result = lr.run(out_dir=tmp_path, task="is-same", cfg=cfg, penalty="fd-quarter")
    assert used == [("fd-quarter", 8)] and result["config"]["penalty"] == "fd-quarter"
    assert "penalty=fd-quarter" in (tmp_path / "locality_regularizer_is_same.md").read_text()
    assert all(0 <= v <= 1 for v in result["runs"][1]["penalty"])
    assert lr.run(out_dir=tmp_path, task="is-same", cfg=dict(cfg, lambdas=(0.0,)))["config"]["penalty"] == "exact"


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
