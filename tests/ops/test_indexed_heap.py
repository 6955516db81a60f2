"""The 2-WIS subgroups' addressable 4-ary heap, cpu::IndexedHeap (csrc/ops/cpu/indexed_heap.h), against std::set:
tests/ops/cpp/indexed_heap_check.cpp compiled with g++ and run (it prints "ok ..." when, over random sequences of
push / pop / erase of present and absent ids / replace_top with a better or worse key / assign of a random batch on
two heaps that share one positions vector, every top(), size() and contains(id) follows the reference and
replace_top's bool says whether the new entry goes first). The WIS tests check the heap through the greedy's output;
this one reaches its sizes 0 to 5, its re-keyed tops and its shared positions directly."""
import shutil
import subprocess
from pathlib import Path

import background
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _compile_and_run(folder: str) -> subprocess.CompletedProcess:
    exe = Path(folder) / "indexed_heap_check"
    # AddressSanitizer: a child index past the heap's end (the last group of fewer than 4) reads on silently without it
    subprocess.run(["g++", "-std=c++20", "-O1", "-fsanitize=address,undefined", "-I", str(ROOT / "csrc"),
                    str(ROOT / "tests/ops/cpp/indexed_heap_check.cpp"), "-o", str(exe)], check=True)
    return subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)


if shutil.which("g++") is not None:  # compiled and run in the background beside the other tests
    background.register("ops: indexed heap check", _compile_and_run, needed_by="test_indexed_heap_matches_a_std_set")


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a host C++ compiler (g++)")
def test_indexed_heap_matches_a_std_set(background_result):
    result = background_result("ops: indexed heap check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok ")
