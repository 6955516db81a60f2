"""`rankcore walk-index`: the main job, files, and every error path (one line, exit 2). In-process through
rankcore.cli.main (tests/cli_runner.py); test_cli_sparsify.py runs the real command once in a subprocess."""

import re

import pytest
import torch

import rankcore
from rankcore.datasets import karate_club


from cli_runner import run_in_process as run_cli


def test_walk_index_on_the_builtin_graph():
    result = run_cli("walk-index")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("karate: 34 vertices, 78 undirected edges")
    # The printed numbers are the library's (checked against the reference in test_walks.py).
    g = karate_club()
    expected = [int(rankcore.walk_index(g.edge_index, 34, g.communities, d)) for d in (1, 2, 3, 4)]
    community_row = next(line for line in lines if line.startswith("communities"))
    assert [int(v) for v in community_row.split()[-4:]] == expected


def test_walk_index_with_files(tmp_path):
    edges = tmp_path / "g.txt"
    edges.write_text("# a triangle plus a pendant vertex\n0 1\n1 2\n2 0\n2 3\n")
    parts = tmp_path / "p.txt"
    parts.write_text("0 1\n3\n")
    result = run_cli("walk-index", str(edges), "--partition", str(parts), "--depth", "2", "--symmetrize",
                     "--target", "3")
    assert result.returncode == 0, result.stderr
    ei = torch.tensor([[0, 1, 2, 2], [1, 2, 0, 3]])
    masks = torch.tensor([[1, 1, 0, 0], [0, 0, 0, 1]], dtype=torch.bool)
    expected = rankcore.walk_index(ei, 4, masks, 2, target=3, symmetrize=True).tolist()
    rows = [line for line in result.stdout.splitlines() if re.match(r"partition \d", line)]
    assert [int(r.split()[-1]) for r in rows] == expected

    pt = tmp_path / "g.pt"
    torch.save(karate_club().edge_index, pt)
    assert run_cli("walk-index", str(pt)).returncode == 0


@pytest.mark.parametrize("args, message", [
    (["walk-index", "missing.txt"], "no such graph file or built-in graph"),
    (["walk-index", "{tmp}/g.xyz"], "unknown graph format"),
    (["walk-index", "{tmp}/bad.txt"], "vertex ids must be integers"),
    (["walk-index", "{tmp}/directed.txt"], "has no reverse edge.*--symmetrize"),
    (["walk-index", "--depth", "0"], "--depth values must be >= 1"),
    (["walk-index", "--partition", "{tmp}/nope.txt"], "no such partition file"),
    (["walk-index", "--partition", "{tmp}/outside.txt"], "outside \\[0, 34\\)"),
    (["walk-index", "--target", "99"], "target must be a vertex"),
    # type=int read "1_0" as 10 and "١" (an Arabic-Indic digit) as 1
    (["walk-index", "--depth", "1_0"], "argument --depth: the value must be a plain decimal integer"),
    (["walk-index", "--target", "١"], "argument --target: the value must be a plain decimal integer"),
])
def test_errors_are_one_line(tmp_path, args, message):
    (tmp_path / "g.xyz").write_text("0 1\n")
    (tmp_path / "bad.txt").write_text("0 x\n")
    (tmp_path / "directed.txt").write_text("0 1\n1 2\n2 1\n")
    (tmp_path / "outside.txt").write_text("1 2 40\n")
    result = run_cli(*[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    err_lines = result.stderr.strip().splitlines()
    assert len(err_lines) == 1
    assert re.search(message, err_lines[0]), err_lines[0]


@pytest.mark.parametrize("args", [["--target", "99"], ["--depth", "2", "200"]])
def test_walk_index_errors_come_before_any_output(args):
    """A --target beyond the graph printed the header, then the error; a depth whose walk counts overflow int64
    printed the header of a table without rows. stdout is the whole table or nothing."""
    result = run_cli("walk-index", *args)
    assert result.returncode == 2
    assert result.stdout == "", result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_build_info():
    info = rankcore.build_info()
    assert info["version"] == rankcore.__version__
    assert isinstance(info["cuda_built"], bool)
    assert info["openmp_threads"] >= 1
    assert hasattr(torch.ops.rankcore, "walk_count")
