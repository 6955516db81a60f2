"""The `rankcore` command in-process: rankcore.cli.main(argv) with stdout / stderr captured, returning what
subprocess.run would (returncode, stdout, stderr). The same code path as the console script without an
interpreter start per call; tests/cli keeps one real subprocess per command family as a smoke test."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess

from rankcore.cli import main


def run_in_process(*args: str, cwd=None) -> subprocess.CompletedProcess:
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exit_:  # argparse usage errors and --help exit through SystemExit
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(["rankcore", *args], code, out.getvalue(), err.getvalue())
