"""CLI file input / output: the native edge-list reader, --relabel, the vectorised writer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rankcore import cli, ops


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
    assert cli._format_pairs(a, b" ", block=2) == want
    assert cli._format_pairs(torch.zeros(2, 0, dtype=torch.int64), b",") == b""


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
