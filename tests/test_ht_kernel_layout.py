"""The CUDA ht_leaf_pool backward's column strips, checked on the host (no GPU needed).

tests/cpp/ht_strip_check.cpp checks kernels::ht_backward_strip (csrc/kernels/ht_pool.h: the widest
column strip whose shared buffer fits, global atomics only when not one column fits) and that the
kernel's strip / element arithmetic writes every (row, column) of a table exactly once. The CUDA tests
of test_ht.py run the kernel itself where a GPU is present.
"""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a host C++ compiler (g++)")
def test_ht_backward_strips(tmp_path):
    exe = tmp_path / "ht_strip_check"
    subprocess.run(["g++", "-std=c++20", "-O1", "-I", str(ROOT / "csrc"),
                    str(ROOT / "tests/cpp/ht_strip_check.cpp"), "-o", str(exe)], check=True)
    result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok ")
