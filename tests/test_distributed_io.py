"""Distributed file input: byte-range shards of an edge-list file (no processes), and the launcher end to
end (``rankcore sparsify --nproc N`` and ``torchrun -m rankcore.distributed.run``) against the
single-process ``rankcore sparsify`` output."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rankcore import cli, ops
from rankcore.distributed.io import read_edge_list_shard, shard_byte_range


def _shards(path, world_size):
    return [read_edge_list_shard(path, r, world_size) for r in range(world_size)]


TEXTS = {
    "plain": "1 2\n2 1\n3 4\n4 3\n",
    "comments_header": "# SNAP style\n# more\nFromNodeId\tToNodeId\n1\t2\n# middle comment\n2,1 # trailing\n\n"
                       " 3 4 0.5\r\n4 3",
    "crlf": "u,v\r\n10,20\r\n20,10\r\n\r\n30,40\r\n40,30\r\n",
    "no_trailing_newline": "0 1\n1 0\n1 2\n2 1",
    "long_line": "0 1" + " " * 200 + "# a long comment " + "x" * 300 + "\n1 0\n2 3\n3 2\n",
    "only_comments": "# nothing\n\n# here\n",
    "empty": "",
    "header_only": "source target\n",
    "leading_blank_header": "\n\n  \t\nsrc dst\n5 6\n6 5\n",
}


@pytest.mark.parametrize("name", sorted(TEXTS))
@pytest.mark.parametrize("world_size", [1, 2, 3, 4, 5])
def test_shards_concatenate_to_the_whole_file(tmp_path, name, world_size):
    p = tmp_path / f"{name}.txt"
    p.write_bytes(TEXTS[name].encode())
    whole = ops.read_edge_list(str(p))
    parts = _shards(p, world_size)
    assert all(s.dtype == torch.int64 and s.shape[0] == 2 for s in parts)
    assert torch.equal(torch.cat(parts, dim=1), whole)


def test_every_byte_split_reads_each_line_once(tmp_path):
    """All two-way splits [0, b), [b, size): the line whose first byte is in a range belongs to it."""
    text = "# c\nu v\n1 2\r\n\n3 4 # x\n5,6"
    p = tmp_path / "g.txt"
    p.write_bytes(text.encode())
    whole = ops.read_edge_list(str(p))
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    for b in range(len(text) + 2):
        left = ops.read_edge_list(str(p), begin=0, end=b)
        right = ops.read_edge_list(str(p), begin=b)
        assert torch.equal(torch.cat([left, right], dim=1), whole), b
        # the left part holds exactly the data lines starting before b
        lines_before = [s for s in starts if s < b]
        data = [ln for ln in text.split("\n")[:len(lines_before)] if ln.split("#")[0].strip()][1:]  # no header
        assert left.shape[1] == len(data), b


def test_lines_longer_than_a_shard_and_empty_shards(tmp_path):
    """W larger than the number of lines, and lines many times longer than a shard: most shards are
    empty, the line goes to the rank whose range holds its first byte."""
    p = tmp_path / "long.txt"
    text = "7 8" + " " * 1000 + "\n8 7" + " " * 1000 + "\n"
    p.write_bytes(text.encode())
    size = len(text)
    for world_size in (3, 7, 64):
        parts = _shards(p, world_size)
        owners = [r for r, s in enumerate(parts) if s.shape[1]]
        want = {r for r in range(world_size) for start in (0, 1004)
                if shard_byte_range(size, r, world_size)[0] <= start < shard_byte_range(size, r, world_size)[1]}
        assert set(owners) == want
        assert torch.equal(torch.cat(parts, dim=1), torch.tensor([[7, 8], [8, 7]]))


def test_many_chunks_random_file(tmp_path):
    """A file of several MB (parallel chunks inside each shard): same edges, same order."""
    gen = torch.Generator().manual_seed(0)
    ei = torch.randint(0, 10**12, (2, 200_000), generator=gen)
    lines = [f"{u} {v}" if i % 7 else f"{u},{v} # c" for i, (u, v) in enumerate(ei.t().tolist())]
    p = tmp_path / "many.txt"
    p.write_text("id_a id_b\n" + "\n".join(lines) + "\n")
    for world_size in (1, 3, 5):
        assert torch.equal(torch.cat(_shards(p, world_size), dim=1), ei)


def test_malformed_line_in_a_later_shard_names_the_file_line(tmp_path):
    lines = [f"{i} {i + 1}" for i in range(1000)]
    lines[876] = "876 x"
    lines[950] = "oops"
    p = tmp_path / "bad.txt"
    p.write_text("\n".join(lines) + "\n")
    size = p.stat().st_size
    first_bad_byte = sum(len(ln) + 1 for ln in lines[:876])
    for world_size in (1, 2, 3, 5):
        owner = next(r for r in range(world_size) if first_bad_byte < shard_byte_range(size, r, world_size)[1])
        for r in range(world_size):
            lo, hi = shard_byte_range(size, r, world_size)
            if r == owner:
                with pytest.raises(ValueError, match=r"bad.txt:877: vertex ids must be integers \(int64\), got '876 x'"):
                    read_edge_list_shard(p, r, world_size)
            elif lo <= sum(len(ln) + 1 for ln in lines[:950]) < hi:
                with pytest.raises(ValueError, match=r"bad.txt:951: expected two vertex ids 'u v', got 'oops'"):
                    read_edge_list_shard(p, r, world_size)
            else:
                read_edge_list_shard(p, r, world_size)


def test_header_is_only_the_files_first_data_line(tmp_path):
    """A non-numeric line that starts a later shard is an error there, not a header."""
    p = tmp_path / "h.txt"
    p.write_text("1 2\n2 1\nu v\n")
    with pytest.raises(ValueError, match=r"h.txt:3: vertex ids must be integers"):
        read_edge_list_shard(p, 1, 2)
    assert read_edge_list_shard(p, 0, 2).tolist() == [[1, 2], [2, 1]]


def test_bad_arguments(tmp_path):
    p = tmp_path / "g.txt"
    p.write_text("1 2\n")
    with pytest.raises(ValueError, match="rank must be in"):
        read_edge_list_shard(p, 2, 2)
    with pytest.raises(ValueError, match="world_size must be >= 1"):
        read_edge_list_shard(p, 0, 0)
    with pytest.raises(ValueError, match="cannot open"):
        read_edge_list_shard(tmp_path / "missing.txt", 0, 1)
    with pytest.raises(ValueError, match="byte range"):
        ops.read_edge_list(str(p), begin=3, end=1)
    # the old call signature still works
    assert torch.ops.rankcore.read_edge_list.default(str(p), torch.zeros(1, dtype=torch.int64)).tolist() == [[1], [2]]


def test_read_edge_list_opcheck(tmp_path):
    p = tmp_path / "g.txt"
    p.write_text("1 2\n2 1\n3 4\n")
    for args in ((str(p), torch.zeros(1, dtype=torch.int64)), (str(p), torch.zeros(2, dtype=torch.int64), 4, 8)):
        torch.library.opcheck(torch.ops.rankcore.read_edge_list.default, args)
