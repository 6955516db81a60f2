"""Collective arguments are agreed on, and ``run_local`` never leaves a rank behind.

* Every argument a collective algorithm needs equal on every rank (method, counts, seeds, depths, batch
  and chunk sizes, mask shapes, dtypes, flags, ...) raises the same ValueError on every rank, naming the
  argument and every rank's value, when the ranks disagree: no wrong result, no hang, no abort. Every
  case runs in the session's shared 2-process group (shared_group.py; its process-group timeout turns a
  hang into a failure).
* Errors cross from rank to rank and from rank to parent as text: any exception, whatever its
  constructor, arrives as a one-line message.
* Ctrl-C (SIGINT), SIGTERM or SIGKILL to the parent of ``run_local`` ends every rank; a rank that dies
  gives a one-line RankFailed.

The runs of ``run_local`` that fail and the signal runs need spawns of their own: background work
(tests/background.py), run beside the other tests; the tests check what they gave.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
import background
from errors import capture_error
from shared_group import register

import rankcore
import rankcore.distributed as rd
from rankcore.distributed import run as dist_run
from rankcore.distributed.graph import agree
from rankcore.distributed.training import ddp_gradients, distributed_train
from rankcore.tensor import CPFactorization

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


class TwoArguments(ValueError):
    """An exception that cannot be rebuilt from its message alone."""

    def __init__(self, what, why):
        super().__init__(f"{what}: {why}")


def _graph():
    gen = torch.Generator().manual_seed(3)
    ei = torch.randint(0, 30, (2, 90), generator=gen)
    return torch.cat([ei, ei.flip(0)], dim=1), 30


def _mismatches(graph_file: str, out_dir: str) -> dict:
    """Every case on one rank: ``r`` is the rank, so ``[a, b][r]`` is a on rank 0 and b on rank 1."""
    import torch.distributed as dist

    r = dist.get_rank()
    ei, n = _graph()
    shard = ei[:, r::2]
    dg = rd.DistGraph.from_local_edges(shard, n)
    ones = torch.ones(n, dtype=torch.bool)
    cases = {
        "sparsify method": lambda: rd.sparsify(dg, ["wis", "random"][r], num_remove=3),
        "sparsify num_remove": lambda: rd.sparsify(dg, "wis", num_remove=5 + r),
        "sparsify num_remove too many": lambda: rd.sparsify(dg, "local_degree", num_remove=[5, 10**6][r]),
        "sparsify ratio": lambda: rd.sparsify(dg, "local_degree", ratio=[0.5, 0.25][r]),
        "sparsify ratio or num_remove": lambda: rd.sparsify(dg, "random", **[{"ratio": 0.5}, {"num_remove": 3}][r]),
        "sparsify seed": lambda: rd.sparsify(dg, "random", num_remove=5, seed=r),
        "sparsify depth": lambda: rd.sparsify(dg, "wis", num_remove=5, depth=2 + r),
        "sparsify batch": lambda: rd.sparsify(dg, "wis", num_remove=5, batch=[4, 8][r]),
        "count_walks length": lambda: rd.count_walks(dg, 3 + r),
        "count_walks dtype": lambda: rd.count_walks(dg, 3, dtype=[torch.int64, torch.float64][r]),
        "count_walks sources None": lambda: rd.count_walks(dg, 3, [None, ones][r]),
        "count_walks masks": lambda: rd.count_walks(dg, 3, torch.ones(1 + r, n, dtype=torch.bool)),
        "boundary partition": lambda: rd.boundary(dg, [ones, ones.expand(2, n)][r]),
        "walk_index depth": lambda: rd.walk_index(dg, ones, 2 + r),
        "walk_index target": lambda: rd.walk_index(dg, ones, 2, target=[None, 3][r]),
        "gather dst": lambda: rd.gather(rd.count_walks(dg, 1), dg, dst=[0, None][r]),
        "closed_walk_counts length": lambda: rd.closed_walk_counts(dg, 2 + 2 * r),
        "singleton_scores depth": lambda: rd.singleton_scores(dg, 2 + r),
        "ball radius": lambda: (dg.ball(1), dg.ball(1 + r)),  # rank 0 has radius 1 cached
        "from_local_edges symmetrize": lambda: rd.DistGraph.from_local_edges(shard, n, symmetrize=bool(r)),
        "from_local_edges balance": lambda: rd.DistGraph.from_local_edges(shard, n, balance=bool(r)),
        "from_local_edges require_undirected":
            lambda: rd.DistGraph.from_local_edges(shard[:, :5], n, require_undirected=bool(r)),
        "from_local_edges num_nodes": lambda: rd.DistGraph.from_local_edges(shard, [n, None][r]),
        "scatter src": lambda: rd.DistGraph.scatter(ei, src=r),
        "sparsify_file seed": lambda: dist_run.sparsify_file(graph_file, method="random", seed=r),
        "sparsify_file output": lambda: dist_run.sparsify_file(
            graph_file, output=[os.path.join(out_dir, "out.txt"), None][r]),
        "agree UnicodeDecodeError":
            lambda: agree([None, UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")][r]),
        "agree two-argument exception": lambda: agree([TwoArguments("bad", "because"), None][r]),
    }
    # tensor training: a rank that stopped or stepped differently would leave DDP waiting
    indices = torch.tensor([[0, 1], [1, 2], [2, 0]])[r::2]
    values = torch.ones(indices.shape[0], dtype=torch.float64)
    model = lambda: CPFactorization((3, 3), 2, init_std=0.5, dtype=torch.float64)  # noqa: E731
    cases.update({
        "distributed_train lr": lambda: distributed_train(model(), indices, values, lr=[0.1, 0.2][r],
                                                          max_iterations=2),
        "distributed_train max_iterations": lambda: distributed_train(model(), indices, values,
                                                                      max_iterations=2 + r),
        "distributed_train optimizer": lambda: distributed_train(model(), indices, values, max_iterations=1,
                                                                 optimizer=["adam", "gd"][r]),
        "distributed_train bad shard on rank 1": lambda: distributed_train(model(), indices,
                                                                           values[:0] if r else values,
                                                                           max_iterations=1),
        "ddp_gradients count": lambda: ddp_gradients(model(), indices, values, count=3 + r),
    })
    out = {name: capture_error(fn) for name, fn in cases.items()}
    out["still usable"] = torch.equal(rd.gather(rd.count_walks(dg, 2), dg, dst=None), rankcore.count_walks(ei, n, 2))
    return out


SAME = "must be the same on every rank, got"
EXPECTED = {
    "sparsify method": ("ValueError", f"method {SAME} wis on rank 0 and random on rank 1"),
    "sparsify num_remove": ("ValueError", f"num_remove {SAME} 5 on rank 0 and 6 on rank 1"),
    "sparsify num_remove too many": ("ValueError", f"num_remove {SAME} 5 on rank 0 and 1000000 on rank 1"),
    "sparsify ratio": ("ValueError", f"ratio {SAME} 0.5 on rank 0 and 0.25 on rank 1"),
    "sparsify ratio or num_remove": ("ValueError", f"ratio {SAME} 0.5 on rank 0 and None on rank 1"),
    "sparsify seed": ("ValueError", f"seed {SAME} 0 on rank 0 and 1 on rank 1"),
    "sparsify depth": ("ValueError", f"depth {SAME} 2 on rank 0 and 3 on rank 1"),
    "sparsify batch": ("ValueError", f"batch {SAME} 4 on rank 0 and 8 on rank 1"),
    "count_walks length": ("ValueError", f"length {SAME} 3 on rank 0 and 4 on rank 1"),
    "count_walks dtype": ("ValueError", f"dtype {SAME} torch.int64 on rank 0 and torch.float64 on rank 1"),
    "count_walks sources None": ("ValueError", f"the shape of sources {SAME} None on rank 0 and [n] on rank 1"),
    "count_walks masks": ("ValueError", f"the shape of sources {SAME} [1, n] on rank 0 and [2, n] on rank 1"),
    "boundary partition": ("ValueError", f"the shape of partition {SAME} [n] on rank 0 and [2, n] on rank 1"),
    "walk_index depth": ("ValueError", f"depth {SAME} 2 on rank 0 and 3 on rank 1"),
    "walk_index target": ("ValueError", f"target {SAME} None on rank 0 and 3 on rank 1"),
    "gather dst": ("ValueError", f"dst {SAME} 0 on rank 0 and None on rank 1"),
    "closed_walk_counts length": ("ValueError", f"length {SAME} 2 on rank 0 and 4 on rank 1"),
    "singleton_scores depth": ("ValueError", f"depth {SAME} 2 on rank 0 and 3 on rank 1"),
    "ball radius": ("ValueError", f"radius {SAME} 1 on rank 0 and 2 on rank 1"),
    "from_local_edges symmetrize": ("ValueError", f"symmetrize {SAME} False on rank 0 and True on rank 1"),
    "from_local_edges balance": ("ValueError", f"balance {SAME} False on rank 0 and True on rank 1"),
    "from_local_edges require_undirected":
        ("ValueError", f"require_undirected {SAME} False on rank 0 and True on rank 1"),
    "from_local_edges num_nodes": ("ValueError", f"num_nodes {SAME} 30 on rank 0 and None on rank 1"),
    "scatter src": ("ValueError", f"src {SAME} 0 on rank 0 and 1 on rank 1"),
    "sparsify_file seed": ("ValueError", f"seed {SAME} 0 on rank 0 and 1 on rank 1"),
    "sparsify_file output": ("ValueError", f"output {SAME} "),
    "agree UnicodeDecodeError":
        ("UnicodeError", "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
    "agree two-argument exception": ("ValueError", "bad: because"),
    "distributed_train lr": ("ValueError", f"lr {SAME} 0.1 on rank 0 and 0.2 on rank 1"),
    "distributed_train max_iterations": ("ValueError", f"max_iterations {SAME} 2 on rank 0 and 3 on rank 1"),
    "distributed_train optimizer": ("ValueError", f"optimizer {SAME} adam on rank 0 and gd on rank 1"),
    "distributed_train bad shard on rank 1": ("ValueError", "values must be a [M] tensor with M = 1, got (0,)"),
    "ddp_gradients count": ("ValueError", f"count {SAME} 3 on rank 0 and 4 on rank 1"),
}


def _graph_file(folder: str) -> tuple[str, str]:
    ei, _ = _graph()
    graph_file = os.path.join(folder, "g.txt")
    Path(graph_file).write_text("".join(f"{u} {v}\n" for u, v in ei.t().tolist()))
    return graph_file, folder


register(2, "agreement: every mismatch", _mismatches, setup=_graph_file)


@pytest.fixture(scope="module")
def per_rank(rank_results):
    return rank_results(2, "agreement: every mismatch")


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_every_rank_raises_the_same_error(per_rank, case):
    kind, fragment = EXPECTED[case]
    errors = [res[case] for res in per_rank]
    assert errors[0] is not None, f"{case}: no error"
    assert errors[0][0] == kind and fragment in errors[0][1], errors[0]
    assert all(e == errors[0] for e in errors), f"{case}: ranks disagree: {errors}"
    assert len(errors[0][1].splitlines()) == 1


def test_the_group_stays_usable(per_rank):
    assert all(res["still usable"] for res in per_rank)


# --- errors reaching the parent ----------------------------------------------------------------------------

def _fail(how: str):
    import torch.distributed as dist

    rank = dist.get_rank()
    if how == "unicode":
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    if how == "two arguments":
        raise TwoArguments("bad", "because")
    if how == "unpicklable result":
        import threading

        return threading.Lock()
    if rank == 1:
        if how == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        if how == "exit":
            os._exit(3)
        if how == "raise alone":
            raise ValueError("only rank 1 raised")
    dist.barrier()  # rank 0 waits for rank 1, which will not come
    return rank


# rank None: every rank fails the same way, and which one reports first is a matter of timing (a rank still
# starting when another has failed is stopped after the grace period, under load before it gets to raise).
FAILURES = [
    ("unicode", None, "raised UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: "
                      "invalid start byte"),
    ("two arguments", None, "raised TwoArguments: bad: because"),
    ("unpicklable result", None, "raised TypeError: the rank's return value does not pickle: cannot pickle "
                                 "'_thread.lock' object"),
    ("sigkill", 1, "rank 1 died (signal SIGKILL)"),
    ("exit", 1, "rank 1 exited with status 3 before returning"),
    ("raise alone", 1, "rank 1 raised ValueError: only rank 1 raised"),  # not rank 0's broken barrier
]


def _failed_run(folder: str, how: str) -> tuple:
    """(the RankFailed of run_local(_fail, 2, how), or None, and the seconds it took)."""
    start = time.monotonic()
    try:
        rd.run_local(_fail, 2, how, timeout_s=60)
    except rd.RankFailed as err:
        return err, time.monotonic() - start
    return None, time.monotonic() - start


for _how, _, _ in FAILURES:
    background.register(f"agreement: run_local fails ({_how})", _failed_run, _how,
                        needed_by="test_a_failed_rank_is_one_line")


@pytest.mark.parametrize("how,rank,line", FAILURES)
def test_a_failed_rank_is_one_line(background_result, how, rank, line):
    err, seconds = background_result(f"agreement: run_local fails ({how})")
    assert isinstance(err, rd.RankFailed), "run_local did not raise RankFailed"
    assert seconds < 30, "the other rank was left waiting"
    first_line = str(err).splitlines()[0]
    if rank is None:
        rank = min(err.errors)
        line = f"rank {rank} {line}"
    assert first_line.startswith(line)
    assert min(err.errors) == rank
    _, message, _ = err.errors[rank]  # `rankcore sparsify --nproc` prints its first line
    assert first_line.endswith(message.strip().splitlines()[0])


# --- signals to the parent ---------------------------------------------------------------------------------

SCRIPT = """
import os, sys, time
from rankcore.distributed.launch import run_local

def sleeper(pid_dir):
    open(os.path.join(pid_dir, str(os.getpid())), "w").close()
    time.sleep(300)

if __name__ == "__main__":
    run_local(sleeper, 2, sys.argv[1])
"""


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (Linux /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _signal_to_the_parent(folder: str, sig: signal.Signals) -> None:
    """Start SCRIPT (run_local of two sleeping ranks), send ``sig`` to it once both ranks run, and check that
    no rank is left running."""
    tmp_path = Path(folder)
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(SCRIPT))
    pids = tmp_path / "pids"
    pids.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(rankcore.__file__).parents[1])] + os.environ.get("PYTHONPATH", "").split(os.pathsep)))
    proc = subprocess.Popen([sys.executable, str(script), str(pids)], env=env, stderr=subprocess.PIPE)
    ranks = []
    try:
        deadline = time.monotonic() + 60
        while len(list(pids.iterdir())) < 2:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the ranks did not start"
            time.sleep(0.1)
        ranks = [int(p.name) for p in pids.iterdir()]
        proc.send_signal(sig)
        proc.wait(timeout=15)
        deadline = time.monotonic() + 10
        while any(_running(pid) for pid in ranks) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_running(pid) for pid in ranks), f"ranks still running after {sig.name} to the parent"
    finally:
        proc.kill()
        proc.wait()
        for pid in ranks:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]
if Path("/proc/self/stat").exists():
    for _sig in SIGNALS:
        background.register(f"agreement: {_sig.name} to the parent", _signal_to_the_parent, _sig,
                            needed_by="test_a_signal_to_the_parent_ends_every_rank")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_a_signal_to_the_parent_ends_every_rank(background_result, sig):
    background_result(f"agreement: {sig.name} to the parent")  # its checks ran there
