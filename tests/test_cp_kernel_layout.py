"""The CUDA cp_eval kernels' lane arithmetic, replayed on the host (no GPU needed).

tests/cpp/cp_warp_emulation.cpp emulates the 32 lanes of one warp with the layout of
csrc/kernels/cp_eval.h (cp_tiling, cp_excl_step) and the steps of csrc/ops/cuda/cp_eval_kernel.cu
(rounds, butterflies, the suffix scan over mode groups, the accumulation), and compares forward values
and gradients with direct products for N up to 1024, R up to 1000 and exact zeros. The CUDA tests of
test_cp.py run the kernels themselves where a GPU is present.
"""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a host C++ compiler (g++)")
def test_cp_warp_layout_emulation(tmp_path):
    exe = tmp_path / "cp_warp_emulation"
    subprocess.run(["g++", "-std=c++20", "-O1", "-I", str(ROOT / "csrc"),
                    str(ROOT / "tests/cpp/cp_warp_emulation.cpp"), "-o", str(exe)], check=True)
    result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok ")
