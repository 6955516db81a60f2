"""The lazy greedies' monotone queues, cpu::RadixHeap (csrc/ops/cpu/radix_heap.h: the distributed rounds) and
cpu::DegreeClassQueue (csrc/ops/cpu/class_queue.h: exact 1-WIS),
against std::priority_queue: tests/ops/cpp/radix_heap_check.cpp compiled with g++ and run (it prints "ok ..."
when popped keys follow the reference and every item comes out exactly once). The WIS tests check the queues
through the greedy's output; this one reaches their chunk recycling and side heaps directly."""
import shutil
import subprocess
from pathlib import Path

import background
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _compile_and_run(folder: str) -> subprocess.CompletedProcess:
    exe = Path(folder) / "radix_heap_check"
    # AddressSanitizer: a bucket index out of range reads another bucket silently without it
    subprocess.run(["g++", "-std=c++20", "-O1", "-fsanitize=address,undefined", "-I", str(ROOT / "csrc"),
                    str(ROOT / "tests/ops/cpp/radix_heap_check.cpp"), "-o", str(exe)], check=True)
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)


if shutil.which("g++") is not None:  # compiled and run in the background beside the other tests
    background.register("ops: radix heap check", _compile_and_run, needed_by="test_radix_heap_matches_a_binary_heap")


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a host C++ compiler (g++)")
def test_radix_heap_matches_a_binary_heap(background_result):
    result = background_result("ops: radix heap check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok ")
