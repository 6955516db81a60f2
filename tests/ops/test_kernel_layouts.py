"""The CUDA kernels' index and lane arithmetic, replayed on the host with g++ (no GPU needed).

Each program in tests/ops/cpp/ emulates one kernel with the layout helpers the kernel itself uses (csrc/kernels/)
and checks it against direct computation; it prints "ok ..." when every check passes. The CUDA tests of
test_cp.py, test_walks.py and test_ht.py run the kernels themselves where a GPU is present.

* cp_warp_emulation.cpp: the 32 lanes of one cp_eval warp (csrc/kernels/cp_eval.h: cp_tiling,
  cp_excl_step; the rounds, butterflies, suffix scan over mode groups and accumulation of
  csrc/ops/cuda/cp_eval_kernel.cu): forward values and gradients against direct products for N up to 1024,
  R up to 1000 and exact zeros.
* walk_step_emulation.cpp: the walk_count step kernel (csrc/kernels/walk_count.h: walk_layout, walk_bin,
  the lane / group maps, walk_grid; the segment binning, short tiles, warps, whole blocks and long-row chunks
  combined by the last block of csrc/ops/cuda/walk_count_kernel.cu): every (edge, column) added exactly
  once, saturating int64 counts and the overflow / bad-column flags against direct sums, k from 1 to 130,
  aligned and unaligned rows, with and without the long-row plan.
* ht_strip_check.cpp: kernels::ht_backward_strip (csrc/kernels/ht_pool.h: the widest column strip whose
  shared buffer fits, global atomics only when not one column fits) and that the strip / element arithmetic
  writes every (row, column) of a table exactly once.
"""
import host_programs
import pytest

PROGRAMS = ["cp_warp_emulation", "walk_step_emulation", "ht_strip_check"]
host_programs.register("ops: kernel layout replay", PROGRAMS, "test_kernel_layout_replay")


@pytest.mark.slow
@pytest.mark.skipif(not host_programs.HAVE_GXX, reason="needs a host C++ compiler (g++)")
@pytest.mark.parametrize("program", PROGRAMS)
def test_kernel_layout_replay(background_result, program):
    host_programs.check_output(background_result(f"ops: kernel layout replay {program}"))
