"""Regression tests for the holes of the adversarial pass (issue 13): each failed before its fix."""

from __future__ import annotations

import _thread
import math
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch

import rankcore
from rankcore import cli, ops
from rankcore.graph import arguments
from rankcore.reference import wis_reference

from graphs import random_undirected


# --- Security: .pt files are loaded with weights_only=True ----------------------------------------------


class _TouchOnLoad:
    """A pickle that creates a file when loaded (a harmless stand-in for `os.system`)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


@pytest.mark.parametrize("command", ["walk-index", "sparsify"])
def test_crafted_pt_file_runs_no_code(tmp_path, capsys, command):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save(_TouchOnLoad(str(marker)), evil)
    assert cli.main([command, str(evil)]) == 2
    assert not marker.exists(), "loading the .pt executed code"
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "weights_only" in err


def test_cli_reads_what_it_writes(tmp_path, capsys):
    out = tmp_path / "out.pt"
    assert cli.main(["sparsify", "--ratio", "0.3", "-o", str(out), "--no-progress"]) == 0
    saved = torch.load(out, weights_only=True)
    assert cli.main(["walk-index", str(out)]) == 0
    assert cli.main(["sparsify", str(out), "--ratio", "0.5", "--no-progress"]) == 0
    text = capsys.readouterr().out
    kept = saved["edge_index"].shape[1] // 2
    assert f"{saved['num_nodes']} vertices, {kept} undirected edges" in text


def test_cli_reads_a_pyg_data_file(tmp_path, capsys):
    pyg = pytest.importorskip("torch_geometric")
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    path = tmp_path / "data.pt"
    torch.save(pyg.data.Data(edge_index=ei, x=torch.randn(3, 2), num_nodes=3), path)
    assert cli.main(["walk-index", str(path)]) == 0
    assert "3 vertices, 2 undirected edges" in capsys.readouterr().out


# --- Every accepted input type comes back aligned with its own columns ----------------------------------


def _shuffled_with_duplicates(seed: int):
    """An undirected random graph as columns in random order, with some columns repeated and self-loops."""
    gen = torch.Generator().manual_seed(seed)
    ei, n = random_undirected(12, 0.4, seed=seed)
    extra = ei[:, torch.randint(ei.shape[1], (5,), generator=gen)]
    loops = torch.tensor([[3, 7], [3, 7]])
    ei = torch.cat([ei, extra, loops], dim=1)
    return ei[:, torch.randperm(ei.shape[1], generator=gen)], n


def _as_type(ei: torch.Tensor, kind: str):
    return {"tensor": ei, "numpy": ei.numpy(), "list": ei.tolist(), "int32": ei.to(torch.int32)}[kind]


@pytest.mark.parametrize("kind", ["tensor", "numpy", "list", "int32"])
@pytest.mark.parametrize("method", ["wis", "random", "local_degree"])
def test_keep_mask_refers_to_the_callers_columns(kind, method):
    for seed in range(3):
        ei, n = _shuffled_with_duplicates(seed)
        res = rankcore.sparsify(_as_type(ei, kind), n, method, ratio=0.4, seed=seed)
        removed = {tuple(e) for e in res.removed.tolist()}
        lo, hi = torch.minimum(ei[0], ei[1]), torch.maximum(ei[0], ei[1])
        expected = torch.tensor([(a, b) not in removed or a == b for a, b in zip(lo.tolist(), hi.tolist())])
        assert torch.equal(res.keep_mask, expected)
        assert torch.equal(res.edge_index, ei[:, expected])


@pytest.mark.parametrize("kind", ["numpy", "list"])
def test_wis_issue_example_numpy_and_list(kind):
    a = np.array([[1, 2, 0, 1], [2, 1, 1, 0]])
    res = rankcore.wis(_as_type(torch.from_numpy(a), kind), 3, 1)
    kept = a[:, res.keep_mask.numpy()]
    (u, v), = res.removed.tolist()
    assert not any({x, y} == {u, v} for x, y in kept.T.tolist())
    assert res.removed.tolist() == wis_reference(torch.from_numpy(a), 3, 1, depth=2).tolist()


@pytest.mark.parametrize("kind", ["tensor", "numpy", "list"])
def test_edge_common_neighbors_aligned_with_input_columns(kind):
    ei, n = _shuffled_with_duplicates(1)
    counts = rankcore.edge_common_neighbors(_as_type(ei, kind), n)
    neighbours = [set() for _ in range(n)]
    for u, v in ei.t().tolist():
        if u != v:
            neighbours[u].add(v)
    expected = [len(neighbours[u] & neighbours[v]) if u != v else len(neighbours[u]) for u, v in ei.t().tolist()]
    assert counts.tolist() == expected


# --- meta tensors mixed with real ones: an error, never uninitialised memory ----------------------------


def test_meta_mixed_with_cpu_is_an_error():
    rowptr, col = torch.tensor([0, 1, 2]), torch.tensor([1, 0], dtype=torch.int32)
    meta_start = torch.ones(2, 1, dtype=torch.int64, device="meta")
    factors = [torch.randn(3, 2), torch.randn(3, 2, device="meta")]
    idx = torch.zeros(4, 2, dtype=torch.long)
    calls = [
        lambda: ops.walk_count(rowptr, col, meta_start, 2),
        lambda: torch.ops.rankcore.walk_count.default(rowptr, col, meta_start, 2),
        lambda: ops.cp_eval(factors, idx),
        lambda: torch.ops.rankcore.cp_eval.default(factors, idx),
        lambda: ops.ht_leaf_pool(factors, idx, [0, 1], [0, 2]),
        lambda: ops.closed_walk_counts(rowptr.to("meta"), col, 3),
        lambda: ops.edge_common_neighbors(rowptr, col.to("meta")),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="one device"):
            call()


def test_meta_edge_index_is_a_clear_error():
    with pytest.raises(ValueError, match="meta tensor"):
        rankcore.count_walks(torch.zeros(2, 3, dtype=torch.long, device="meta"), 3, 2)


# --- Unbounded work stops once the answer is settled ----------------------------------------------------


def _quick(call, seconds=5.0):
    t0 = time.perf_counter()
    out = call()
    assert time.perf_counter() - t0 < seconds
    return out


def test_float64_walks_stop_once_all_inf():
    ei, n = random_undirected(30, 0.2, seed=0)
    out = _quick(lambda: rankcore.count_walks(ei, n, 2**40, dtype=torch.float64))
    assert torch.isinf(out).all()


def test_edgeless_graph_huge_length_returns_at_once():
    empty = torch.zeros(2, 0, dtype=torch.long)
    out = _quick(lambda: rankcore.count_walks(empty, 5, 2**62))
    assert out.tolist() == [1] * 5
    # sources that reach nothing new: a fixed point too
    directed = torch.tensor([[0], [1]])
    src = torch.tensor([False, True])
    assert _quick(lambda: rankcore.count_walks(directed, 2, 2**62, src)).tolist() == [0, 1]


def test_settled_counts_equal_the_full_stepping():
    ei, n = random_undirected(15, 0.2, seed=3)
    ei = ei[:, :6]  # directed leftovers and isolated vertices
    for length in (17, 40, 100):
        fast = rankcore.count_walks(ei, n, length, dtype=torch.float64)
        x = torch.ones(n, dtype=torch.float64)
        a = torch.zeros(n, n, dtype=torch.float64)
        keep = ei[0] != ei[1]
        a[ei[0][keep], ei[1][keep]] = 1
        for _ in range(length):
            x = x + a.t() @ x
        assert torch.equal(fast, x)


def test_huge_lengths_overflow_at_once():
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    with pytest.raises(OverflowError, match="length 1000000"):
        _quick(lambda: rankcore.closed_walk_counts(ei, 3, 10**6))
    with pytest.raises(OverflowError):
        _quick(lambda: rankcore.wis(ei, 3, 1, depth=10**5))
    with pytest.raises(OverflowError, match="length 50 "):  # (1 + sqrt 2)^50 > 2^63 on the path
        _quick(lambda: rankcore.count_walks(ei, 3, 2**62))
    # isolated vertices only: every closed walk count is 1 at any length
    assert rankcore.closed_walk_counts(torch.zeros(2, 0, dtype=torch.long), 4, 10**9).tolist() == [1] * 4


def _binomial_walks(edges, n, length, sources):
    """Â^length applied to the sources on an acyclic directed graph, as sum_{j < n} C(length, j) A^j
    (A^n = 0) in Python ints: the test's own closed form, dense."""
    a = np.zeros((n, n), dtype=object)
    for i, j in edges:
        a[i, j] = 1
    term = np.array([int(s) for s in sources], dtype=object)
    total = term.copy()
    for j in range(1, n):
        term = term.dot(a)
        total = total + math.comb(length, j) * term
    return [int(v) for v in total]


def _first_overflow(edges, n, length, sources):
    """The smallest length whose closed-form count passes int64 (counts grow with the length), or None."""
    if max(_binomial_walks(edges, n, length, sources)) <= 2**63 - 1:
        return None
    fits, over = 0, length
    while over - fits > 1:
        mid = (fits + over) // 2
        if max(_binomial_walks(edges, n, mid, sources)) <= 2**63 - 1:
            fits = mid
        else:
            over = mid
    return over


@pytest.mark.parametrize("dtype", [torch.int64, torch.float64])
def test_directed_acyclic_huge_lengths_return_at_once(dtype):
    # Counts on an acyclic reachable part grow only polynomially: step by step, 2^40 steps took a day (the
    # binomial form ends after the longest path). Exact values, or the first overflowing length, at once.
    cases = [
        ([(0, 1)], 2, [True, True]),
        ([(0, 1), (1, 2)], 3, [True, False, True]),
        ([(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)], 6, [True, True, False, False, False, True]),  # 5 isolated
        ([(0, 4), (1, 4), (2, 4), (3, 4)], 5, [True] * 5),  # in-star
    ]
    for edges, n, sources in cases:
        ei = torch.tensor(edges).t()
        for length in (129, 1000, 10**6, 10**12, 2**62, 2**63 - 1):
            want = _binomial_walks(edges, n, length, sources)
            call = lambda: rankcore.count_walks(ei, n, length, torch.tensor(sources), dtype=dtype)  # noqa: E731
            if dtype == torch.float64:
                got = _quick(call).tolist()
                assert got == pytest.approx([float(w) if w < 2**1000 else math.inf for w in want], rel=1e-12)
                continue
            first = _first_overflow(edges, n, length, sources)
            if first is None:
                assert _quick(call).tolist() == want, (edges, length)
            else:
                with pytest.raises(OverflowError, match=f"of length {first} "):
                    _quick(call)


def test_a_long_count_reaching_a_cycle_still_ends():
    # a path into a directed cycle and on out of it: int64 overflows (at its true length), float64 turns inf
    # everywhere the cycle reaches and stays exact before it
    edges = [(0, 1), (1, 2), (2, 3), (3, 1), (3, 4), (5, 6)]
    ei = torch.tensor(edges).t()
    with pytest.raises(OverflowError) as err:
        _quick(lambda: rankcore.count_walks(ei, 7, 2**62))
    step_by_step = None
    try:
        rankcore.count_walks(ei, 7, 128)
    except OverflowError as e:
        step_by_step = str(e)
    assert step_by_step is not None and str(err.value) == step_by_step
    out = _quick(lambda: rankcore.count_walks(ei, 7, 10**15, dtype=torch.float64))
    assert out[0] == 1 and out[5] == 1 and out[6] == 10**15 + 1
    assert torch.isinf(out[1:5]).all()


class _CountingProducts:
    """Stands in for graph.walks.adjacency_matrix's sparse matrix: counts the products A w (one per float64
    term of the binomial sum, one per leak check)."""

    def __init__(self, matrix, calls):
        self.matrix, self.calls = matrix, calls

    def __matmul__(self, other):
        self.calls[0] += 1
        return self.matrix @ other


def _as_float(value: int) -> float:
    return float(value) if value < 2**1024 else math.inf


@pytest.mark.parametrize("length", [2**62, 10**12, 1000])
def test_float64_long_chains_do_not_take_a_term_per_vertex(monkeypatch, length):
    # A directed cycle and a directed path of 3000 vertices, each walked from one vertex (two source columns).
    # The binomial sum took a term (a sparse product and a leak check) per vertex reached: the cycle from one
    # source at 2^62 took 10 s at 30000 vertices (0.5 s by stepping), the path 176 s at 10^5; and a length below
    # the number of vertices (1000 here) a term per unit of length (1.6 s at 20000 vertices, 0.09 s stepping).
    # Now a saturated coefficient ends the sum with a closure in native steps, and a long sum gives way to
    # stepping; the values are the closed form's (C(length, v) at path vertex v; inf on the cycle).
    from rankcore.graph import walks

    calls, real = [0], walks.adjacency_matrix
    monkeypatch.setattr(walks, "adjacency_matrix", lambda rowptr, col: _CountingProducts(real(rowptr, col), calls))
    n = 3000
    cycle = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
    path = torch.stack([torch.arange(n, 2 * n - 1), torch.arange(n + 1, 2 * n)])
    sources = torch.zeros(2, 2 * n, dtype=torch.bool)
    sources[0, 0] = sources[1, n] = True
    # the count of sparse products is the check (not the wall time: the box is shared)
    out = rankcore.count_walks(torch.cat([cycle, path], 1), 2 * n, length, sources, dtype=torch.float64)
    assert calls[0] < 100, calls[0]
    coefficient, on_path = 1, []
    for v in range(n):
        on_path.append(_as_float(coefficient))
        coefficient = coefficient * (length - v) // (v + 1)
    assert out[1, n:].tolist() == pytest.approx(on_path, rel=1e-12)
    assert (out[1, :n] == 0).all() and (out[0, n:] == 0).all()
    if length > 2 * n:  # every cycle vertex is reached at some j with C(length, j) > 2^1024
        assert torch.isinf(out[0, :n]).all()
    else:  # the cycle is longer than the walks: vertex v has C(length, v), as on the path
        assert out[0, :n].tolist() == pytest.approx(on_path, rel=1e-12)


def test_overflow_length_is_the_true_length_across_native_calls():
    # the count is split into several native calls: the error must name the global step
    ei = torch.tensor([[0, 1], [1, 0]])  # (Â^L)1 = 2^L * 1: overflows at L = 63
    with pytest.raises(OverflowError, match="of length 63 "):
        rankcore.count_walks(ei, 2, 100)


# --- Long native loops are cancellable; the worker is joined before the exception propagates ------------


# A hub joined to a ring: with the hub structures off (RANKCORE_WIS_HUB_DEGREE above every degree) 2-WIS re-keys
# every ring edge after every removal, so it runs for minutes: long enough to interrupt at any point. (With them on,
# the default, it takes a fraction of a second.)
SLOW_WIS = {"RANKCORE_WIS_HUB_DEGREE": str(10**12)}


def _hub_graph(leaves: int) -> tuple[torch.Tensor, int]:
    hub = torch.zeros(leaves, dtype=torch.long)
    leaf = torch.arange(1, leaves + 1)
    ring = torch.stack([leaf, leaf % leaves + 1])
    ei = torch.cat([torch.stack([hub, leaf]), ring], dim=1)
    return torch.cat([ei, ei.flip(0)], dim=1), leaves + 1


def _wis_threads():
    return [t for t in threading.enumerate() if t.name == "rankcore-wis" and t.is_alive()]


def test_raising_progress_callback_stops_and_joins_the_worker(monkeypatch):
    monkeypatch.setenv(*next(iter(SLOW_WIS.items())))
    ei, n = _hub_graph(60000)
    calls = []

    def progress(done, total):
        calls.append(done)
        raise RuntimeError("stop here")

    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match="stop here"):
        rankcore.wis(ei, n, 2 * 60000 - 10, depth=3, progress=progress)
    assert not _wis_threads(), "the WIS worker outlived the exception"
    assert time.perf_counter() - t0 < 30


def test_keyboard_interrupt_stops_a_silent_wis(monkeypatch):
    monkeypatch.setenv(*next(iter(SLOW_WIS.items())))
    ei, n = _hub_graph(60000)
    timer = threading.Timer(0.5, _thread.interrupt_main)
    t0 = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            rankcore.wis(ei, n, 2 * 60000 - 10, depth=3)
    finally:
        timer.cancel()
    assert not _wis_threads()
    assert time.perf_counter() - t0 < 30


def test_cancel_waits_for_the_op_even_when_is_alive_lies(monkeypatch):
    """After a join that a signal interrupted, Thread.is_alive() can say False while the native op still
    runs (Python 3.11); leaving then let the interpreter exit under the op (abort, exit 134). The wait must
    be on the worker's own "finished" event."""
    from rankcore.graph.progress import run_cancellable

    monkeypatch.setattr(threading.Thread, "is_alive", lambda self: False)
    finished = []

    def slow_op(slot):
        while slot[1] == 0:  # like the native op: runs until it sees the cancel flag...
            time.sleep(0.01)
        time.sleep(0.3)  # ...and takes a while to wind down
        finished.append(True)
        raise RuntimeError("rankcore cancelled: stopped")

    def report(done):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_cancellable(slow_op, report, interval=0.02)
    assert finished == [True]


@pytest.mark.slow
def test_ctrl_c_of_the_command_during_wis_exits_130_in_one_line(tmp_path):
    ei, n = _hub_graph(60000)
    path = tmp_path / "hub.txt"
    path.write_text("".join(f"{u} {v}\n" for u, v in ei.t().tolist()))
    proc = subprocess.Popen([sys.executable, "-m", "rankcore.cli", "sparsify", str(path), "--depth", "3",
                             "--ratio", "0.99", "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **SLOW_WIS})
    try:
        deadline = time.time() + 60
        out = ""
        while "sparsifying with" not in out and time.time() < deadline:  # wait until WIS runs
            out += proc.stdout.readline()
        assert proc.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err == "rankcore sparsify: interrupted\n"


def test_cancel_slot_of_the_native_op():
    ei, n = _hub_graph(2000)
    g = rankcore.Graph.from_input(ei, n)
    slot = torch.tensor([0, 1], dtype=torch.int64)  # cancel requested before the start
    with pytest.raises(RuntimeError, match="rankcore cancelled"):
        ops.wis_greedy(g.rowptr, g.col, 100, 2, slot)
    with pytest.raises(ValueError, match="1 element"):
        ops.wis_greedy(g.rowptr, g.col, 100, 2, torch.zeros(3, dtype=torch.int64))


# --- One-line CLI errors ---------------------------------------------------------------------------------


def _one_line_error(capsys, argv) -> str:
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_cli_empty_edge_list(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing here\n")
    assert "no edges" in _one_line_error(capsys, ["sparsify", str(empty)])


def test_cli_missing_scipy_is_reported_before_the_work(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "scipy" else real(name, *a))
    assert "needs scipy" in _one_line_error(capsys, ["sparsify", "-o", "x.npz"])
    assert "needs scipy" in _one_line_error(capsys, ["sparsify", "--method", "spectral"])
    assert capsys.readouterr().out == ""  # nothing was computed or printed first


def test_cli_unwritable_output_checked_first(tmp_path, capsys):
    assert "does not exist" in _one_line_error(capsys, ["sparsify", "-o", str(tmp_path / "no" / "x.pt")])


def test_cli_huge_vertex_id_is_a_clear_memory_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(arguments, "available_memory_bytes", lambda: 2**30)
    big = tmp_path / "big.txt"
    big.write_text("0 2147483640\n2147483640 0\n")
    err = _one_line_error(capsys, ["sparsify", str(big)])
    assert "GiB" in err and "relabel" in err


# --- Messages that point somewhere -----------------------------------------------------------------------


def test_walk_index_overflow_does_not_suggest_a_missing_argument():
    ei = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(OverflowError) as info:
        rankcore.walk_index(ei, 2, torch.tensor([True, False]), 200)
    assert "count_walks" in str(info.value) and "walk_index(" not in str(info.value)


@pytest.mark.parametrize("value", [2**63, 2**64])
def test_huge_integer_arguments_are_value_errors(value):
    ei = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="length"):
        rankcore.count_walks(ei, 2, value)
    with pytest.raises(ValueError, match="depth"):
        rankcore.wis(ei, 2, 1, depth=value)


def test_numpy_integers_accepted_everywhere():
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    assert rankcore.count_walks(ei, np.int64(3), np.int64(2)).tolist() == \
        rankcore.count_walks(ei, 3, 2).tolist()
    assert rankcore.wis(ei, np.int32(3), np.int64(1), depth=np.int64(2)).removed.shape == (1, 2)
    assert int(rankcore.walk_index(ei, 3, torch.tensor([True, False, False]), np.int64(2))) > 0


def test_spectral_huge_sketch_is_refused_up_front(monkeypatch):
    pytest.importorskip("scipy")
    monkeypatch.setattr(arguments, "available_memory_bytes", lambda: 2**30)
    ei, n = random_undirected(20, 0.3, seed=0)
    with pytest.raises((MemoryError, ValueError), match="eps"):
        rankcore.sparsify(ei, n, "spectral", ratio=0.5, eps=1e-6)


def test_spectral_eps_of_the_wrong_type_is_a_clear_error():
    pytest.importorskip("scipy")
    ei, n = random_undirected(20, 0.3, seed=0)
    with pytest.raises(TypeError, match="eps must be a number"):  # "1" failed inside a comparison
        rankcore.sparsify(ei, n, "spectral", ratio=0.5, eps="1")


def test_huge_num_nodes_refused_up_front(monkeypatch):
    monkeypatch.setattr(arguments, "available_memory_bytes", lambda: 2**30)
    with pytest.raises(MemoryError, match="relabel"):
        rankcore.count_walks(torch.tensor([[0, 1], [1, 0]]), 2**31 - 1, 2)


def test_big_partition_batch_refused_up_front(monkeypatch):
    monkeypatch.setattr(arguments, "available_memory_bytes", lambda: 2**20)
    ei, n = random_undirected(2000, 0.001, seed=0)
    masks = torch.zeros(100, n, dtype=torch.bool)
    with pytest.raises(MemoryError, match="smaller batches"):
        rankcore.walk_index(ei, n, masks, 3)


@pytest.mark.slow
def test_overflow_is_an_overflow_error_under_torch_compile():
    ei = torch.tensor([[0, 1], [1, 0]])
    compiled_api = torch.compile(lambda: rankcore.count_walks(ei, 2, 100))
    with pytest.raises(OverflowError, match="length 63 "):
        compiled_api()
    compiled_closed = torch.compile(lambda: rankcore.closed_walk_counts(ei, 2, 100))
    with pytest.raises(OverflowError):
        compiled_closed()
