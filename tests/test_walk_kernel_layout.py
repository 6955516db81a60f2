"""The CUDA walk_count step kernel's index arithmetic, replayed on the host (no GPU needed).

tests/cpp/walk_step_emulation.cpp emulates the kernel with the layout of csrc/kernels/walk_count.h
(walk_layout: V columns per lane for the 16-byte loads, W lanes per column block, the short-tile width;
walk_bin; the lane / group / source-lane maps; walk_grid) and the steps of
csrc/ops/cuda/walk_count_kernel.cu (segment binning, short tiles, warps, whole blocks, long-row chunks
combined by the last block, shuffles, error flags), and checks that every (edge, column) is added exactly
once, int64 counts (saturating) and the overflow and bad-col flags against direct sums, for k from 1 to
130, aligned and unaligned rows, with and without the long-row plan. The CUDA tests of test_walks.py
run the kernel itself where a GPU is present.
"""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a host C++ compiler (g++)")
def test_walk_step_layout_emulation(tmp_path):
    exe = tmp_path / "walk_step_emulation"
    subprocess.run(["g++", "-std=c++20", "-O1", "-I", str(ROOT / "csrc"),
                    str(ROOT / "tests/cpp/walk_step_emulation.cpp"), "-o", str(exe)], check=True)
    result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok ")
