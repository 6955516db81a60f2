"""`rankcore sparsify` and `rankcore evaluate`: the main job, every output format, and every error path (one
line on stderr, exit 2). In-process through rankcore.cli.main (tests/cli_runner.py), except the main job, the
one run of the real command in a subprocess (in the background beside the other tests: tests/background.py).
`rankcore experiment walk-index-validation` is tested in tests/graph/test_harness.py."""

import json
import re
import subprocess
import sys

import background
import pytest
import torch
from cli_runner import run_in_process as run_cli

import rankcore
from rankcore.datasets import karate_club


def run_subprocess(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "rankcore.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env=env)


background.register("cli: rankcore sparsify", lambda folder: run_subprocess("sparsify"),
                    needed_by="test_sparsify_builtin_graph_is_the_main_job")


@pytest.mark.slow
def test_sparsify_builtin_graph_is_the_main_job(background_result):
    result = background_result("cli: rankcore sparsify")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    g = karate_club()
    res = rankcore.wis(g.edge_index, 34, 39, 2)  # default ratio 0.5 of 78 edges, half up
    kept = rankcore.Graph.from_input(res.edge_index, 34)
    assert "karate: 34 vertices, 78 undirected edges" in out
    assert re.search(rf"edges: 78 -> {kept.num_edges // 2} undirected \(156 -> {res.edge_index.shape[1]} ", out)
    before = int(rankcore.walk_index(g.edge_index, 34, g.communities, 2))
    after = int(rankcore.walk_index(res.edge_index, 34, g.communities, 2))
    assert f"of communities: {before} -> {after}" in out


# every method and every output format once (a subprocess each costs seconds)
@pytest.mark.parametrize("method, suffix", [("wis", ".pt"), ("random", ".txt"), ("spectral", ".csv"),
                                            ("local_degree", ".npz")])
def test_sparsify_writes_every_format(tmp_path, method, suffix):
    g = karate_club()
    pytest.importorskip("scipy")
    edges = tmp_path / "g.txt"
    edges.write_text("\n".join(f"{u} {v}" for u, v in g.edge_index.t().tolist()) + "\n")
    expected = rankcore.sparsify(g.edge_index, 34, method, num_remove=10, seed=4, depth=3)
    out = tmp_path / f"out{suffix}"
    result = run_cli("sparsify", str(edges), "--method", method, "--num-remove", "10", "--seed", "4",
                     "--depth", "3", "-o", str(out))
    assert result.returncode == 0, result.stderr
    if suffix == ".pt":
        saved = torch.load(out, weights_only=False)
        assert torch.equal(saved["edge_index"], expected.edge_index)
        assert torch.equal(saved["removed"], expected.removed)
    elif suffix == ".npz":
        import scipy.sparse

        mat = scipy.sparse.load_npz(out).tocoo()
        assert sorted(zip(mat.row.tolist(), mat.col.tolist())) == sorted(map(tuple, expected.edge_index.t().tolist()))
    else:
        sep = "," if suffix == ".csv" else " "
        lines = [ln for ln in out.read_text().splitlines() if not ln.startswith("#")]
        assert lines == [f"{u}{sep}{v}" for u, v in expected.edge_index.t().tolist()]


def test_sparsify_pyg_data_round_trip(tmp_path):
    pyg = pytest.importorskip("torch_geometric")
    g = karate_club()
    data = pyg.data.Data(x=torch.randn(34, 3), edge_index=g.edge_index,
                         edge_attr=(g.edge_index[0] * 100 + g.edge_index[1]).float(), num_nodes=34)
    src, dst = tmp_path / "in.pt", tmp_path / "out.pt"
    torch.save(data, src)
    result = run_cli("sparsify", str(src), "--ratio", "0.3", "-o", str(dst))
    assert result.returncode == 0, result.stderr
    out = torch.load(dst, weights_only=False)
    assert torch.equal(out.x, data.x)
    assert torch.equal(out.edge_attr.long(), out.edge_index[0] * 100 + out.edge_index[1])
    assert torch.equal(out.edge_index, rankcore.sparsify(g.edge_index, 34, "wis", ratio=0.3).edge_index)


def test_sparsify_progress_bar():
    result = run_cli("sparsify", "--progress", "--ratio", "1")
    assert result.returncode == 0, result.stderr
    assert "78/78" in result.stderr  # tqdm's bar, or the plain stderr line without tqdm


def test_evaluate_small(tmp_path):
    pytest.importorskip("torch_geometric")
    result = run_cli("evaluate", "--dataset", "sbm", "--methods", "wis,random", "--ratios", "0,0.5", "--models",
                     "gcn", "--seeds", "1", "--epochs", "10", "--out", str(tmp_path), "--quiet")
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "sparsification_sbm.json").read_text())
    assert set(saved["results"]["gcn"]) == {"wis", "random"}
    acc = saved["results"]["gcn"]["wis"]["0.50"]["mean"]
    assert f"| 50% | {100 * acc:.1f} |" in result.stdout  # one seed: no interval
    assert (tmp_path / "sparsification_sbm.png").exists()


ERRORS = [
    (["sparsify", "missing.txt"], "no such graph file or built-in graph"),
    (["sparsify", "{tmp}/g.xyz"], "unknown graph format"),
    (["sparsify", "{tmp}/bad.txt"], "vertex ids must be integers"),
    (["sparsify", "{tmp}/directed.txt"], "has no reverse edge.*--symmetrize"),
    (["sparsify", "{tmp}/broken.pt"], "could not read"),
    (["sparsify", "--ratio", "1.5"], r"ratio must be in \[0, 1\]"),
    (["sparsify", "--ratio", "x"], "invalid float value"),
    (["sparsify", "--ratio", "0.5", "--num-remove", "3"], "not allowed with argument"),
    (["sparsify", "--num-remove", "100"], "exceeds the 78 undirected edges"),
    (["sparsify", "--method", "magic"], "invalid choice"),
    (["sparsify", "--depth", "1"], "--depth must be >= 2"),
    (["sparsify", "-o", "{tmp}/out.xyz"], "unknown output format"),
    (["sparsify", "-o", "{tmp}/no/such/dir/out.pt"], "does not exist"),
    (["sparsify", "--bogus"], "unrecognized arguments"),
    (["sparsify", "-o", ""], "-o needs a file name"),  # ran and wrote nothing, exit 0
    (["sparsify", "--min-degree", str(2**70)], "--min-degree must be <= "),  # was a traceback from the op call
    # type=int read "1_0" as 10 and "+1" as 1
    (["sparsify", "--num-remove", "1_0"], "argument --num-remove: the value must be a plain decimal integer"),
    (["sparsify", "--seed", "+1"], "argument --seed: the value must be a plain decimal integer"),
    (["evaluate", "--dataset", "nope", "--jobs", "1_0"], "argument --jobs: the value must be a plain decimal"),
    (["walk-index", "{tmp}/sparse_ids.txt", "--relabel", "--target", str(2**70)], "is not a vertex of the graph"),
    (["evaluate", "--methods", "wis,nope"], "unknown method"),
    (["evaluate", "--ratios", "0,abc"], "--ratios must be"),
    (["evaluate", "--ratios", "0,1.0", "--dataset", "karate"], "ratios must be in"),
    (["evaluate", "--models", "gat"], "unknown model"),
    (["evaluate", "--seeds", "0"], "--seeds must be >= 1"),
    (["evaluate", "--dataset", "nope"], "unknown dataset"),
    (["experiment", "nope"], "invalid choice"),
    ([], "required"),
]
# every case calls rankcore.cli.main in-process (the code path of the console script, without an interpreter
# start per case); test_sparsify_builtin_graph_is_the_main_job runs the real command


def _error_files(tmp_path):
    (tmp_path / "g.xyz").write_text("0 1\n")
    (tmp_path / "bad.txt").write_text("0 x\n")
    (tmp_path / "directed.txt").write_text("0 1\n1 2\n2 1\n")
    (tmp_path / "broken.pt").write_bytes(b"not a torch file")
    (tmp_path / "sparse_ids.txt").write_text("10 20\n20 10\n")


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_are_one_line(tmp_path, monkeypatch, case):
    args, message = ERRORS[case]
    _error_files(tmp_path)
    args = [a.format(tmp=tmp_path) for a in args]
    monkeypatch.setattr(sys, "argv", ["rankcore", *args])  # argparse names the program from argv[0]
    result = run_cli(*args)
    code, stderr = result.returncode, result.stderr
    assert code == 2, stderr
    assert "Traceback" not in stderr
    err_lines = stderr.strip().splitlines()
    assert len(err_lines) == 1, stderr
    assert re.search(message, err_lines[0]), err_lines[0]


def test_sparsify_checks_depth_before_any_output(tmp_path):
    """--depth beyond int64 was found by the statistics, after the header and the sparsification."""
    result = run_cli("sparsify", "--method", "random", "--depth", str(2**63))
    assert result.returncode == 2 and "--depth must be <= " in result.stderr
    assert result.stdout == "", result.stdout


def test_sparsify_writes_its_output_when_only_the_statistics_overflow(tmp_path):
    """--method random --depth 200: the sparsification is fine, the walk-index statistics at L = 200 overflow int64;
    that error lost the output (exit 2, nothing written). Now a warning, and the output is written."""
    out = tmp_path / "out.txt"
    result = run_cli("sparsify", "--method", "random", "--depth", "200", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "warning: no walk-index statistics at L=200" in result.stderr
    assert f"wrote {out}" in result.stdout
    lines = out.read_text().splitlines()
    assert lines[0] == "# random sparsification: 34 vertices, 78 edge columns kept" and len(lines) == 79


@pytest.mark.parametrize("option", ["--dataset", "--methods", "--models"])
def test_evaluate_lists_that_name_nothing_are_one_line_errors(tmp_path, option):
    """--dataset ',' ran nothing and exited 0; --models ',' wrote the JSON of no model, then failed in the plot;
    --methods ',' was a StopIteration traceback."""
    lists = {"--dataset": "karate", "--methods": "random", "--models": "gcn", option: " , "}
    result = run_cli("evaluate", *[x for item in lists.items() for x in item], "--ratios", "0.5", "--seeds", "1",
                     "--epochs", "1", "--quiet", "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"rankcore evaluate: error: {option} names nothing, got ' , '\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--dataset", "karate,karate", "--dataset names karate more than once"),
    ("--methods", "random, wis,random", "--methods names random more than once"),
    ("--models", "gcn,gcn", "--models names gcn more than once"),
    ("--threads", "0", "--threads must be >= 1, got 0"),
    ("--wis-depth", "1", "--wis-depth must be >= 2, got 1")])
def test_evaluate_options_are_checked_before_training(tmp_path, option, value, message):
    """A repeated dataset trained everything twice and wrote the same files twice (a repeated method or model merged
    or doubled its rows); --threads 0 and --wis-depth 1 failed with library messages that named no option."""
    given = {"--dataset": "karate", "--methods": "random", "--models": "gcn", option: value}
    result = run_cli("evaluate", *[x for item in given.items() for x in item], "--ratios", "0.5", "--seeds", "1",
                     "--epochs", "1", "--quiet", "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"rankcore evaluate: error: {message}\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("out", ["file.txt", "file.txt/sub"])
def test_evaluate_out_that_is_a_file_fails_before_training(tmp_path, monkeypatch, out):
    """--out naming a file (or a folder under one) was a traceback at the first write, after every training."""
    from rankcore.experiments import sparsification

    def trained(*args, **kw):
        raise AssertionError("trained before --out was checked")
    monkeypatch.setattr(sparsification, "run", trained)
    (tmp_path / "file.txt").write_text("precious\n")
    result = run_cli("evaluate", "--dataset", "karate", "--out", str(tmp_path / out), "--quiet")
    assert result.returncode == 2 and "is not a directory" in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1
    assert (tmp_path / "file.txt").read_text() == "precious\n"


def test_spectral_solver_failure_is_one_line(monkeypatch, capsys):
    # A Laplacian solve that does not converge must reach the user as one line, not a traceback.
    import importlib

    from rankcore import cli
    sparsify_module = importlib.import_module("rankcore.graph.spectral")  # where the solver lives

    def no_convergence(*args, **kwargs):
        raise sparsify_module.ConvergenceError("effective resistances: conjugate gradients did not converge")

    monkeypatch.setattr(sparsify_module, "_block_pcg", no_convergence)
    code = cli.main(["sparsify", "--method", "spectral", "--ratio", "0.5"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "did not converge" in err
