"""Work the tests need that mostly runs in other processes (spawned ranks, subprocesses, a compiler): run in
one background thread of the pytest process, beside the other tests.

The pytest process keeps about one core busy, so on a 2-core box the processes such work starts can use
the other. A test module registers a function of the parent (``register``: name, function, arguments and
the test that needs it); when collection ends (tests/conftest.py), the work the collected tests need starts
in one background thread, one piece after another, in the order the tests that need it will run; a test
reads the return value with the ``background_result`` fixture (``background_result(name)``), waiting for
it if it is not done yet (never running it beside the background thread: the two would compete for the
cores), and what the function raised is raised there again (a failed assertion inside it included). Work
that is not planned (its test was not collected when the session began) runs in the test itself.
At the end of the session nothing more is started and what runs is waited for, so no process outlives it.

The functions must not touch what the tests running meanwhile use: no printing through sys.stdout, no
global random state, no global torch settings; each gets a folder of its own.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading

REGISTRY: dict[str, tuple] = {}  # name -> (fn, args, needed_by)

_lock = threading.Lock()
_done: dict[str, threading.Event] = {}
_results: dict[str, tuple] = {}
_thread: threading.Thread | None = None
_stopping = False
_folder: str | None = None


def register(name: str, fn, *args, needed_by) -> None:
    """``fn(folder, *args)``, for the tests that ``needed_by`` names: a test function's name, or a
    predicate on a collected item."""
    if name in REGISTRY:
        raise ValueError(f"background work named {name!r} is already registered")
    REGISTRY[name] = (fn, args, needed_by)


def _needs(needed_by, item) -> bool:
    if callable(needed_by):
        return needed_by(item)
    return getattr(item, "originalname", item.name) == needed_by


def _claim(name: str) -> bool:
    """True if the caller is to run ``name`` (nobody started it)."""
    with _lock:
        if name in _done:
            return False
        _done[name] = threading.Event()
        return True


def _run(name: str) -> None:
    global _folder
    fn, args, _ = REGISTRY[name]
    with _lock:
        if _folder is None:
            _folder = tempfile.mkdtemp(prefix="rankcore_tests_background_")
    folder = os.path.join(_folder, re.sub(r"[^A-Za-z0-9_.-]+", "_", name))
    os.makedirs(folder, exist_ok=True)
    try:
        value = ("ok", fn(folder, *args))
    except BaseException as err:  # noqa: BLE001 - raised again in the test that reads it
        value = ("error", err)
    _results[name] = value
    _done[name].set()


def start(items) -> None:
    """Start the registered work that ``items`` (the collected tests, in run order) need, in that order
    (not with RANKCORE_TESTS_BACKGROUND=0 in the environment: then each test runs its work itself)."""
    global _thread
    if os.environ.get("RANKCORE_TESTS_BACKGROUND") == "0":
        return
    first = {}
    for name, (_, _, needed_by) in REGISTRY.items():
        for i, item in enumerate(items):
            if _needs(needed_by, item):
                first[name] = i
                break
    names = [name for name in sorted(first, key=first.get) if _claim(name)]  # planned: the tests wait for them
    if not names:
        return

    def loop():
        for i, name in enumerate(names):
            if _stopping:  # what was planned and will not run now fails the test that waits for it
                for rest in names[i:]:
                    _results[rest] = ("error", RuntimeError("the session ended before this background work ran"))
                    _done[rest].set()
                return
            _run(name)

    _thread = threading.Thread(target=loop, name="rankcore-tests-background", daemon=True)
    _thread.start()


def result(name: str):
    """What ``name`` returned (what it raised, raised again), run here if nobody started it."""
    if _claim(name):
        _run(name)
    _done[name].wait()
    status, value = _results[name]
    if status == "error":
        raise value
    return value


def stop() -> None:
    """Start nothing more, wait for what runs, remove the folders."""
    global _stopping
    _stopping = True
    if _thread is not None:
        _thread.join()
    if _folder is not None:
        shutil.rmtree(_folder, ignore_errors=True)
