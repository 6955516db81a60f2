"""The sparsification harness (small runs) and the walk-index-validation experiment (quick)."""

import json

import pytest
import torch

pytest.importorskip("torch_geometric")

import rankcore  # noqa: E402
from rankcore import datasets  # noqa: E402
from rankcore.experiments import sparsification as S  # noqa: E402


def test_gcn_layer_matches_pyg_gcnconv():
    from torch_geometric.nn import GCNConv

    data = datasets.load("sbm", seed=0, block_sizes=(15, 15), num_features=6)
    conv = GCNConv(6, 64)
    model = S.GNN("gcn", 6, 2, depth=1)
    with torch.no_grad():
        model.lins[0].weight.copy_(conv.lin.weight)
        model.lins[0].bias.copy_(conv.bias)
    adj = S.propagation_matrix(data.edge_index, data.num_nodes, "gcn")
    lin = model.lins[0]
    ours = torch.sparse.mm(adj, data.x @ lin.weight.t()) + lin.bias
    assert torch.allclose(ours, conv(data.x, data.edge_index), atol=1e-5)


def test_gin_layer_matches_pyg_ginconv():
    from torch import nn
    from torch_geometric.nn import GINConv

    data = datasets.load("sbm", seed=1, block_sizes=(10, 12), num_features=5)
    mlp = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8))
    conv = GINConv(mlp)
    adj = S.propagation_matrix(data.edge_index, data.num_nodes, "gin")
    hw = data.x @ mlp[0].weight.t()
    ours = mlp[2](torch.relu(torch.sparse.mm(adj, hw) + mlp[0].bias))  # eps = 0
    assert torch.allclose(ours, conv(data.x, data.edge_index), atol=1e-5)


def test_small_harness_run(tmp_path):
    data = datasets.load("sbm", seed=0, block_sizes=(40, 40, 40), p_in=0.15, p_out=0.02, num_features=8)
    out = S.run("sbm", ["wis", "random", "local_degree"], [0.0, 0.5], ["gcn", "gin"], 2, data=data,
                out_dir=tmp_path, epochs=15, name="small", threads=1)
    saved = json.loads((tmp_path / "small.json").read_text())
    assert (tmp_path / "small.png").stat().st_size > 0 and "| 50% |" in (tmp_path / "small.md").read_text()
    m = rankcore.Graph.from_input(data.edge_index, data.num_nodes).num_edges // 2
    assert saved["undirected_edges"] == m
    assert "| 50% |" in out["table"]  # the returned table is the one written
    for model in ("gcn", "gin"):
        res = saved["results"][model]
        for spec in ("wis", "random", "local_degree"):
            for r in ("0.00", "0.50"):
                runs = res[spec][r]["runs"]
                assert len(runs) == 2 and all(0.0 <= a <= 1.0 for a in runs)
                assert res[spec][r]["mean"] == pytest.approx(sum(runs) / 2)
        # nothing removed: same graph, split and seed for every method -> identical runs (paired design)
        assert res["wis"]["0.00"]["runs"] == res["random"]["0.00"]["runs"] == res["local_degree"]["0.00"]["runs"]


def test_directed_input_trains_on_the_graph_the_sparsifiers_see(tmp_path):
    """The sparsifiers symmetrise a one-way edge list; the GNNs must be trained on that same undirected graph (they
    saw the one-way columns): the results equal those of the symmetric input, with a warning."""
    import copy
    data = datasets.load("sbm", seed=1, block_sizes=(20, 20), p_in=0.2, p_out=0.03, num_features=6)
    one_way = copy.copy(data)
    one_way.edge_index = data.edge_index[:, data.edge_index[0] < data.edge_index[1]]
    common = dict(out_dir=tmp_path, epochs=6, threads=1, plot=False)
    both = S.run("sbm", ["wis", "random"], [0.0, 0.5], ["gcn"], 2, data=data, name="both", **common)
    with pytest.warns(UserWarning, match="directed"):
        single = S.run("sbm", ["wis", "random"], [0.0, 0.5], ["gcn"], 2, data=one_way, name="single", **common)
    assert single["results"] == both["results"]


@pytest.mark.slow
def test_jobs_give_the_one_process_results_run_for_run(tmp_path):
    data = datasets.load("sbm", seed=2, block_sizes=(30, 30), p_in=0.2, p_out=0.03, num_features=6)
    common = dict(data=data, out_dir=tmp_path, epochs=8, threads=1, plot=False)
    one = S.run("sbm", ["wis", "random"], [0.0, 0.4], ["gcn", "gin"], 3, name="one", **common)
    two = S.run("sbm", ["wis", "random"], [0.0, 0.4], ["gcn", "gin"], 3, name="two", jobs=2, **common)
    assert one["results"] == two["results"] and one["table"] == two["table"]
    with pytest.raises(ValueError, match="jobs must be an int >= 1"):
        S.run("sbm", ["random"], [0.0], ["gcn"], 1, jobs=0, **common)


def test_statistics_against_scipy():
    import statistics

    scipy_stats = pytest.importorskip("scipy.stats")
    values = [0.81, 0.84, 0.79, 0.86, 0.83, 0.80]
    got = S.summarize(values)
    assert got["mean"] == pytest.approx(statistics.mean(values))
    assert got["std"] == pytest.approx(statistics.stdev(values))
    lo, hi = scipy_stats.t.interval(0.95, len(values) - 1, loc=statistics.mean(values),
                                    scale=statistics.stdev(values) / len(values) ** 0.5)
    assert got["ci95"] == pytest.approx((hi - lo) / 2)
    assert S.summarize([0.5])["std"] == 0.0
    for dof in (1, 4, 9, 29):
        assert S.t_quantile_975(dof) == pytest.approx(scipy_stats.t.ppf(0.975, dof), abs=1e-3)


def test_t_quantile_without_scipy_beyond_the_table(monkeypatch):
    """Without scipy, dof > 30 used the normal 1.960 (t is 2.040 at 31 dof): every CI over 32+ seeds too narrow."""
    import sys

    scipy_stats = pytest.importorskip("scipy.stats")
    exact = {dof: float(scipy_stats.t.ppf(0.975, dof)) for dof in (1, 9, 30, 31, 40, 60, 100, 1000)}
    monkeypatch.setitem(sys.modules, "scipy.stats", None)  # import fails: the fallback
    from rankcore.experiments._stats import t_quantile_975
    for dof, q in exact.items():
        assert t_quantile_975(dof) == pytest.approx(q, abs=1e-3)


def test_winner_needs_a_paired_ci_above_zero():
    per = {"a": {0.5: [0.80, 0.82, 0.81, 0.83, 0.79]}, "b": {0.5: [0.78, 0.80, 0.79, 0.81, 0.77]},
           "c": {0.5: [0.60, 0.61, 0.62, 0.60, 0.61]}}
    assert S.winner(per, 0.5) == "a"  # a beats b by 0.02 on every split: paired CI above 0
    per["b"][0.5] = [0.83, 0.79, 0.82, 0.80, 0.805]  # b's mean just below a's, gains of both signs
    assert S.winner(per, 0.5) is None
    assert S.winner({"a": {0.5: [0.8, 0.9]}}, 0.5) is None


def test_paper_preset_fills_what_was_not_given(monkeypatch):
    from rankcore import cli

    seen = {}

    def fake_run(dataset, methods, ratios, models, seeds, **kw):
        seen.update(methods=methods, ratios=ratios, models=models, seeds=seeds, epochs=kw["epochs"], jobs=kw["jobs"],
                    training=kw["training"])
        return {"table": "", "total_seconds": 0.0, "threads": 1, "png": "x.png"}
    monkeypatch.setattr(S, "run", fake_run)
    assert cli.main(["evaluate", "--dataset", "karate", "--preset", "paper", "--quiet", "--seeds", "4",
                     "--jobs", "2"]) == 0
    assert seen == {"methods": ["random", "local_degree", "spectral", "wis", "wis:3", "k_neighbor", "degree"],
                    "ratios": [i / 10 for i in range(10)], "models": ["gcn", "gin"], "seeds": 4, "epochs": None,
                    "jobs": 2, "training": "default"}  # epochs None: the training's own cap (200 by default)
    assert cli.main(["evaluate", "--dataset", "karate", "--quiet", "--training", "published", "--epochs", "30"]) == 0
    assert seen["training"] == "published" and seen["epochs"] == 30


def test_published_training_uses_the_published_split_and_optimiser(monkeypatch, tmp_path):
    """--training published: every seed trains on the published code's one split (numpy seed 1), with its
    optimiser settings; the default draws a split per seed."""
    import numpy as np

    data = datasets.load("sbm", seed=0, block_sizes=(30, 30), p_in=0.2, p_out=0.03, num_features=6)
    calls = []

    def spy(kind, x, y, adj, split, seed, **kw):
        calls.append((tuple(split[0].tolist()), seed, kw))
        return 0.5
    monkeypatch.setattr(S, "train_once", spy)
    S.run("sbm", ["random"], [0.0], ["gcn"], 3, data=data, out_dir=tmp_path, plot=False, training="published")
    order = np.arange(60)
    np.random.RandomState(1).shuffle(order)
    assert {c[0] for c in calls} == {tuple(order[:48].tolist())} and [c[1] for c in calls] == [0, 1, 2]
    assert calls[0][2] == {"epochs": 10000, "lr": 5e-4, "weight_decay": 1e-3, "patience": 1000}
    calls.clear()
    S.run("sbm", ["random"], [0.0], ["gcn"], 3, data=data, out_dir=tmp_path, plot=False, epochs=7)
    assert len({c[0] for c in calls}) == 3 and calls[0][2] == {"epochs": 7, "lr": 0.01, "weight_decay": 5e-4,
                                                                "patience": 50}
    with pytest.raises(ValueError, match="training must be one of"):
        S.run("sbm", ["random"], [0.0], ["gcn"], 1, data=data, out_dir=tmp_path, plot=False, training="paper")


def test_harness_bad_arguments():
    data = datasets.load("karate")
    with pytest.raises(ValueError, match="unknown method"):
        S.run("karate", ["nope"], [0.0], ["gcn"], 1, data=data, plot=False)
    with pytest.raises(ValueError, match="ratios must be in"):
        S.run("karate", ["random"], [1.0], ["gcn"], 1, data=data, plot=False)
    with pytest.raises(ValueError, match="unknown model"):
        S.run("karate", ["random"], [0.0], ["gat"], 1, data=data, plot=False)
    with pytest.raises(ValueError, match="differ at 2 decimals"):  # both were results["0.12"]: one overwrote
        S.run("karate", ["random"], [0.12, 0.125], ["gcn"], 1, data=data, plot=False)
    with pytest.raises(ValueError, match="wis:L"):
        S.parse_method("wis:x")
    assert S.parse_method("wis:3") == ("wis", {"depth": 3})


@pytest.mark.slow
def test_walk_index_validation_quick(tmp_path):
    """The experiment through its command (`rankcore experiment walk-index-validation --quick`): what it
    writes and the numbers in its JSON."""
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    from cli_runner import run_in_process as run_cli

    from rankcore.experiments import walk_index_validation as W
    from rankcore.reference import walk_index_reference

    ei = W.two_cliques()
    assert rankcore.Graph.from_input(ei, 32).num_edges == 2 * (2 * 120 + 1)
    # every placement puts the 32 patches on 32 distinct vertices
    for placement in W.placements().values():
        assert sorted(placement.tolist()) == list(range(32))
    command = run_cli("experiment", "walk-index-validation", "--quick", "--out", str(tmp_path))
    assert command.returncode == 0, command.stderr
    saved = json.loads((tmp_path / "walk_index_validation.json").read_text())
    assert (tmp_path / "walk_index_validation.png").stat().st_size > 0
    low, high = saved["arrangements"]["low walk index"], saved["arrangements"]["high walk index"]
    for name, arr in saved["arrangements"].items():
        part = torch.zeros(32, dtype=torch.bool)
        part[W.placements()[name][:16]] = True
        assert arr["walk_index_L3"] == int(walk_index_reference(ei, 32, part, 3))
    assert high["walk_index_L3"] > 10 * low["walk_index_L3"]
    assert low["boundary_size"] == 2 and high["boundary_size"] == 32
    assert set(saved["high_fits_better"]) == {"gcn", "gin"}


@pytest.mark.slow
def test_sparsification_homophily_quick(tmp_path):
    pytest.importorskip("matplotlib")
    from rankcore.experiments import sparsification_homophily as H

    n, classes, degree = 2500, 5, 5.0
    for h in (0.1, 0.5, 0.95):
        p_in, p_out = H.block_probabilities(n, classes, degree, h)
        same, other = n / classes, n - n / classes  # neighbours a vertex can have in / outside its class
        assert p_in * same + p_out * other == pytest.approx(degree, rel=1e-3)
        assert p_in * same / degree == pytest.approx(h, rel=1e-3)
    out = H.run(tmp_path, quick=True)
    assert (tmp_path / "sparsification_homophily.png").stat().st_size > 0
    assert "QUICK smoke run" in (tmp_path / "sparsification_homophily.md").read_text()
    for level in out["levels"]:
        assert abs(level["homophily_measured"] - level["homophily_target"]) < 0.1
        acc = level["accuracy"]
        for spec, per_ratio in level["gain_over_random"].items():
            for key, gain in per_ratio.items():
                diffs = [a - b for a, b in zip(acc[spec][key]["runs"], acc["random"][key]["runs"])]
                assert gain["runs"] == diffs and gain["mean"] == pytest.approx(sum(diffs) / len(diffs))


def test_gains_and_recommendation_rule():
    def out(name, runs):  # runs: {spec: {ratio key: [accuracy per seed]}}
        return {"dataset": name, "results": {"gcn": {spec: {k: {"runs": v} for k, v in per.items()}
                                                     for spec, per in runs.items()}}}
    a = out("A", {"random": {"0.50": [0.70, 0.72, 0.71, 0.69]}, "good": {"0.50": [0.75, 0.76, 0.76, 0.74]},
                  "bad": {"0.50": [0.60, 0.61, 0.62, 0.60]}, "tie": {"0.50": [0.71, 0.71, 0.70, 0.70]}})
    b = out("B", {"random": {"0.50": [0.50, 0.52, 0.51, 0.49]}, "good": {"0.50": [0.51, 0.50, 0.53, 0.50]},
                  "bad": {"0.50": [0.70, 0.70, 0.70, 0.70]}, "tie": {"0.50": [0.50, 0.52, 0.51, 0.49]}})
    g = S.gains_over(a, ratios=(0.5,))["gcn"]["good"]["0.50"]
    assert g["runs"] == pytest.approx([0.05, 0.04, 0.05, 0.05]) and g["mean"] == pytest.approx(0.0475)
    rec = S.recommend([a, b], ratios=(0.5,))
    # "bad" wins on average but is significantly worse than random on A; "tie" never beats random
    assert rec["qualified"] == ["good"]
    assert rec["worst_cell"]["bad"][:3] == ("A", "gcn", "0.50")
    assert rec["mean_gain"]["bad"] > rec["mean_gain"]["good"] > 0 >= rec["mean_gain"]["tie"]


def test_recommendation_never_qualifies_a_method_missing_cells():
    """A method absent from some runs (spectral is not in the csbm sweep) passed those cells untested and was
    ranked by a mean over fewer cells: it qualified with the sweep "included"."""
    def out(name, runs):
        return {"dataset": name, "results": {"gcn": {spec: {k: {"runs": v} for k, v in per.items()}
                                                     for spec, per in runs.items()}}}
    a = out("A", {"random": {"0.50": [0.70, 0.72, 0.71, 0.69]}, "good": {"0.50": [0.75, 0.76, 0.76, 0.74]},
                  "partial": {"0.50": [0.72, 0.73, 0.73, 0.71]}})
    b = out("B", {"random": {"0.50": [0.50, 0.52, 0.51, 0.49]}, "good": {"0.50": [0.51, 0.53, 0.52, 0.50]}})
    rec = S.recommend([a, b], ratios=(0.5,))
    assert rec["qualified"] == ["good"]
    assert rec["missing_cells"] == {"good": 0, "partial": 1}
    assert S.recommend([a], ratios=(0.5,))["qualified"] == ["good", "partial"]  # tested everywhere: qualifies
