"""rankcore.datasets.load: offline loaders (Planetoid from a read-only raw folder, karate, synthetic)."""

import os
from pathlib import Path

import pytest
import torch

pytest.importorskip("torch_geometric")

import rankcore  # noqa: E402
from rankcore import datasets  # noqa: E402

SHARED = Path(os.environ.get("RANKCORE_DATA", Path(__file__).resolve().parents[3] / "shared" / "datasets"))


@pytest.mark.parametrize("name, nodes, columns, classes", [("Cora", 2708, 10556, 7), ("CiteSeer", 3327, 9104, 6)])
def test_planetoid_offline_from_a_read_only_folder(tmp_path, monkeypatch, name, nodes, columns, classes):
    if not (SHARED / name / "raw").exists():
        pytest.skip(f"no {SHARED / name / 'raw'}")
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "cache"))
    before = sorted(p.name for p in (SHARED / name).iterdir())
    data = datasets.load(name.lower(), str(SHARED))
    assert data.num_nodes == nodes and data.edge_index.shape[1] == columns
    assert int(data.y.max()) + 1 == classes and data.x.shape[0] == nodes
    assert rankcore.Graph.from_input(data.edge_index, nodes).undirected
    assert sorted(p.name for p in (SHARED / name).iterdir()) == before  # nothing written into the source
    # RANKCORE_DATA is the default root; the processed cache is reused
    monkeypatch.setenv("RANKCORE_DATA", str(SHARED))
    again = datasets.load(name)
    assert torch.equal(again.edge_index, data.edge_index)


def test_karate_and_synthetic():
    k = datasets.load("KarateClub")
    assert k.num_nodes == 34 and k.edge_index.shape[1] == 156 and k.x.shape == (34, 34)
    assert int(k.y.sum()) == int(datasets.karate_club().communities.sum())
    a = datasets.load("sbm", seed=3, block_sizes=(20, 30), p_in=0.3, p_out=0.02)
    b = datasets.load("sbm", seed=3, block_sizes=(20, 30), p_in=0.3, p_out=0.02)
    c = datasets.load("sbm", seed=4, block_sizes=(20, 30), p_in=0.3, p_out=0.02)
    assert torch.equal(a.edge_index, b.edge_index) and not torch.equal(a.edge_index, c.edge_index)
    assert a.num_nodes == 50 and a.y.tolist() == [0] * 20 + [1] * 30
    ei = a.edge_index
    inside = (a.y[ei[0]] == a.y[ei[1]]).float().mean()
    assert inside > 0.7  # p_in >> p_out: most edges stay inside a block
    assert rankcore.Graph.from_input(ei, 50).undirected
    p = datasets.load("power-law", num_nodes=300, num_edges=900, seed=1)
    g = rankcore.Graph.from_input(p.edge_index, 300)
    assert g.num_edges == p.edge_index.shape[1]  # simple: no loops or duplicates left
    assert set(p.y.tolist()) <= {0, 1, 2} and p.x.shape == (300, 8)


def test_csbm_is_registered():
    a = datasets.load("csbm", seed=2, n=200, classes=2, p_in=0.1, p_out=0.01, feature_signal=1.5, num_features=4)
    g = datasets.csbm(200, 2, 0.1, 0.01, 1.5, 2, num_features=4)
    assert torch.equal(a.edge_index, g["edge_index"]) and torch.equal(a.x, g["x"]) and torch.equal(a.y, g["y"])
    assert a.num_nodes == 200 and a.homophily == g["homophily"] and a.name == "csbm"
    assert "csbm" in datasets.NAMES
    d = datasets.load("CSBM")  # defaults: Cora-like size, degree and homophily
    assert d.num_nodes == 2500 and 0.7 < d.homophily < 0.9 and 3 < d.edge_index.shape[1] / 2500 < 7
    assert rankcore.Graph.from_input(d.edge_index, 2500).num_edges == d.edge_index.shape[1]  # simple


@pytest.mark.parametrize("call, error, message", [
    (lambda: datasets.load("nope"), ValueError, "unknown dataset"),
    (lambda: datasets.load(3), TypeError, "must be a str"),
    (lambda: datasets.load("sbm", p_in=2.0), ValueError, "probability"),
    (lambda: datasets.load("sbm", block_sizes=(0, 3)), ValueError, "positive"),
    (lambda: datasets.load("power-law", bogus=1), TypeError, "unexpected keyword"),
    (lambda: datasets.load("csbm", bogus=1), TypeError, "unexpected keyword"),
    (lambda: datasets.load("csbm", p_out=float("nan")), ValueError, "probability"),
    (lambda: datasets.load("cora", foo=1), TypeError, "unexpected keyword"),
    # fractional sizes were truncated (10.7 vertices -> 10), NaN noise gave NaN features, 2.5 an obscure error
    (lambda: datasets.load("power-law", num_nodes=10.7), TypeError, "num_nodes must be an int"),
    (lambda: datasets.power_law_graph(2.5, 3), TypeError, "num_nodes must be an int"),
    (lambda: datasets.power_law_graph(3, 2.5), TypeError, "num_edges must be an int"),
    (lambda: datasets.sbm_graph(block_sizes=(2.7, 3)), ValueError, "positive ints"),
    (lambda: datasets.sbm_graph(block_sizes=(2, 3), num_features=-1), ValueError, "num_features must be >= 0"),
    (lambda: datasets.sbm_graph(block_sizes=(2, 3), feature_noise=float("nan")), ValueError, "feature_noise"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_generators_reject_nan_exponents_and_negative_seeds():
    from rankcore.datasets import power_law_graph, sbm_graph
    for exponent in (float("nan"), float("inf"), 2.0):
        with pytest.raises(ValueError, match="exponent"):
            power_law_graph(10, 5, exponent)
    with pytest.raises(ValueError, match="seed"):
        power_law_graph(10, 5, 2.5, seed=-1)
    with pytest.raises(ValueError, match="seed"):
        sbm_graph((5, 5), seed=-1)
    assert torch.equal(power_law_graph(50, 40, 2.5, seed=3), power_law_graph(50, 40, 2.5, seed=3))


def test_sbm_graph_refuses_block_models_it_cannot_enumerate():
    from rankcore.datasets import sbm_graph
    with pytest.raises(MemoryError, match="csbm"):
        sbm_graph((10**6, 10**6))
