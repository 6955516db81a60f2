"""Progress reporting and cancellation for long native loops (WIS, file reading): shared by the graph layer
and the CLI."""

from __future__ import annotations

import sys
import threading

import torch


def check_progress(progress) -> None:
    """TypeError unless ``progress`` is None, a bool or a callable (what :func:`progress_reporter` takes); for entry
    points whose methods may never report, so a bad value is refused up front instead of ignored."""
    if not (progress is None or isinstance(progress, bool) or callable(progress)):
        raise TypeError(f"progress must be None, a bool or a callable (done, total), got {type(progress).__name__}")


def progress_reporter(progress, total: int, unit: str = "edge", desc: str = "WIS", unit_scale: bool = False):
    """(report, close) from ``progress``: (None, None) when it is None / False; for True a tqdm bar (a line
    on stderr without tqdm); for a callable, ``progress(done, total)``. ``report(done)`` takes the count so far."""
    if progress is None or progress is False:
        return None, None
    if callable(progress):
        return (lambda done: progress(done, total)), None
    if progress is not True:
        raise TypeError(f"progress must be None, a bool or a callable (done, total), got {type(progress).__name__}")
    try:
        from tqdm.auto import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        bar = tqdm(total=total, unit=unit, desc=desc, unit_scale=unit_scale)
        state = {"last": 0}

        def update(done):
            bar.update(done - state["last"])
            state["last"] = done
        return update, bar.close

    def line(done):
        print(f"\r{desc}: {done}/{total} {unit}s", end="", file=sys.stderr, flush=True)
    return line, lambda: print(file=sys.stderr)


def run_cancellable(run, report, interval: float = 0.2):
    """Runs ``run(slot)`` on a worker thread and waits for it on the calling thread.

    ``slot`` is a two-element int64 tensor shared with the native op (which runs without the GIL):
    element 0 is the op's step counter, reported through ``report`` (None: silent) every ``interval``
    seconds; element 1 is the cancel flag. Waiting on the calling thread is what makes a long WIS
    stoppable: Ctrl-C (KeyboardInterrupt) or an exception raised by the progress callback sets the
    flag, the op stops at its next progress report, and the worker is JOINED before the exception
    propagates (a worker left running into interpreter exit aborted the process).
    """
    slot = torch.zeros(2, dtype=torch.int64)
    result, error = [], []
    finished = threading.Event()  # set by the worker itself, last: the only trustworthy "it has returned"

    def work():
        try:
            result.append(run(slot))
        except BaseException as err:  # re-raised on the caller's thread
            error.append(err)
        finally:
            finished.set()

    worker = threading.Thread(target=work, name="rankcore-wis", daemon=True)
    worker.start()
    try:
        while not finished.wait(interval):  # the final count is reported once, below
            if report is not None:
                report(int(slot[0]))
    except BaseException:
        # Cancel: the op checks the flag at its next progress report. Wait for the event, not
        # Thread.is_alive(): after a join interrupted by a signal, is_alive() can say False while the native
        # op still runs, and an interpreter that exits under a running op aborts the process.
        slot[1] = 1
        while True:
            try:
                if finished.wait(interval):
                    break
            except KeyboardInterrupt:  # a second Ctrl-C while the op winds down: keep waiting
                slot[1] = 1
        raise
    if error:
        raise error[0]
    if report is not None:
        report(int(slot[0]))
    return result[0]
