"""The process groups the distributed tests share, and the spawning work that runs beside the other tests.

A spawned rank costs about 2.5 CPU-seconds before it runs anything (the interpreter, torch and rankcore
imports), so a spawn per test or per module was most of tests/distributed's time. Instead a test module
registers what every rank runs, at import (``register``); one spawn per world size runs every function
registered for it, one after another in registration order, and each test checks its own function's
per-rank return values in the parent (the ``rank_results`` fixture, conftest.py), with its own failure
message. A function that raised on a rank is reported, with its traceback, by the tests that read it; the
others are unaffected (the functions raise agreed errors only, so the group stays in step).

The tests of ``run_local`` itself (a rank that fails, signals to the parent) need spawns of their own; they
register a ``job`` (a function of the parent whose return value or exception the test checks).

The pytest process is one thread: most tests keep one core busy. So when the collected tests need them,
the shared groups and the jobs run in one background thread of the parent from the end of collection on
(conftest.py), beside the other tests, and tests/distributed runs last (tests/conftest.py); a test that
needs a result waits for it. Where nothing started them (a job of a test that was not collected, say), the
test runs the work itself.
"""

from __future__ import annotations

import contextlib
import os
import threading
import traceback

TASKS: dict[int, dict[str, tuple]] = {}
JOBS: dict[str, tuple] = {}
TIMEOUT_S = 60.0  # the groups' collective timeout: a rank left waiting fails the run instead of hanging it


def register(world_size: int, name: str, fn, *args, setup=None) -> None:
    """Run ``fn(*setup(folder), *args)`` on every rank of the session's ``world_size``-process group.

    ``fn`` must be a module-level function (the ranks import it); ``setup``, when given, runs in the parent
    before the spawn with an empty folder of this task's own and returns the leading arguments (paths of the
    files it wrote there, say). ``name`` is what the tests ask ``rank_results`` for.
    """
    tasks = TASKS.setdefault(world_size, {})
    if name in tasks:
        raise ValueError(f"a task named {name!r} is already registered for world size {world_size}")
    tasks[name] = (fn, args, setup)


def job(name: str, test: str, fn, *args) -> None:
    """``fn(folder, *args)`` in the parent, for the test function named ``test`` (which reads it with
    ``job_result(name)``): started in the background when that test is collected."""
    if name in JOBS:
        raise ValueError(f"a job named {name!r} is already registered")
    JOBS[name] = (test, fn, args)


def run_tasks(tasks: list[tuple[str, object, tuple]]) -> dict:
    """On every rank: ``{name: ("ok", return value) or ("error", traceback)}`` for each task, in order."""
    out = {}
    for name, fn, args in tasks:
        try:
            out[name] = ("ok", fn(*args))
        except (Exception, SystemExit):  # noqa: BLE001 - reported by the tests that read this task
            out[name] = ("error", traceback.format_exc())
    return out


def spawn(world_size: int, folder) -> list[dict]:
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


class Work:
    """The groups (keys ``("group", world_size)``) and jobs (``("job", name)``) of this session: run in the
    background from ``start`` on, or by the first test that asks (``result``); each at most once."""

    def __init__(self, folder: str):
        self.folder = folder
        self._done: dict[tuple, threading.Event] = {}
        self._results: dict[tuple, tuple] = {}
        self._lock = threading.Lock()
        self._thread = None
        self._stopping = False

    def _run(self, key: tuple) -> None:
        kind, what = key
        folder = os.path.join(self.folder, f"{kind}-{what}".replace(" ", "_").replace(":", ""))
        os.makedirs(folder, exist_ok=True)
        try:
            if kind == "group":
                value = ("ok", spawn(what, folder))
            else:
                _, fn, args = JOBS[what]
                value = ("ok", fn(folder, *args))
        except Exception as err:  # noqa: BLE001 - raised again in the tests that read it
            value = ("error", err)
        self._results[key] = value
        self._done[key].set()

    def _claim(self, key: tuple) -> bool:
        """True if the caller is to run ``key`` (nobody started it)."""
        with self._lock:
            if key in self._done:
                return False
            self._done[key] = threading.Event()
            return True

    def start(self, keys: list[tuple]) -> None:
        """Run ``keys`` one after another in a background thread."""
        def loop():
            for key in keys:
                if self._stopping:
                    return
                if self._claim(key):
                    self._run(key)

        self._thread = threading.Thread(target=loop, name="rankcore-test-spawns", daemon=True)
        self._thread.start()

    def result(self, key: tuple):
        """The value of ``key`` (its exception raised again), run here if nobody started it."""
        if self._claim(key):
            self._run(key)
        self._done[key].wait()
        status, value = self._results[key]
        if status == "error":
            raise value
        return value

    def stop(self) -> None:
        """Start nothing more and wait for what runs (a session that ends early leaves no process behind)."""
        self._stopping = True
        if self._thread is not None:
            self._thread.join()


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
