"""The process groups the distributed tests share: one spawn per world size for the whole session.

A spawned rank costs about 2.5 CPU-seconds before it runs anything (the interpreter, torch and rankcore
imports), so a spawn per test or per module was most of tests/distributed's time. Instead a test module
registers what every rank runs, at import (``register``); one spawn per world size runs every function
registered for it, one after another in registration order, and each test checks its own function's
per-rank return values in the parent (the ``rank_results`` fixture, conftest.py), with its own failure
message. A function that raised on a rank is reported, with its traceback, by the tests that read it; the
others are unaffected (the functions raise agreed errors only, so the group stays in step).

The spawns are background work (tests/background.py): they run beside the other tests, and tests/distributed
runs last (tests/conftest.py). The tests of ``run_local`` itself (a rank that fails, signals to the parent)
and torchrun need spawns of their own: background work of their own (``background.register``).
"""

from __future__ import annotations

import contextlib
import os
import traceback

import background

TASKS: dict[int, dict[str, tuple]] = {}
TIMEOUT_S = 60.0  # the groups' collective timeout: a rank left waiting fails the run instead of hanging it


def register(world_size: int, name: str, fn, *args, setup=None) -> None:
    """Run ``fn(*setup(folder), *args)`` on every rank of the session's ``world_size``-process group.

    ``fn`` must be a module-level function (the ranks import it); ``setup``, when given, runs in the parent
    before the spawn with an empty folder of this task's own and returns the leading arguments (paths of the
    files it wrote there, say). ``name`` is what the tests ask ``rank_results`` for.
    """
    if world_size not in TASKS:
        background.register(f"the shared {world_size}-process group", spawn, world_size,
                            needed_by=lambda item: "rank_results" in getattr(item, "fixturenames", ()))
    tasks = TASKS.setdefault(world_size, {})
    if name in tasks:
        raise ValueError(f"a task named {name!r} is already registered for world size {world_size}")
    tasks[name] = (fn, args, setup)


def run_tasks(tasks: list[tuple[str, object, tuple]]) -> dict:
    """On every rank: ``{name: ("ok", return value) or ("error", traceback)}`` for each task, in order."""
    out = {}
    for name, fn, args in tasks:
        try:
            out[name] = ("ok", fn(*args))
        except (Exception, SystemExit):  # noqa: BLE001 - reported by the tests that read this task
            out[name] = ("error", traceback.format_exc())
    return out


def spawn(folder, world_size: int) -> list[dict]:
    """Every task registered for ``world_size``, run on one ``world_size``-process group: per-rank results
    as ``run_tasks`` returns them."""
    from rankcore.distributed import run_local

    tasks = []
    for i, (name, (fn, args, setup)) in enumerate(TASKS.get(world_size, {}).items()):
        if setup is not None:
            task_dir = os.path.join(folder, f"task{i}")
            os.mkdir(task_dir)
            args = tuple(setup(task_dir)) + args
        tasks.append((name, fn, args))
    return run_local(run_tasks, world_size, tasks, timeout_s=TIMEOUT_S)


@contextlib.contextmanager
def one_process_group(folder):
    """A world of one process in this one (as ``python -m rankcore.distributed.run`` without torchrun):
    the default gloo group, destroyed on the way out."""
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{os.path.join(folder, 'store')}", rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()
