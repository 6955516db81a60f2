"""rankcore.datasets.load: offline loaders (Planetoid from a read-only raw folder, karate, synthetic)."""

import os
import pickle
import shutil
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


def _cora_source(tmp_path) -> Path:
    """A writable copy of the shared Cora raw folder (a root holding raw files only)."""
    if not (SHARED / "Cora" / "raw").exists():
        pytest.skip(f"no {SHARED / 'Cora' / 'raw'}")
    shutil.copytree(SHARED / "Cora" / "raw", tmp_path / "source" / "Cora" / "raw")
    return tmp_path / "source"


def _drop_an_edge(source: Path) -> None:
    """Remove one undirected edge from the raw adjacency lists (PyG reads them with pickle, latin1)."""
    path = source / "Cora" / "raw" / "ind.cora.graph"
    with open(path, "rb") as f:
        graph = pickle.load(f, encoding="latin1")
    u = next(v for v, nbrs in graph.items() if nbrs and all(w != v for w in nbrs))
    w = graph[u][0]
    graph[u] = [x for x in graph[u] if x != w]
    graph[w] = [x for x in graph[w] if x != u]
    with open(path, "wb") as f:
        pickle.dump(graph, f, protocol=2)


def test_planetoid_cache_follows_changes_of_the_raw_files(tmp_path, monkeypatch):
    # the cached copy was keyed by the raw folder's path alone: after the source's files changed, load kept
    # returning the graph processed from the old files
    source = _cora_source(tmp_path)
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "cache"))
    before = datasets.load("cora", str(source))
    _drop_an_edge(source)
    after = datasets.load("cora", str(source))
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "fresh"))
    fresh = datasets.load("cora", str(source))
    assert torch.equal(after.edge_index, fresh.edge_index)
    assert after.edge_index.shape[1] < before.edge_index.shape[1]


def test_an_interrupted_planetoid_build_leaves_no_cache_entry(tmp_path, monkeypatch):
    # a Ctrl-C while PyG wrote the processed file left it truncated inside the cache entry, and every later
    # load read it back (a torch.load error until the cache was deleted by hand); a Ctrl-C during the copy
    # left a temporary folder named by the process id that made the next load in the same process fail
    from torch_geometric.datasets import Planetoid

    source = _cora_source(tmp_path)
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "reference"))
    expected = datasets.load("cora", str(source))
    cache = tmp_path / "cache"
    monkeypatch.setenv("RANKCORE_CACHE", str(cache))

    def killed_while_saving(self):
        with open(self.processed_paths[0], "wb") as f:
            f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(Planetoid, "process", killed_while_saving)
        with pytest.raises(KeyboardInterrupt):
            datasets.load("cora", str(source))
    real_copytree = shutil.copytree

    def killed_while_copying(src, dst, *args, **kwargs):
        real_copytree(src, dst, *args, **kwargs)
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(shutil, "copytree", killed_while_copying)
        with pytest.raises(KeyboardInterrupt):
            datasets.load("cora", str(source))
    assert list((cache / "planetoid").iterdir()) == []  # no entry and no temporary folder left
    again = datasets.load("cora", str(source))
    assert torch.equal(again.edge_index, expected.edge_index) and torch.equal(again.x, expected.x)
    assert [p.name.startswith(".") for p in (cache / "planetoid").iterdir()] == [False]


def test_an_empty_rankcore_cache_is_the_default_folder(tmp_path, monkeypatch):
    # RANKCORE_CACHE="" wrote the cached copy into the working directory (rankcore.cnn.data reads an empty
    # variable as unset); "~/..." made a folder named "~" there
    source = _cora_source(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("RANKCORE_CACHE", "")
    assert datasets.load("cora", str(source)).num_nodes == 2708
    assert (tmp_path / "home" / ".cache" / "rankcore" / "planetoid").is_dir()
    monkeypatch.setenv("RANKCORE_CACHE", "~/elsewhere")
    assert datasets.load("cora", str(source)).num_nodes == 2708
    assert (tmp_path / "home" / "elsewhere" / "planetoid").is_dir()
    assert list((tmp_path / "work").iterdir()) == []


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
