"""The greedies' queues against the standard library, as standalone C++ checks compiled with g++ under
AddressSanitizer / UBSan and run (each prints "ok ..." on success):

* tests/ops/cpp/radix_heap_check.cpp: the lazy greedies' monotone queues, cpu::RadixHeap (csrc/ops/cpu/radix_heap.h:
  the distributed rounds) and cpu::DegreeClassQueue (csrc/ops/cpu/class_queue.h: exact 1-WIS), against
  std::priority_queue: popped keys follow the reference and every item comes out exactly once; it reaches their
  chunk recycling and side heaps directly. Without ASan a bucket index out of range reads another bucket silently.
* tests/ops/cpp/indexed_heap_check.cpp: the 2-WIS subgroups' addressable 4-ary heap, cpu::IndexedHeap
  (csrc/ops/cpu/indexed_heap.h), against std::set: over random sequences of push / pop / erase of present and absent
  ids / replace_top with a better or worse key / assign of a random batch on two heaps sharing one positions vector,
  every top(), size() and contains(id) follows the reference and replace_top's bool says whether the new entry goes
  first; it reaches sizes 0 to 5 and shared positions directly. Without ASan a child index past the heap's end
  (the last group of fewer than 4) reads on silently.

The WIS tests check both through the greedy's output."""
import shutil
import subprocess
from pathlib import Path

import background
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ("radix_heap_check", "indexed_heap_check")


def _compile_and_run(folder: str, check: str) -> subprocess.CompletedProcess:
    exe = Path(folder) / check
    subprocess.run(["g++", "-std=c++20", "-O1", "-fsanitize=address,undefined", "-I", str(ROOT / "csrc"),
                    str(ROOT / "tests/ops/cpp" / f"{check}.cpp"), "-o", str(exe)], check=True)
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)


if shutil.which("g++") is not None:  # compiled and run in the background beside the other tests
    for _check in CHECKS:
        background.register(f"ops: {_check}", _compile_and_run, _check,
                            needed_by="test_queue_matches_the_standard_library")


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a host C++ compiler (g++)")
@pytest.mark.parametrize("check", CHECKS)
def test_queue_matches_the_standard_library(background_result, check):
    result = background_result(f"ops: {check}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok ")
