"""Distributed file input: byte-range shards of an edge-list file (no processes), and the launcher end to
end (``rankcore sparsify --nproc N`` and ``torchrun -m rankcore.distributed.run``) against the
single-process ``rankcore sparsify`` output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rankcore import cli, ops
from rankcore import io as graph_io
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


# --- the launcher, end to end ---------------------------------------------------------------------------

def _graph_file(path: Path, n: int = 40, p: float = 0.15, seed: int = 3) -> Path:
    """A random undirected graph as an edge-list file: both directions in shuffled order, a header, comments,
    a self-loop, a duplicate column, CRLF on some lines and no trailing newline."""
    gen = torch.Generator().manual_seed(seed)
    upper = torch.triu(torch.rand(n, n, generator=gen) < p, diagonal=1)
    u, v = upper.nonzero().t()
    ei = torch.cat([torch.stack([u, v]), torch.stack([v, u])], dim=1)
    ei = ei[:, torch.randperm(ei.shape[1], generator=gen)]
    ei = torch.cat([ei, torch.tensor([[5, int(ei[0, 0])], [5, int(ei[1, 0])]])], dim=1)  # self-loop, duplicate
    lines = ["# a test graph", "source,target"]
    for i, (a, b) in enumerate(ei.t().tolist()):
        lines.append(f"{a} {b}" + ("\r" if i % 5 == 0 else "") + (" # c" if i % 11 == 0 else ""))
    path.write_text("\n".join(lines))
    return path


def _write_rank(path: str, outs: list[str], removed: torch.Tensor, n: int, meta: dict) -> int:
    """One rank of the writer test: its shard's kept columns written through run._write to every out."""
    import torch.distributed as dist

    from rankcore.distributed import run
    from rankcore.graph.result import make_result

    shard = read_edge_list_shard(path, dist.get_rank(), dist.get_world_size())
    keep = make_result(shard, n, removed).keep_mask
    kept = shard[:, keep]
    total = torch.tensor([kept.shape[1]])
    dist.all_reduce(total)
    for out in outs:
        run._write(out, kept, keep, removed, n, int(total), meta, None)
    return int(kept.shape[1])


@pytest.mark.distributed
def test_writer_equals_single_process_writer(tmp_path, world_size=3):
    """Rank 0 writes every rank's kept columns in rank order: the bytes of rankcore.io.write_sparsified (.txt, .csv),
    the same tensors (.pt, .npz)."""
    from rankcore.distributed.launch import run_local
    from rankcore.graph.result import make_result

    src = _graph_file(tmp_path / "g.txt")
    whole = ops.read_edge_list(str(src))
    n = int(whole.max()) + 1
    lo, hi = torch.minimum(whole[0], whole[1]), torch.maximum(whole[0], whole[1])
    pairs = torch.unique(torch.stack([lo, hi], 1)[lo < hi], dim=0)
    removed = pairs[torch.randperm(pairs.shape[0], generator=torch.Generator().manual_seed(1))[:17]]
    meta = {"method": "random", "depth": 2, "seed": 0, "num_remove": 17}
    result = make_result(whole, n, removed)
    suffixes = (".txt", ".csv", ".pt", ".npz")
    counts = run_local(_write_rank, world_size, str(src), [str(tmp_path / f"got{s}") for s in suffixes], removed,
                       n, meta)
    assert sum(counts) == int(result.keep_mask.sum())
    for suffix in suffixes:
        want = tmp_path / f"want{suffix}"
        graph_io.write_sparsified(str(want), whole, result, n, meta)
        _assert_same_output(want, tmp_path / f"got{suffix}")


def _assert_same_output(want: Path, got: Path) -> None:
    if want.suffix in (".txt", ".csv"):
        assert got.read_bytes() == want.read_bytes()
    elif want.suffix == ".pt":
        a, b = torch.load(want), torch.load(got)
        assert a.keys() == b.keys()
        for key in a:
            assert (torch.equal(a[key], b[key]) if isinstance(a[key], torch.Tensor) else a[key] == b[key]), key
    else:
        import scipy.sparse

        a, b = scipy.sparse.load_npz(want), scipy.sparse.load_npz(got)
        assert a.shape == b.shape and (a != b).nnz == 0 and a.nnz == b.nnz


def _require_distributed_sparsify():
    import rankcore.distributed as rd

    if not hasattr(rd, "DistGraph") or not callable(getattr(rd, "sparsify", None)):
        pytest.skip("rankcore.distributed.sparsify is not there yet (distributed/sparsify.py, written separately)")


@pytest.mark.distributed
@pytest.mark.parametrize("method,suffix", [("random", ".txt"), ("local_degree", ".csv"), ("wis", ".pt")])
def test_nproc_equals_single_process(tmp_path, capsys, method, suffix):
    _require_distributed_sparsify()
    src = _graph_file(tmp_path / "g.txt")
    want, got = tmp_path / f"want{suffix}", tmp_path / f"got{suffix}"
    common = ["sparsify", str(src), "--method", method, "--ratio", "0.4", "--seed", "7"]
    assert cli.main(common + ["-o", str(want)]) == 0
    capsys.readouterr()
    assert cli.main(common + ["-o", str(got), "--nproc", "2", "--timings"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {got}" in printed and "(2 processes)" in printed and "timings: read" in printed
    _assert_same_output(want, got)


@pytest.mark.distributed
def test_nproc_depth_and_num_remove(tmp_path, capsys):
    _require_distributed_sparsify()
    src = _graph_file(tmp_path / "g.txt", n=30, p=0.25, seed=5)
    want, got = tmp_path / "want.txt", tmp_path / "got.txt"
    common = ["sparsify", str(src), "--method", "wis", "--depth", "3", "--num-remove", "12"]
    assert cli.main(common + ["-o", str(want)]) == 0
    assert cli.main(common + ["-o", str(got), "--nproc", "2"]) == 0
    assert got.read_bytes() == want.read_bytes()


@pytest.mark.distributed
def test_nproc_errors_are_one_line(tmp_path, capsys):
    _require_distributed_sparsify()
    lines = [f"{i} {i + 1}\n{i + 1} {i}" for i in range(50)]
    lines[40] = "40 x"
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(lines) + "\n")
    assert cli.main(["sparsify", str(bad), "--nproc", "2"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "rankcore sparsify: error: " + f"{bad}:81: vertex ids must be integers (int64), got '40 x'"
    directed = tmp_path / "directed.txt"
    directed.write_text("0 1\n1 2\n2 1\n")
    assert cli.main(["sparsify", str(directed), "--nproc", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rankcore sparsify: error: ") and "--symmetrize" in err and len(err.splitlines()) == 1
    assert cli.main(["sparsify", "karate", "--nproc", "2"]) == 2
    assert "edge-list file" in capsys.readouterr().err


def test_nproc_argument_errors(tmp_path, capsys):
    src = _graph_file(tmp_path / "g.txt")
    assert cli.main(["sparsify", str(src), "--nproc", "0"]) == 2
    assert "--nproc must be >= 1" in capsys.readouterr().err
    assert cli.main(["sparsify", str(src), "--nproc", "2", "--relabel"]) == 2
    assert "--relabel is not available with --nproc" in capsys.readouterr().err
    assert cli.main(["sparsify", str(src), "--nproc", "2", "-o", str(tmp_path / "x.bin")]) == 2
    assert "unknown output format" in capsys.readouterr().err


@pytest.mark.distributed
def test_torchrun(tmp_path):
    _require_distributed_sparsify()
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun not found")
    src = _graph_file(tmp_path / "g.txt")
    want, got = tmp_path / "want.txt", tmp_path / "got.txt"
    assert cli.main(["sparsify", str(src), "--method", "wis", "--ratio", "0.5", "-o", str(want)]) == 0
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([torchrun, "--standalone", "--nproc-per-node=2", "-m", "rankcore.distributed.run",
                           "sparsify", str(src), "--method", "wis", "--ratio", "0.5", "--out", str(got)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"wrote {got}" in proc.stdout and "(2 processes)" in proc.stdout
    assert got.read_bytes() == want.read_bytes()


@pytest.mark.distributed
def test_nproc_npz_keeps_multiplicities_and_refuses_the_input_as_output(tmp_path, capsys):
    """The distributed writer shares the single-process writer's rules: int64 counts in .npz (an edge
    listed 300 times stays), no output over the input, ids checked per line with file:line."""
    _require_distributed_sparsify()
    import scipy.sparse

    src = tmp_path / "multi.txt"
    src.write_text("0 1\n1 0\n" * 300 + "1 2\n2 1\n2 3\n3 2\n3 0\n0 3\n")
    want, got = tmp_path / "want.npz", tmp_path / "got.npz"
    common = ["sparsify", str(src), "--method", "random", "--num-remove", "1", "--seed", "1"]  # keeps 0-1
    assert cli.main(common + ["-o", str(want)]) == 0
    assert cli.main(common + ["-o", str(got), "--nproc", "2"]) == 0
    a, b = scipy.sparse.load_npz(want), scipy.sparse.load_npz(got)
    assert (a != b).nnz == 0 and a.dtype == b.dtype == "int64" and int(a.max()) >= 300
    before = src.read_bytes()
    capsys.readouterr()
    assert cli.main(["sparsify", str(src), "--nproc", "2", "-o", str(src)]) == 2
    assert "refusing to write the output over the input" in capsys.readouterr().err
    assert src.read_bytes() == before
    src.write_text("0 1\n1 0\n" * 50 + "1 -2\n-2 1\n")
    assert cli.main(["sparsify", str(src), "--nproc", "2"]) == 2
    assert "multi.txt:101: negative vertex id" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["got.npz", "multi.txt", "want.npz"]  # no temp files
