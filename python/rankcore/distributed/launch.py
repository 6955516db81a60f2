"""Running a function on N local gloo processes: what the tests, the benchmarks and ``--nproc`` use.

``run_local(fn, world_size, *args)`` spawns ``world_size`` processes on this machine (a file store in a
fresh temporary directory, so no port is needed), calls ``fn(*args)`` on every rank inside an initialised
default process group and returns the list of per-rank return values (they must pickle). An exception on
any rank is re-raised here with that rank's traceback, and a rank that dies takes the others down instead
of leaving them waiting in a collective (the process group has a timeout).
"""

from __future__ import annotations

import datetime
import os
import pickle
import tempfile
import traceback

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

__all__ = ["run_local", "RankFailed"]


class RankFailed(RuntimeError):
    """A rank of :func:`run_local` raised; ``errors`` maps rank -> (exception type name, message)."""

    def __init__(self, errors: dict[int, tuple[str, str, str]]):
        self.errors = errors
        first = min(errors)
        name, message, tb = errors[first]
        super().__init__(f"rank {first} raised {name}: {message}\n{tb}")


def _worker(rank: int, world_size: int, store_path: str, out_dir: str, fn, args, threads: int | None,
            timeout_s: float) -> None:
    if threads is not None:
        torch.set_num_threads(threads)
    dist.init_process_group("gloo", init_method=f"file://{store_path}", rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=timeout_s))
    try:
        try:
            result = ("ok", fn(*args))
        except BaseException as err:  # reported to the parent, which re-raises
            result = ("error", (type(err).__name__, str(err), traceback.format_exc()))
        with open(os.path.join(out_dir, f"rank{rank}.pkl"), "wb") as f:
            pickle.dump(result, f)
    finally:
        dist.destroy_process_group()


def run_local(fn, world_size: int, *args, threads: int | None = 1, timeout_s: float = 120.0) -> list:
    """``[fn(*args) on rank 0, ..., on rank world_size - 1]``, each run in its own gloo process.

    ``fn`` must be importable (a module-level function). ``threads`` sets ``torch.set_num_threads`` per
    process (1: the processes do not fight over cores; None: torch's default).
    """
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    with tempfile.TemporaryDirectory(prefix="rankcore_dist_") as tmp:
        store = os.path.join(tmp, "store")
        mp.spawn(_worker, args=(world_size, store, tmp, fn, args, threads, timeout_s), nprocs=world_size,
                 join=True)
        results, errors = [], {}
        for rank in range(world_size):
            with open(os.path.join(tmp, f"rank{rank}.pkl"), "rb") as f:
                status, value = pickle.load(f)
            if status == "error":
                errors[rank] = value
            results.append(value)
        if errors:
            raise RankFailed(errors)
        return results
