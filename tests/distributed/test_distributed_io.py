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

import background
from shared_group import register

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


# --- the distributed run: its ranks in the shared groups, the launcher end to end ----------------------------
#
# `rankcore sparsify --nproc 2` runs dist_run.rank_main(graph, options) on every rank of run_local and prints
# dist_run.summary_lines of rank 0's summary, or the first line of the failed rank's error. The variants below
# (methods, output formats, depth and --num-remove, multiplicities in .npz, the ranks' errors) run rank_main
# with the options the command line gives, in the session's shared 2-process group (shared_group.py; a spawn
# each was most of this file's time); one success and one error run the whole command, launcher included,
# and torchrun runs the same ranks under its own launcher.

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


def _writer_inputs(src: Path):
    """The writer test's edge list, vertex count, removed pairs and metadata for the input file ``src``."""
    whole = ops.read_edge_list(str(src))
    n = int(whole.max()) + 1
    lo, hi = torch.minimum(whole[0], whole[1]), torch.maximum(whole[0], whole[1])
    pairs = torch.unique(torch.stack([lo, hi], 1)[lo < hi], dim=0)
    removed = pairs[torch.randperm(pairs.shape[0], generator=torch.Generator().manual_seed(1))[:17]]
    meta = {"method": "random", "depth": 2, "seed": 0, "num_remove": 17}
    return whole, n, removed, meta


WRITER_SUFFIXES = (".txt", ".csv", ".pt", ".npz")


def _writer_setup(folder: str) -> tuple:
    src = _graph_file(Path(folder) / "g.txt")
    _, n, removed, meta = _writer_inputs(src)
    return str(src), [os.path.join(folder, f"got{s}") for s in WRITER_SUFFIXES], removed, n, meta


def _write_rank(path: str, outs: list[str], removed: torch.Tensor, n: int, meta: dict) -> tuple[int, str]:
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
    blocks = run._TEXT_BLOCK, run._BLOCK
    run._TEXT_BLOCK, run._BLOCK = 3, 4  # many blocks per rank: the streamed hand-off, block by block
    try:  # (restored: the shared group's later tasks run in these processes too)
        for suffix in (".txt", ".pt"):
            run._write(os.path.join(os.path.dirname(outs[0]), f"got_blocks{suffix}"), kept, keep, removed, n,
                       int(total), meta, None)
    finally:
        run._TEXT_BLOCK, run._BLOCK = blocks
    return int(kept.shape[1]), os.path.dirname(path)


register(3, "io: run._write", _write_rank, setup=_writer_setup)


@pytest.mark.distributed
@pytest.mark.slow
def test_writer_equals_single_process_writer(rank_results, tmp_path):
    """Rank 0 of 3 writes every rank's kept columns in rank order: the bytes of rankcore.io.write_sparsified
    (.txt, .csv), the same tensors (.pt, .npz)."""
    from rankcore.graph.result import make_result

    per_rank = rank_results(3, "io: run._write")
    folder = Path(per_rank[0][1])
    whole, n, removed, meta = _writer_inputs(folder / "g.txt")
    result = make_result(whole, n, removed)
    assert sum(count for count, _ in per_rank) == int(result.keep_mask.sum())
    for suffix in WRITER_SUFFIXES:
        want = tmp_path / f"want{suffix}"
        graph_io.write_sparsified(str(want), whole, result, n, meta)
        _assert_same_output(want, folder / f"got{suffix}")
    _assert_same_output(tmp_path / "want.txt", folder / "got_blocks.txt")
    _assert_same_output(tmp_path / "want.pt", folder / "got_blocks.pt")


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


def _nproc_rank(argv: list[str]) -> tuple:
    """One rank of ``rankcore sparsify ARGV --nproc 2``: what rankcore.cli.sparsify hands run_local (the graph
    and dist_run.options_from_args of the parsed command line) through dist_run.rank_main; ("ok", summary,
    graph) or ("error", the message's first line, which the command prints, graph) for the errors the command
    reports."""
    from rankcore.distributed import run as dist_run

    args = cli.build_parser().parse_args(argv + ["--nproc", "2"])
    try:
        return "ok", dist_run.rank_main(args.graph, dist_run.options_from_args(args)), args.graph
    except (ValueError, TypeError, OverflowError, MemoryError) as err:
        return "error", str(err).strip().splitlines()[0], args.graph


def _nproc_setup(write_graph, *options: str):
    """A setup for shared_group.register: the graph file (write_graph(folder) returns its path) and the
    command line ``sparsify GRAPH OPTIONS``, {folder} in OPTIONS standing for the task's folder."""
    def setup(folder: str) -> tuple:
        src = write_graph(folder)
        return (["sparsify", str(src)] + [a.format(folder=folder) for a in options],)
    return setup


def _nproc(rank_results, name: str) -> tuple:
    """The task's outcome on rank 0 (what the command reports), after checking that rank 1's is the same
    (but for the timings, which each rank takes of itself)."""
    per_rank = rank_results(2, name)
    same = [(status, {k: v for k, v in value.items() if k != "timings"} if status == "ok" else value, graph)
            for status, value, graph in per_rank]
    assert same[0] == same[1], f"{name}: the ranks disagree: {per_rank}"
    return per_rank[0]


def _default_graph(folder):
    return _graph_file(Path(folder) / "g.txt")


NPROC_RUNS = [("random", ".txt"), ("local_degree", ".csv")]  # wis .pt: test_nproc_command_end_to_end
for _method, _suffix in NPROC_RUNS:
    register(2, f"io: --nproc {_method} {_suffix}", _nproc_rank, setup=_nproc_setup(
        _default_graph, "--method", _method, "--ratio", "0.4", "--seed", "7", "-o", f"{{folder}}/got{_suffix}"))


def _want(argv: list[str], out: Path, capsys) -> Path:
    assert cli.main(argv + ["-o", str(out)]) == 0
    capsys.readouterr()
    return out


@pytest.mark.distributed
@pytest.mark.slow
@pytest.mark.parametrize("method,suffix", NPROC_RUNS)
def test_nproc_equals_single_process(rank_results, tmp_path, capsys, method, suffix):
    _require_distributed_sparsify()
    status, summary, src = _nproc(rank_results, f"io: --nproc {method} {suffix}")
    assert status == "ok", summary
    got = Path(summary["output"])
    want = _want(["sparsify", str(src), "--method", method, "--ratio", "0.4", "--seed", "7"],
                 tmp_path / f"want{suffix}", capsys)
    from rankcore.distributed import run as dist_run

    printed = dist_run.summary_lines(summary, timings=True)  # what the command prints with --timings
    assert f"wrote {got}" in printed and "(2 processes)" in printed[0] and printed[-1].startswith("timings: read")
    _assert_same_output(want, got)


@pytest.mark.distributed
@pytest.mark.slow
def test_nproc_command_end_to_end(tmp_path, capsys):
    """The whole command: the parent's checks, run_local, rank 0's summary printed, the output written."""
    _require_distributed_sparsify()
    src = _graph_file(tmp_path / "g.txt")
    want, got = tmp_path / "want.pt", tmp_path / "got.pt"
    common = ["sparsify", str(src), "--method", "wis", "--ratio", "0.4", "--seed", "7"]
    assert cli.main(common + ["-o", str(want)]) == 0
    capsys.readouterr()
    assert cli.main(common + ["-o", str(got), "--nproc", "2", "--timings"]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {got}" in printed and "(2 processes)" in printed and "timings: read" in printed
    _assert_same_output(want, got)


register(2, "io: --nproc wis depth 3 num_remove", _nproc_rank, setup=_nproc_setup(
    lambda folder: _graph_file(Path(folder) / "g.txt", n=30, p=0.25, seed=5),
    "--method", "wis", "--depth", "3", "--num-remove", "12", "-o", "{folder}/got.txt"))


@pytest.mark.distributed
@pytest.mark.slow
def test_nproc_depth_and_num_remove(rank_results, tmp_path, capsys):
    _require_distributed_sparsify()
    status, summary, src = _nproc(rank_results, "io: --nproc wis depth 3 num_remove")
    assert status == "ok", summary
    got = Path(summary["output"])
    want = _want(["sparsify", src, "--method", "wis", "--depth", "3", "--num-remove", "12"],
                 tmp_path / "want.txt", capsys)
    assert got.read_bytes() == want.read_bytes()


def _bad_line_graph(folder) -> Path:
    lines = [f"{i} {i + 1}\n{i + 1} {i}" for i in range(50)]
    lines[40] = "40 x"
    bad = Path(folder) / "bad.txt"
    bad.write_text("\n".join(lines) + "\n")
    return bad


register(2, "io: --nproc bad line", _nproc_rank, setup=_nproc_setup(_bad_line_graph))


@pytest.mark.distributed
@pytest.mark.slow
def test_nproc_errors_are_one_line(rank_results, tmp_path, capsys):
    """The ranks' error for a bad line (file:line, in the shared group), and the whole command's one line
    for a directed graph (the launcher passes the failed rank's first line to the command's error)."""
    _require_distributed_sparsify()
    status, message, bad = _nproc(rank_results, "io: --nproc bad line")
    assert (status, message) == ("error", f"{bad}:81: vertex ids must be integers (int64), got '40 x'")
    directed = tmp_path / "directed.txt"
    directed.write_text("0 1\n1 2\n2 1\n")
    assert cli.main(["sparsify", str(directed), "--nproc", "2"]) == 2
    err = capsys.readouterr().err
    assert err == ("rankcore sparsify: error: the graph must be undirected, but edge 0 -> 1 has no reverse edge "
                   "(1 -> 0); pass --symmetrize to add the missing directions\n")
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


def _torchrun(folder: str):
    """``torchrun --nproc-per-node=2 -m rankcore.distributed.run sparsify`` on a graph file written in
    ``folder``: (the graph, the output, the finished process), or None without torchrun."""
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    if torchrun is None:
        return None
    src, got = _graph_file(Path(folder) / "g.txt"), Path(folder) / "got.txt"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([torchrun, "--standalone", "--nproc-per-node=2", "-m", "rankcore.distributed.run",
                           "sparsify", str(src), "--method", "wis", "--ratio", "0.5", "--out", str(got)],
                          capture_output=True, text=True, env=env, timeout=120)
    return src, got, proc


background.register("io: torchrun", _torchrun, needed_by="test_torchrun")


@pytest.mark.distributed
@pytest.mark.slow
def test_torchrun(background_result, tmp_path, capsys):
    _require_distributed_sparsify()
    ran = background_result("io: torchrun")  # run in the background (tests/background.py)
    if ran is None:
        pytest.skip("torchrun not found")
    src, got, proc = ran
    want = _want(["sparsify", str(src), "--method", "wis", "--ratio", "0.5"], tmp_path / "want.txt", capsys)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"wrote {got}" in proc.stdout and "(2 processes)" in proc.stdout
    assert got.read_bytes() == want.read_bytes()


def _multi_graph(folder) -> Path:
    src = Path(folder) / "multi.txt"
    src.write_text("0 1\n1 0\n" * 300 + "1 2\n2 1\n2 3\n3 2\n3 0\n0 3\n")
    return src


def _negative_id_graph(folder) -> Path:
    src = Path(folder) / "multi.txt"
    src.write_text("0 1\n1 0\n" * 50 + "1 -2\n-2 1\n")
    return src


register(2, "io: --nproc npz multiplicities", _nproc_rank, setup=_nproc_setup(
    _multi_graph, "--method", "random", "--num-remove", "1", "--seed", "1", "-o", "{folder}/got.npz"))
register(2, "io: --nproc negative id", _nproc_rank, setup=_nproc_setup(_negative_id_graph))


@pytest.mark.distributed
@pytest.mark.slow
def test_nproc_npz_keeps_multiplicities_and_refuses_the_input_as_output(rank_results, tmp_path, capsys):
    """The distributed writer shares the single-process writer's rules: int64 counts in .npz (an edge
    listed 300 times stays), no output over the input, ids checked per line with file:line."""
    _require_distributed_sparsify()
    import scipy.sparse

    status, summary, src = _nproc(rank_results, "io: --nproc npz multiplicities")  # keeps 0-1
    assert status == "ok", summary
    got, src = Path(summary["output"]), Path(src)
    want = _want(["sparsify", str(src), "--method", "random", "--num-remove", "1", "--seed", "1"],
                 tmp_path / "want.npz", capsys)
    a, b = scipy.sparse.load_npz(want), scipy.sparse.load_npz(got)
    assert (a != b).nnz == 0 and a.dtype == b.dtype == "int64" and int(a.max()) >= 300
    assert sorted(p.name for p in got.parent.iterdir()) == ["got.npz", "multi.txt"]  # no temp files
    before = src.read_bytes()
    assert cli.main(["sparsify", str(src), "--nproc", "2", "-o", str(src)]) == 2
    assert "refusing to write the output over the input" in capsys.readouterr().err
    assert src.read_bytes() == before
    assert sorted(p.name for p in got.parent.iterdir()) == ["got.npz", "multi.txt"]
    status, message, _ = _nproc(rank_results, "io: --nproc negative id")
    assert status == "error" and "multi.txt:101: negative vertex id" in message
