"""Standalone C++ checks under tests/ops/cpp/: compiled with the host's g++ and run in the background beside the
other tests (background.py); each program prints "ok ..." when every check passes."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import background

ROOT = Path(__file__).resolve().parents[1]
HAVE_GXX = shutil.which("g++") is not None
SANITIZE = ["-fsanitize=address,undefined"]


def _compile_and_run(folder: str, program: str, flags: tuple[str, ...]) -> subprocess.CompletedProcess:
    exe = Path(folder) / program
    subprocess.run(["g++", "-std=c++20", "-O1", *flags, "-I", str(ROOT / "csrc"),
                    str(ROOT / "tests/ops/cpp" / f"{program}.cpp"), "-o", str(exe)], check=True)
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)


def register(title: str, programs, test_name: str, flags=()) -> None:
    """Compile and run each program in the background (when g++ exists) for the test function ``test_name``;
    its result is ``background_result(f"{title} {program}")``."""
    if HAVE_GXX:
        for program in programs:
            background.register(f"{title} {program}", _compile_and_run, program, tuple(flags), needed_by=test_name)


def check_output(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok ")
