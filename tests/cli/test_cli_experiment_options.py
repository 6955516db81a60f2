"""rankcore experiment's locality-regularizer options reach run() (--penalty-form, --lambdas), and the other
experiments refuse them: run() is replaced by a recorder, nothing trains."""

import functools
import json

import pytest

from rankcore.cli import main
from rankcore.experiments import locality_regularizer


@pytest.fixture
def recorded(monkeypatch):
    calls = []

    @functools.wraps(locality_regularizer.run)  # the command reads run()'s signature
    def record(**kw):
        calls.append(kw)

    monkeypatch.setattr(locality_regularizer, "run", record)
    return calls


def test_penalty_form_and_lambdas_reach_run(recorded, tmp_path, capsys):
    argv = ["experiment", "locality-regularizer", "--out", str(tmp_path), "--task", "is-same", "--penalty", "eighth",
            "--penalty-form", "angle", "--lambdas", "1", "0", "0.3"]
    assert main(argv) == 0
    (kw,) = recorded
    assert kw["penalty"] == "eighth" and kw["penalty_form"] == "angle"
    assert kw["cfg"] == {"lambdas": (0.0, 0.3, 1.0)}


def test_defaults_leave_the_configuration_alone(recorded, tmp_path, capsys):
    assert main(["experiment", "locality-regularizer", "--out", str(tmp_path)]) == 0
    (kw,) = recorded
    assert kw["penalty_form"] == "cosine" and "cfg" not in kw


def test_out_that_is_a_file_fails_before_training(recorded, tmp_path, capsys):
    """--out naming a file was a traceback at the first write, after the whole run."""
    (tmp_path / "file").write_text("precious\n")
    assert main(["experiment", "locality-regularizer", "--out", str(tmp_path / "file")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert not recorded


@pytest.mark.parametrize("lambdas", [["0.1", "1"], ["0", "-1"], ["0", "inf"], ["0", "nan"]])
def test_bad_lambda_grids_are_one_line_errors(recorded, tmp_path, capsys, lambdas):
    assert main(["experiment", "locality-regularizer", "--out", str(tmp_path), "--lambdas", *lambdas]) == 2
    assert "--lambdas must be finite, >= 0 and include 0" in capsys.readouterr().err
    assert not recorded


def test_other_experiments_refuse_the_options(tmp_path, capsys):
    assert main(["experiment", "incremental-rank", "--out", str(tmp_path), "--penalty-form", "angle"]) == 2
    assert "has no --penalty-form option" in capsys.readouterr().err
    assert main(["experiment", "incremental-rank", "--out", str(tmp_path), "--lambdas", "0", "1"]) == 2
    assert "has no --lambdas option" in capsys.readouterr().err


def test_ranges_seeds_and_equal_compute_reach_run(recorded, tmp_path, capsys):
    argv = ["experiment", "locality-regularizer", "--out", str(tmp_path), "--seed", "10", "--lambdas", "0", "1",
            "--ranges", "56", "0", "--seeds", "10", "--no-equal-compute"]
    assert main(argv) == 0
    (kw,) = recorded
    assert kw["seed"] == 10
    assert kw["cfg"] == {"lambdas": (0.0, 1.0), "ranges": (0, 56), "seeds": 10, "equal_compute": False}


def test_ranges_alone_leave_the_rest_of_the_configuration(recorded, tmp_path, capsys):
    assert main(["experiment", "locality-regularizer", "--out", str(tmp_path), "--ranges", "0"]) == 0
    (kw,) = recorded
    assert kw["cfg"] == {"ranges": (0,)}


@pytest.mark.parametrize("argv, message", [(["--ranges", "-1", "0"], "--ranges must be >= 0"),
                                           (["--seeds", "0"], "--seeds must be >= 1")])
def test_bad_ranges_and_seeds_are_one_line_errors(recorded, tmp_path, capsys, argv, message):
    assert main(["experiment", "locality-regularizer", "--out", str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not recorded


@pytest.mark.parametrize("option", [["--ranges", "0"], ["--seeds", "3"], ["--no-equal-compute"]])
def test_other_experiments_refuse_ranges_seeds_equal_compute(tmp_path, capsys, option):
    assert main(["experiment", "incremental-rank", "--out", str(tmp_path), *option]) == 2
    assert f"has no {option[0]} option" in capsys.readouterr().err


def test_set_replaces_configuration_entries_with_their_types(recorded, tmp_path, capsys):
    argv = ["experiment", "locality-regularizer", "--out", str(tmp_path), "--task", "pathfinder", "--set", "size=96",
            "width=8", "patch=12", "lr=0.02", "stem=small", "augment=false", "--ranges", "10"]
    assert main(argv) == 0
    (kw,) = recorded
    assert kw["cfg"] == {"size": 96, "width": 8, "patch": 12, "lr": 0.02, "stem": "small", "augment": False,
                         "ranges": (10,)}
    assert main(["experiment", "locality-regularizer", "--out", str(tmp_path), "--set", "canvas=8,120",
                 "min_epochs=60", "max_epochs=60"]) == 0
    assert recorded[1]["cfg"] == {"canvas": (8, 120), "min_epochs": 60, "max_epochs": 60}


@pytest.mark.parametrize("task, item, message", [
    ("pathfinder", "width", "KEY=VALUE"), ("pathfinder", "=3", "KEY=VALUE"),
    ("pathfinder", "nosuch=1", "no such configuration entry"), ("is-same", "size=96", "no such configuration entry"),
    ("pathfinder", "width=wide", "expected int"), ("is-same", "canvas=8,x", "expected tuple"),
    ("pathfinder", "augment=maybe", "expected bool"), ("pathfinder", "lambdas=0,1", "use --lambdas"),
    ("is-same", "seeds=3", "use --seeds"),
    # int() read "1_0" as 10 and "+8" as 8
    ("pathfinder", "width=1_0", "expected int"), ("is-same", "canvas=+8,104", "expected tuple"),
])
def test_bad_set_items_are_one_line_errors(recorded, tmp_path, capsys, task, item, message):
    argv = ["experiment", "locality-regularizer", "--out", str(tmp_path), "--task", task, "--set", item]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert recorded == []


@pytest.mark.parametrize("option", [["--ranges", "1_0"], ["--seeds", "+3"], ["--seed", "١"], ["--jobs", " 2"]])
def test_integer_options_are_plain_decimal_integers(recorded, tmp_path, capsys, option):
    """type=int read "1_0" as 10, "+3" as 3 and "١" (an Arabic-Indic digit) as 1."""
    with pytest.raises(SystemExit):
        main(["experiment", "locality-regularizer", "--out", str(tmp_path), *option])
    err = capsys.readouterr().err
    assert f"argument {option[0]}: the value must be a plain decimal integer" in err and err.count("\n") == 1
    assert recorded == []


def test_other_experiments_refuse_set(tmp_path, capsys):
    assert main(["experiment", "incremental-rank", "--out", str(tmp_path), "--set", "x=1"]) != 0
    assert "has no --set option" in capsys.readouterr().err


def _result(seeds, lambdas=(0.0, 0.3), value=0):
    """A result JSON's runs: test accuracy 0.5 + seed/100 + lambda/10, validation favouring the larger lambda."""
    return {"runs": [{"range": value, "seed": s, "lambda": lam, "test_accuracy": 0.5 + s / 100 + lam / 10,
                      "val_accuracy": 0.5 + lam, "heldout_penalty": 0.9 - lam} for s in seeds for lam in lambdas]}


def test_pool_prints_the_pooled_table(tmp_path, capsys):
    paths = []
    for k, seeds in enumerate(([0, 1], [2, 3, 4])):
        paths.append(tmp_path / f"r{k}.json")
        paths[-1].write_text(json.dumps(_result(seeds)))
    argv = ["experiment", "locality-regularizer", "--pool", *map(str, paths), "--ranges", "0"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "seeds 0, 1, 2, 3, 4" in out
    # every seed gains exactly 0.03 (3 points): the paired interval collapses there
    assert "| lambda 0.3 | " in out and "+3.0" in out
    assert "validation-chosen (0.3, 0.3, 0.3, 0.3, 0.3)" in out
    assert "+3.0, +3.0, +3.0, +3.0, +3.0" in out


@pytest.mark.parametrize("results, ranges, message", [
    ([[0, 1], [1, 2]], ["0"], "seed 1 is in result 0 and in result 1"),
    ([[0, 1]], ["5"], "no run at range 5"),
    ([[0, 1]], ["0", "1"], "one --ranges VALUE"),
    ([[0, 1]], None, "one --ranges VALUE"),
])
def test_pool_errors_are_one_line(tmp_path, capsys, results, ranges, message):
    paths = []
    for k, seeds in enumerate(results):
        paths.append(tmp_path / f"r{k}.json")
        paths[-1].write_text(json.dumps(_result(seeds)))
    argv = ["experiment", "locality-regularizer", "--pool", *map(str, paths)] + (["--ranges", *ranges] if ranges else [])
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("change, differs", [
    (lambda r: r.update(task="pathfinder"), "task"),
    (lambda r: r.update(quick=True, smoke_run=True), "quick, smoke_run"),
    (lambda r: r["config"].update(penalty_form="cosine"), "config.penalty_form"),
    (lambda r: r["config"].update(canvas=[8, 72]), "config.canvas"),
])
def test_pool_refuses_results_of_other_configurations(tmp_path, capsys, change, differs):
    """Pooling is only meaningful within one configuration; the grid a file covers may differ, nothing else."""
    setting = {"task": "is-same", "quick": False, "smoke_run": False, "full_scale": False, "device": "cpu",
               "config": {"canvas": [8, 104], "penalty": "eighth", "penalty_form": "angle", "lambdas": [0.0, 0.3],
                          "seeds": 2, "ranges": [0], "equal_compute": True}}
    paths = []
    for k, seeds in enumerate(([0, 1], [2, 3])):
        result = {**json.loads(json.dumps(setting)), **_result(seeds)}
        if k == 1:
            result["config"].update(seeds=5, ranges=[0, 56], equal_compute=False, lambdas=[0.0, 0.3, 1.0])
        paths.append(tmp_path / f"r{k}.json")
        paths[-1].write_text(json.dumps(result))
    argv = ["experiment", "locality-regularizer", "--pool", *map(str, paths), "--ranges", "0"]
    assert main(argv) == 0  # seeds, ranges, lambda grid and equal-compute readings may differ
    capsys.readouterr()
    result = json.loads(paths[1].read_text())
    change(result)
    paths[1].write_text(json.dumps(result))
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert f"result 1 differs from result 0 in {differs}" in err and len(err.strip().splitlines()) == 1


def test_pool_of_a_missing_file_is_one_line(tmp_path, capsys):
    assert main(["experiment", "locality-regularizer", "--pool", str(tmp_path / "none.json"), "--ranges", "0"]) != 0
    assert "none.json" in capsys.readouterr().err
