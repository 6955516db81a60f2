"""CLI file input / output: the native edge-list reader, --relabel, the vectorised writer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from rankcore import cli, ops
from rankcore import io as graph_io


def test_reader_formats(tmp_path):
    p = tmp_path / "g.txt"
    p.write_text("# SNAP style\nFromNodeId\tToNodeId\n1\t2\n# middle comment\n2,1 # trailing\n\n 3 4 0.5\r\n4 3")
    assert ops.read_edge_list(str(p)).tolist() == [[1, 2, 3, 4], [2, 1, 4, 3]]
    big = 2**63 - 1
    p.write_text(f"{big} 0\n")
    assert ops.read_edge_list(str(p)).tolist() == [[big], [0]]


@pytest.mark.parametrize("text,line,what", [
    ("1 2\n2 x\n", 2, "vertex ids must be integers"),
    ("u v\n1 2\n3\n", 3, "expected two vertex ids"),
    ("1 2\nu v\n", 2, "vertex ids must be integers"),  # a header only as the first data line
    ("1 99999999999999999999\n", 1, "vertex ids must be integers"),
])
def test_reader_errors_name_file_and_line(tmp_path, text, line, what):
    p = tmp_path / "bad.txt"
    p.write_text(text)
    with pytest.raises(ValueError, match=f"bad.txt:{line}: {what}"):
        ops.read_edge_list(str(p))


def test_reader_matches_python_on_many_chunks(tmp_path):
    """A file of several MB is split into parallel chunks at newlines: same edges, same order."""
    gen = torch.Generator().manual_seed(0)
    ei = torch.randint(0, 10**12, (2, 300_000), generator=gen)
    lines = [f"{u} {v}" if i % 7 else f"{u},{v} # c" for i, (u, v) in enumerate(ei.t().tolist())]
    p = tmp_path / "many.txt"
    p.write_text("\n".join(lines) + "\n")
    assert torch.equal(ops.read_edge_list(str(p)), ei)
    # an error deep in the file: the line number is exact
    lines[123_456] = "oops"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"many.txt:123457: expected two vertex ids"):
        ops.read_edge_list(str(p))


def test_format_pairs_matches_python():
    a = torch.tensor([[0, 5, 10, 123456789, 7], [1, 0, 99, 2147483646, 100]])
    want = "".join(f"{u} {v}\n" for u, v in a.t().tolist()).encode()
    assert graph_io.format_pairs(a, b" ", block=2) == want
    assert graph_io.format_pairs(torch.zeros(2, 0, dtype=torch.int64), b",") == b""


def test_sparsify_relabel_roundtrip(tmp_path, capsys):
    src = tmp_path / "ids.txt"
    big = 10**15
    src.write_text(f"{big} 7\n7 {big}\n7 {big + 3}\n{big + 3} 7\n{big} {big + 3}\n{big + 3} {big}\n")
    out = tmp_path / "out.txt"
    assert cli.main(["sparsify", str(src), "--relabel", "--num-remove", "1", "-o", str(out), "--timings"]) == 0
    printed = capsys.readouterr().out
    assert "timings: read" in printed and "write" in printed
    ids = [int(line.split()[1]) for line in Path(f"{out}.ids.txt").read_text().splitlines()[1:]]
    assert ids == [7, big, big + 3]
    kept = ops.read_edge_list(str(out))
    assert kept.shape == (2, 4) and int(kept.max()) == 2
    # .pt: the map inside
    out_pt = tmp_path / "out.pt"
    assert cli.main(["sparsify", str(src), "--relabel", "--num-remove", "1", "-o", str(out_pt)]) == 0
    assert torch.load(out_pt)["ids"].tolist() == [7, big, big + 3]


# --- the second adversarial pass: ids, formats and output safety -----------------------------------------

def _edges_file(tmp_path, pairs, name="g.txt"):
    p = tmp_path / name
    p.write_text("".join(f"{u} {v}\n{v} {u}\n" for u, v in pairs))
    return p


def test_relabel_id_map_keeps_negative_and_extreme_ids(tmp_path, capsys):
    pairs = [(-5, 3), (3, -(2**63)), (-5, 2**63 - 1), (0, -5)]
    src = _edges_file(tmp_path, pairs)
    out = tmp_path / "out.txt"
    assert cli.main(["sparsify", str(src), "--relabel", "--num-remove", "1", "-o", str(out)]) == 0
    rows = [line.split() for line in Path(f"{out}.ids.txt").read_text().splitlines()[1:]]
    assert [int(r[0]) for r in rows] == list(range(len(rows)))
    assert [int(r[1]) for r in rows] == sorted({x for pair in pairs for x in pair})
    # every kept edge maps back to an input edge through the written map
    original = {int(r[0]): int(r[1]) for r in rows}
    kept = ops.read_edge_list(str(out)).t().tolist()
    assert kept and all((original[u], original[v]) in set(pairs) | {(b, a) for a, b in pairs} for u, v in kept)


def test_format_pairs_any_int64():
    gen = torch.Generator().manual_seed(3)
    a = torch.cat([torch.randint(-(2**63), 2**63 - 1, (2, 500), generator=gen),
                   torch.tensor([[-(2**63), 2**63 - 1, 0, -1], [0, -9, 10, -(2**63)]])], dim=1)
    want = "".join(f"{u},{v}\n" for u, v in a.t().tolist()).encode()
    assert graph_io.format_pairs(a, b",", block=7) == want


def test_walk_index_relabel_reads_partition_and_target_as_original_ids(tmp_path, capsys):
    pairs = [(100, -7), (-7, 55), (55, 100), (55, 9)]
    src = _edges_file(tmp_path, pairs)
    part = tmp_path / "part.txt"
    part.write_text("100 -7\n9\n")
    assert cli.main(["walk-index", str(src), "--relabel", "--partition", str(part), "--target", "9",
                     "--depth", "2", "3"]) == 0
    printed = capsys.readouterr().out.splitlines()
    got = [[int(x) for x in line.split()[-2:]] for line in printed if line.startswith("partition ") and "L=" not in line]
    # the same graph written with dense ids by hand: sorted ids -7, 9, 55, 100 -> 0, 1, 2, 3
    dense = {-7: 0, 9: 1, 55: 2, 100: 3}
    import rankcore
    ei = torch.tensor([[dense[u] for u, v in pairs] + [dense[v] for u, v in pairs],
                       [dense[v] for u, v in pairs] + [dense[u] for u, v in pairs]])
    masks = torch.zeros(2, 4, dtype=torch.bool)
    masks[0, [dense[100], dense[-7]]] = True
    masks[1, dense[9]] = True
    want = [[int(rankcore.walk_index(ei, 4, masks, d, target=dense[9])[i]) for d in (2, 3)] for i in range(2)]
    assert got == want
    part.write_text("1\n")  # 1 is a dense id, not an original one
    assert cli.main(["walk-index", str(src), "--relabel", "--partition", str(part)]) == 2
    assert "vertex 1 is not a vertex of the graph" in capsys.readouterr().err
    assert cli.main(["walk-index", str(src), "--relabel", "--target", "0"]) == 2
    assert "--target 0 is not a vertex of the graph" in capsys.readouterr().err


def test_npz_output_keeps_multiplicities(tmp_path, capsys):
    src = tmp_path / "multi.txt"
    src.write_text("0 1\n1 0\n" * 300 + "1 2\n2 1\n2 3\n3 2\n")
    out = tmp_path / "out.npz"
    assert cli.main(["sparsify", str(src), "--method", "random", "--num-remove", "1", "--seed", "4",
                     "-o", str(out)]) == 0
    txt = tmp_path / "out.txt"
    assert cli.main(["sparsify", str(src), "--method", "random", "--num-remove", "1", "--seed", "4",
                     "-o", str(txt)]) == 0
    import scipy.sparse

    mat = scipy.sparse.load_npz(out).tocoo()
    kept = ops.read_edge_list(str(txt))
    counts = {}
    for u, v in kept.t().tolist():
        counts[(u, v)] = counts.get((u, v), 0) + 1
    assert {(int(r), int(c)): int(x) for r, c, x in zip(mat.row, mat.col, mat.data)} == counts
    _, graph, _, _ = graph_io.load_graph(str(out))
    assert graph.nnz == len(counts)


def test_output_is_written_whole_or_not_at_all(tmp_path, capsys, monkeypatch):
    src = _edges_file(tmp_path, [(0, 1), (1, 2), (2, 3)])
    out = tmp_path / "out.txt"
    out.write_text("precious\n")

    def fail(*args, **kw):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(graph_io, "pair_blocks", fail)
    assert cli.main(["sparsify", str(src), "-o", str(out)]) == 2
    assert "could not write" in capsys.readouterr().err
    assert out.read_text() == "precious\n"

    def interrupt(*args, **kw):
        raise KeyboardInterrupt
    monkeypatch.setattr(graph_io, "pair_blocks", interrupt)
    assert cli.main(["sparsify", str(src), "-o", str(out)]) == 130
    err = capsys.readouterr().err
    assert err == "rankcore sparsify: interrupted\n"
    assert out.read_text() == "precious\n"
    monkeypatch.undo()
    for suffix in ("txt", "pt", "npz", "csv"):
        target = tmp_path / f"ok.{suffix}"
        assert cli.main(["sparsify", str(src), "-o", str(target)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.txt", "ok.csv", "ok.npz", "ok.pt", "ok.txt", "out.txt"]


def test_output_over_the_input_is_refused(tmp_path, capsys):
    src = _edges_file(tmp_path, [(0, 1), (1, 2)])
    before = src.read_bytes()
    link = tmp_path / "link.txt"
    link.symlink_to(src)
    for out in (src, link):
        assert cli.main(["sparsify", str(src), "-o", str(out)]) == 2
        assert "refusing to write the output over the input file" in capsys.readouterr().err
    assert src.read_bytes() == before
    assert cli.main(["sparsify", str(src), "-o", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_relabel_id_map_over_the_input_is_refused(tmp_path, capsys):
    """--relabel writes OUT.ids.txt beside OUT: an input of that name must not be overwritten by it."""
    src = tmp_path / "g.txt.ids.txt"
    src.write_text("10 20\n20 30\n30 10\n")
    before = src.read_bytes()
    out = tmp_path / "g.txt"
    assert cli.main(["sparsify", str(src), "--relabel", "--method", "degree", "--num-remove", "1", "-o", str(out)]) == 2
    assert "would overwrite the input file" in capsys.readouterr().err
    assert src.read_bytes() == before and not out.exists()


def test_relabel_output_is_never_left_without_its_id_map(tmp_path, capsys):
    """The id map was written after the output had replaced OUT: when it failed, OUT held relabelled ids with no
    map (or beside an earlier run's map) and the error said OUT could not be written."""
    src = _edges_file(tmp_path, [(10, 20), (20, 30)])
    out = tmp_path / "out.txt"
    out.write_text("precious\n")
    (tmp_path / "out.txt.ids.txt").mkdir()  # the map cannot be renamed into place
    assert cli.main(["sparsify", str(src), "--relabel", "--num-remove", "1", "-o", str(out)]) == 2
    assert "could not write" in capsys.readouterr().err
    assert out.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.txt", "out.txt", "out.txt.ids.txt"]  # no temporaries


def test_rerun_without_relabel_warns_about_the_earlier_id_map(tmp_path, capsys):
    # the earlier run's OUT.ids.txt stayed beside the new OUT, silently, though its ids no longer apply
    src = _edges_file(tmp_path, [(10, 20), (20, 30), (30, 10)])
    out = tmp_path / "out.txt"
    assert cli.main(["sparsify", str(src), "--relabel", "--num-remove", "1", "-o", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err
    assert cli.main(["sparsify", str(src), "--num-remove", "1", "-o", str(out)]) == 0
    assert "out.txt.ids.txt is from an earlier --relabel run" in capsys.readouterr().err


def test_dataset_name_beside_a_folder_of_that_name(tmp_path, capsys, monkeypatch):
    """A folder named like a dataset (a Planetoid root holds Cora/) was read as the graph file: "is a directory"."""
    pytest.importorskip("torch_geometric")
    (tmp_path / "SBM").mkdir()
    monkeypatch.chdir(tmp_path)
    assert cli.main(["sparsify", "SBM", "--method", "degree", "--num-remove", "1"]) == 0, capsys.readouterr().err
    assert "SBM: 300 vertices" in capsys.readouterr().out


def test_non_regular_inputs_are_one_line_errors(tmp_path, capsys):
    src = _edges_file(tmp_path, [(0, 1), (1, 2)])
    folder = tmp_path / "parts.txt"
    folder.mkdir()
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    for argv, what in ((["walk-index", str(src), "--partition", str(folder)], "is a directory"),
                       (["walk-index", str(src), "--partition", str(fifo)], "not a regular file"),
                       (["sparsify", str(folder)], "is a directory"),
                       (["sparsify", str(fifo)], "not a regular file"),
                       (["sparsify", str(tmp_path / "g.npz")], "no such graph file")):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert what in err and err.count("\n") == 1, err


def test_ids_in_files_are_tied_to_file_and_line(tmp_path, capsys):
    src = tmp_path / "ids.txt"
    src.write_text("0 1\n1 0\n1 -5\n-5 1\n")
    assert cli.main(["sparsify", str(src)]) == 2
    assert "ids.txt:3: negative vertex id in '1 -5'" in capsys.readouterr().err
    src.write_text("0 1\n1 0\n# big\n1 3000000000\n3000000000 1\n")
    assert cli.main(["walk-index", str(src)]) == 2
    err = capsys.readouterr().err
    assert "ids.txt:4:" in err and "--relabel" in err
    assert cli.main(["walk-index", str(src), "--relabel", "--depth", "2"]) == 0


@pytest.mark.parametrize("method", ["random", "spectral"])
@pytest.mark.parametrize("seed,kind", [(-1, ValueError), (2**63, ValueError), (1.5, TypeError), ("3", TypeError)])
def test_seeds_are_checked_alike_and_named(method, seed, kind):
    import rankcore

    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    with pytest.raises(kind, match=r"^seed must be"):
        rankcore.sparsify(ei, 3, method, num_remove=1, seed=seed)


def test_ctrl_c_in_any_command_is_one_line_and_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt
    for command in ("walk-index", "sparsify", "evaluate"):
        parser = cli.build_parser()
        monkeypatch.setattr(cli, "build_parser", lambda parser=parser: parser)
        parser._subparsers._group_actions[0].choices[command].set_defaults(func=interrupted)
        assert cli.main([command]) == 130
        assert capsys.readouterr().err == f"rankcore {command}: interrupted\n"


def test_pt_dict_num_nodes_must_be_an_int(tmp_path):
    # int() truncated num_nodes 5.7 to 5 vertices and read a True tensor as 1; an int tensor is fine
    ei = torch.tensor([[0, 1], [1, 0]])
    for value, ok in ((5.7, False), ("5", False), (True, False), (torch.tensor(True), False), (5, True),
                      (torch.tensor(5), True)):
        path = tmp_path / "g.pt"
        torch.save({"edge_index": ei, "num_nodes": value}, path)
        if ok:
            assert graph_io.load_graph(str(path))[2] == 5
        else:
            with pytest.raises(graph_io.GraphFileError, match="num_nodes' must be an int"):
                graph_io.load_graph(str(path))


@pytest.mark.parametrize("token", ["1_0", "+1", "١", "1.0"])
def test_partition_ids_are_plain_decimal_integers(tmp_path, capsys, token):
    """int() read "1_0" as vertex 10 and "+1" or "١" (an Arabic-Indic digit) as vertex 1."""
    part = tmp_path / "p.txt"
    part.write_text(f"0 1\n2 {token}\n", encoding="utf-8")
    assert cli.main(["walk-index", "--partition", str(part)]) == 2
    err = capsys.readouterr().err
    assert f"p.txt:2: vertex id must be a plain decimal integer (ASCII digits, optionally a leading '-'), got " \
           f"{token!r}" in err and err.count("\n") == 1, err
    part.write_text("0 1\n2 -1\n")  # a negative id is read, then refused as no vertex
    assert cli.main(["walk-index", "--partition", str(part)]) == 2
    assert "p.txt:2: vertex -1 is outside [0, 34)" in capsys.readouterr().err


def test_parse_int_takes_plain_ascii_decimal_integers_only():
    from rankcore.graph.arguments import parse_int

    assert parse_int("-12", "x") == -12 and parse_int("007", "x") == 7 and parse_int("9" * 30, "x") == int("9" * 30)
    for text in ("1_0", " 1 ", "+1", "١", "1\n", "", "-", "1e3", "0x10", "１", 10):
        with pytest.raises(ValueError, match="^x must be a plain decimal integer"):
            parse_int(text, "x")
    with pytest.raises(ValueError, match="^x is out of range"):  # int() refuses more than 4300 digits
        parse_int("9" * 5000, "x")
