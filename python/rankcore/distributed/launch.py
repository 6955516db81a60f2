"""Running a function on N local gloo processes: what the tests, the benchmarks and ``--nproc`` use.

``run_local(fn, world_size, *args)`` spawns ``world_size`` processes on this machine (a file store in a
fresh temporary directory, so no port is needed), calls ``fn(*args)`` on every rank inside an initialised
default process group and returns the list of per-rank return values (they must pickle).

No rank outlives ``run_local``: Ctrl-C (KeyboardInterrupt) or SIGTERM in the parent, or any error there,
stops every rank (SIGTERM, then SIGKILL) before it propagates, and a rank dies with its parent. When a rank
fails (it raised, or it died), the others get a few seconds to finish (an agreed error ends every rank at
once), then they are stopped rather than left waiting in a collective, and :class:`RankFailed` reports the
failure. Exceptions cross as text (type name, message, traceback), so any exception reaches the parent.
"""

from __future__ import annotations

import contextlib
import datetime
import multiprocessing.connection
import os
import pickle
import signal
import tempfile
import threading
import time
import traceback

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from .graph import error_message

__all__ = ["run_local", "RankFailed"]


class RankFailed(RuntimeError):
    """A rank of :func:`run_local` failed. ``errors`` maps rank -> (exception type name, message,
    traceback) of the failure that ended the run: the first exception raised, on every rank that raised
    it (an agreed error is raised everywhere), or else the ranks that died (type name None, a message
    such as "rank 1 died (signal SIGKILL)" and no traceback). The message's first line says what failed."""

    def __init__(self, errors: dict[int, tuple[str | None, str, str]]):
        self.errors = errors
        first = min(errors)
        name, message, tb = errors[first]
        super().__init__(message if name is None else f"rank {first} raised {name}: {message}\n{tb}")


def _worker(rank: int, world_size: int, store_path: str, out_dir: str, fn, args, threads: int | None,
            timeout_s: float, parent: int) -> None:
    # Ctrl-C reaches the whole foreground process group: the parent handles it and stops every rank.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        dist.init_process_group("gloo", init_method=f"file://{store_path}", rank=rank, world_size=world_size,
                                timeout=datetime.timedelta(seconds=timeout_s))
        status, value = "ok", fn(*args)
    except BaseException as err:  # reported to the parent, which raises RankFailed
        status, value = "error", (_describe(err), time.time())
    try:
        data = pickle.dumps(value)
    except Exception as err:  # noqa: BLE001 - a return value that does not pickle is this rank's error
        name, message, tb = _describe(err)
        status, data = "error", pickle.dumps(((name, f"the rank's return value does not pickle: {message}", tb),
                                              time.time()))
    path = _result_path(out_dir, rank, status)
    with open(path + ".part", "wb") as f:
        f.write(data)
    os.replace(path + ".part", path)  # the parent never reads a partial result
    if dist.is_initialized():
        dist.destroy_process_group()


def _result_path(out_dir: str, rank: int, status: str) -> str:
    return os.path.join(out_dir, f"rank{rank}.{status}")


def _describe(err: BaseException) -> tuple[str, str, str]:
    """(type name, message, traceback) of the exception being handled: plain text, which always pickles
    (an exception object may not, or may not be rebuilt from its message: UnicodeDecodeError)."""
    name = type(err).__name__
    return name, error_message(err) or name, traceback.format_exc()


def _die_with_parent(parent: int) -> None:
    """SIGKILL this rank when the parent dies (Linux prctl). torch's spawn asks for SIGINT, which this
    rank ignores and which a rank blocked in a collective would not act on anyway."""
    set_pdeathsig = getattr(mp, "_prctl_pr_set_pdeathsig", None)
    if set_pdeathsig is not None:
        set_pdeathsig(signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before that took effect
        os._exit(1)


@contextlib.contextmanager
def _sigterm_raises():
    """While the ranks run, SIGTERM raises SystemExit(143) in this (main) thread, so the ranks are stopped
    as on Ctrl-C; its default action would end this process at once and leave them running. A handler
    the caller installed is left alone, and so is everything off the main thread (no handler there)."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _wait(procs: list, out_dir: str, grace_s: float) -> set[int]:
    """Wait until every rank has exited, or until ``grace_s`` seconds after the first failure (a rank
    that raised or died); returns the ranks still running then, for the caller to stop."""
    failed_at = None
    while True:
        alive = [p for p in procs if p.is_alive()]
        if not alive:
            return set()
        if failed_at is None and any(p.exitcode is not None and not os.path.exists(_result_path(out_dir, r, "ok"))
                                     for r, p in enumerate(procs)):
            failed_at = time.monotonic()
        left = None if failed_at is None else failed_at + grace_s - time.monotonic()
        if left is not None and left <= 0:
            return {r for r, p in enumerate(procs) if p.is_alive()}
        multiprocessing.connection.wait([p.sentinel for p in alive], timeout=left)


def _stop(procs: list, wait_s: float = 2.0) -> None:
    """SIGTERM every rank still running, SIGKILL those still there after ``wait_s`` seconds; reap all."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + wait_s
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.kill()
        p.join()


def _results(procs: list, out_dir: str, stopped: set[int]) -> list:
    """Every rank's return value, or RankFailed (module docstring) for the failure that ended the run."""
    results, raised, died = [], {}, {}
    for rank, p in enumerate(procs):
        ok, error = _result_path(out_dir, rank, "ok"), _result_path(out_dir, rank, "error")
        if os.path.exists(ok):
            with open(ok, "rb") as f:
                results.append(pickle.load(f))
        elif os.path.exists(error):
            with open(error, "rb") as f:
                raised[rank] = pickle.load(f)
        elif rank not in stopped:  # exited without a result: a signal, os._exit, a crash in native code
            code = p.exitcode
            if code is not None and code < 0:
                try:
                    how = f"died (signal {signal.Signals(-code).name})"
                except ValueError:
                    how = f"died (signal {-code})"
            else:
                how = f"exited with status {code} before returning"
            died[rank] = (None, f"rank {rank} {how}", "")
    if died:  # the others' errors (a peer closed the connection, ...) follow from it
        raise RankFailed(died)
    if raised:
        # the first exception raised; later, different ones (a collective broken by it) follow from it
        first, _ = min(raised.values(), key=lambda item: item[1])
        raise RankFailed({r: e for r, (e, _) in raised.items() if e[:2] == first[:2]})
    return results


def run_local(fn, world_size: int, *args, threads: int | None = 1, timeout_s: float = 120.0,
              grace_s: float = 5.0) -> list:
    """``[fn(*args) on rank 0, ..., on rank world_size - 1]``, each run in its own gloo process.

    ``fn`` must be importable (a module-level function). ``threads`` sets ``torch.set_num_threads`` per
    process (1: the processes do not fight over cores; None: torch's default). ``timeout_s`` is the
    process group's collective timeout; ``grace_s`` how long the other ranks may go on after one failed.
    Raises :class:`RankFailed` when a rank fails.
    """
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    with tempfile.TemporaryDirectory(prefix="rankcore_dist_") as tmp, _sigterm_raises():
        worker_args = (world_size, os.path.join(tmp, "store"), tmp, fn, args, threads, timeout_s, os.getpid())
        context = mp.start_processes(_worker, args=worker_args, nprocs=world_size, join=False,
                                     start_method="spawn")
        try:
            stopped = _wait(context.processes, tmp, grace_s)
        finally:
            _stop(context.processes)  # Ctrl-C, SIGTERM or an error here included: no rank outlives this
        return _results(context.processes, tmp, stopped)
