#!/usr/bin/env bash
# Builds, tests and benchmarks the CUDA path of rankcore on a GPU machine.
#
# Assumes torch with CUDA, nvcc, scikit-build-core, pybind11, pytest (and pytest-benchmark for the
# benchmarks) are already installed; needs no network. Everything it learns goes to $OUT:
#   env.txt, build.log, build_info.txt, tests_cuda.{log,xml}, <bench>_cuda.{log,json}, <bench>_report.md
#   for every bench/bench_*.py with CUDA cases, copy_bandwidth.txt, exception_check.txt, summary.txt
# Every step runs even when an earlier one failed (so all logs exist); the exit status is non-zero
# when the build, the build-info check, the CUDA tests, the benchmarks (a real failure, not "nothing
# to run") or the bandwidth measurement failed.
#
# Issue 15 scope by default: the CUDA tests of cp_eval, walk_count and HT (tests/tensor/test_cp.py,
# test_walks.py, test_ht.py, -m cuda; RANKCORE_GPU_TESTS overrides the files) and their benchmarks
# (bench_walks.py, bench_ht.py, bench_cp.py -k cuda, each under an equal share of the time left;
# RANKCORE_GPU_BENCHES overrides), the host replays of the kernels' index arithmetic
# (tests/ops/test_kernel_layouts.py), and the ptxas resource report of the cp_eval / walk_count /
# ht_pool kernels (ptxas_<kernel>.txt: registers, stack, spills). Every step has a time limit taken from one deadline
# (RANKCORE_GPU_BUDGET_S, default 560 s from the start), so the whole call ends within 10 minutes; a
# step cut by its limit is reported as "timeout" and counted as a failure.
#
# Usage: scripts/gpu_check.sh            (OUT=./gpu_out, TORCH_CUDA_ARCH_LIST=9.0 by default)
#        RANKCORE_PACK_OUT=1 PYTHON=python3 OUT=$OUT scripts/gpu_check.sh   (on the lent GPU machine)
#        OUT=/tmp/out TORCH_CUDA_ARCH_LIST="8.0;9.0" scripts/gpu_check.sh
set -euo pipefail

OUT="${OUT:-./gpu_out}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"  # absolute, relative to the caller's directory
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python}"
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"

START_S=$(date +%s)
BUDGET_S="${RANKCORE_GPU_BUDGET_S:-560}"
# limit CAP: seconds a step may take, at most CAP and what is left of the budget minus a reserve of
# 20 s for the steps after it (at least 5).
limit() {
  local left=$(( BUDGET_S - ($(date +%s) - START_S) - 20 ))
  (( left > $1 )) && left=$1
  (( left < 5 )) && left=5
  echo "$left"
}

SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
FAILED=()

note() { echo "$*" | tee -a "$SUMMARY"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# run_logged LOGFILE CMD...: runs CMD, output to the terminal and LOGFILE; sets RC (never exits).
run_logged() {
  local log="$1"
  shift
  set +e
  "$@" 2>&1 | tee "$log"
  RC=${PIPESTATUS[0]}
  set -e
}

# run_limited CAP LOGFILE CMD...: run_logged under `timeout` (limit CAP); RC 124 = cut by the limit.
run_limited() {
  local cap="$1" log="$2"
  shift 2
  local secs
  secs=$(limit "$cap")
  run_logged "$log" timeout --kill-after=10 "$secs" "$@"
  if [[ $RC -eq 124 || $RC -eq 137 ]]; then
    echo "(cut by the time limit of ${secs} s)" | tee -a "$log"
  fi
}

# ---------------------------------------------------------------------------------------------------
# environment
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(hostname)"
  echo "--- nvidia-smi"
  nvidia-smi || echo "nvidia-smi failed"
  echo "--- nvcc"
  command -v nvcc && nvcc --version || echo "nvcc not on PATH"
  echo "--- python / torch"
  timeout 60 "$PYTHON" -c 'import sys, torch
print("python", sys.version.split()[0])
print("torch", torch.__version__, "cuda", torch.version.cuda)
print("cuda available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(0), "capability", torch.cuda.get_device_capability(0))' \
    || echo "torch import failed"
  echo "--- git"
  git rev-parse HEAD 2>/dev/null || true
  git status --short 2>/dev/null | head -50 || true
} >"$OUT/env.txt" 2>&1 || true
cat "$OUT/env.txt"
note "gpu: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 || echo unknown)"
note "torch: $(timeout 60 "$PYTHON" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda)' 2>/dev/null || echo 'import failed')"
note "nvcc: $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' || echo 'not found')"
note "TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST"

# ---------------------------------------------------------------------------------------------------
# build (incremental: pyproject keeps the CMake build folder in build/{wheel_tag})
t0=$(now)
run_limited 330 "$OUT/build.log" "$PYTHON" -m pip install --no-build-isolation --no-deps -v -e .
BUILD_RC=$RC
note "build: rc=$BUILD_RC in $(elapsed "$t0") s (log: build.log)"
[[ $BUILD_RC -eq 0 ]] || FAILED+=("build")

# ---------------------------------------------------------------------------------------------------
# build info: the extension must have been built with CUDA
run_limited 60 "$OUT/build_info.txt" "$PYTHON" -c '
import torch, rankcore
info = rankcore.build_info()
print("build_info:", info)
assert info["cuda_built"], "rankcore was built without CUDA"
assert torch.cuda.is_available(), "torch.cuda.is_available() is False"
'
INFO_RC=$RC
note "build_info: rc=$INFO_RC $(grep -m1 '^build_info:' "$OUT/build_info.txt" || tail -n 1 "$OUT/build_info.txt")"
[[ $INFO_RC -eq 0 ]] || FAILED+=("build_info")

# ---------------------------------------------------------------------------------------------------
# CUDA tests (the `device` fixture marks its cuda parameter with `cuda`) of the issue-15 ops, plus the
# host replay of the cp_eval kernels' lane arithmetic (CPU only, seconds)
t0=$(now)
# With pytest-xdist, tests run in worker processes: a test that kills its process (a segfault) is
# reported as failed by name and the rest still run.
XDIST=()
timeout 60 "$PYTHON" -c 'import xdist' 2>/dev/null && XDIST=(-n 8)
# shellcheck disable=SC2206
TEST_FILES=(${RANKCORE_GPU_TESTS:-tests/tensor/test_cp.py tests/graph/test_walks.py tests/tensor/test_ht.py})
run_limited 170 "$OUT/tests_cuda.log" "$PYTHON" -m pytest -q -rf "${TEST_FILES[@]}" -m cuda "${XDIST[@]}" \
  --junitxml="$OUT/tests_cuda.xml"
TESTS_RC=$RC
note "tests (${TEST_FILES[*]} -m cuda): rc=$TESTS_RC in $(elapsed "$t0") s: $(tail -n 1 "$OUT/tests_cuda.log")"
if [[ $TESTS_RC -eq 5 ]]; then
  note "tests: no CUDA tests collected (exit 5), not counted as a failure"
elif [[ $TESTS_RC -ne 0 ]]; then
  FAILED+=("tests")
fi
HOST_LAYOUT=(tests/ops/test_kernel_layouts.py)
run_limited 90 "$OUT/tests_host_layout.log" "$PYTHON" -m pytest -q "${HOST_LAYOUT[@]}"
note "host replays of the kernels' index arithmetic (${HOST_LAYOUT[*]}): rc=$RC $(tail -n 1 "$OUT/tests_host_layout.log")"
[[ $RC -eq 0 ]] || FAILED+=("kernel_layout_replays")

# ptxas resource report of the issue-15 kernels (registers, stack frame, spills), sm_90
for kernel in cp_eval walk_count ht_pool; do
  if command -v nvcc >/dev/null 2>&1; then
    run_limited 60 "$OUT/ptxas_${kernel}.txt" nvcc -std=c++20 -I csrc -arch=sm_90 -Xptxas -v \
      -c "csrc/ops/cuda/${kernel}_kernel.cu" -o /tmp/rankcore_ptxas_${kernel}.o
    note "ptxas ${kernel}: rc=$RC, $(grep -c 'spill stores' "$OUT/ptxas_${kernel}.txt" || true) kernels, \
$(grep -E 'bytes spill stores' "$OUT/ptxas_${kernel}.txt" | grep -vc ' 0 bytes spill stores' || true) with spills"
  fi
done

# ---------------------------------------------------------------------------------------------------
# device-to-device copy bandwidth (reference for the memory-bound kernels)
run_limited 40 "$OUT/copy_bandwidth.txt" "$PYTHON" -c '
import torch
nbytes, reps = 1 << 30, 20
src = torch.empty(nbytes, dtype=torch.uint8, device="cuda").fill_(1)
dst = torch.empty_like(src)
for _ in range(3):
    dst.copy_(src)
torch.cuda.synchronize()
start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
start.record()
for _ in range(reps):
    dst.copy_(src)
stop.record()
torch.cuda.synchronize()
sec = start.elapsed_time(stop) / 1e3
print(f"device: {torch.cuda.get_device_name(0)}")
print(f"d2d copy of {nbytes / 2**30:.0f} GiB x {reps}: {sec / reps * 1e3:.3f} ms per copy")
print(f"copy bandwidth: {nbytes * reps / sec / 1e9:.1f} GB/s copied, "
      f"{2 * nbytes * reps / sec / 1e9:.1f} GB/s read+write")
'
BW_RC=$RC
note "copy bandwidth: rc=$BW_RC $(grep -m1 '^copy bandwidth:' "$OUT/copy_bandwidth.txt" || tail -n 1 "$OUT/copy_bandwidth.txt")"
[[ $BW_RC -eq 0 ]] || FAILED+=("copy_bandwidth")

# ---------------------------------------------------------------------------------------------------
# an error raised inside an op must come back to Python (a static libstdc++ once made it SIGSEGV)
run_limited 60 "$OUT/exception_check.txt" "$PYTHON" -m pytest -q tests/ops/test_build.py
note "error path / C++ runtime check (tests/ops/test_build.py): rc=$RC $(tail -n 1 "$OUT/exception_check.txt")"
[[ $RC -eq 0 ]] || FAILED+=("test_build")

# ---------------------------------------------------------------------------------------------------
# CUDA benchmarks: every bench/bench_*.py, cuda parameters only (each paired with its alternative on the GPU)
if ! timeout 60 "$PYTHON" -c 'import pytest_benchmark' 2>/dev/null; then
  note "bench: pytest-benchmark not installed, skipped"
else
  # RANKCORE_GPU_BENCHES="bench/bench_ht.py" runs a subset (device time is scarce). Walks and HT first;
  # each bench gets at most 150 s and at most an equal share of what is left of the budget, so a slow
  # first bench cannot starve the later ones.
  # shellcheck disable=SC2206
  BENCHES=(${RANKCORE_GPU_BENCHES:-bench/bench_walks.py bench/bench_ht.py bench/bench_cp.py})
  for i in "${!BENCHES[@]}"; do
    BENCH=${BENCHES[$i]}
    [[ -f $BENCH ]] || continue
    name=$(basename "$BENCH" .py)
    t0=$(now)
    share=$(( (BUDGET_S - ($(date +%s) - START_S) - 20) / (${#BENCHES[@]} - i) ))
    (( share > 150 )) && share=150
    (( share < 5 )) && share=5
    run_limited "$share" "$OUT/${name}_cuda.log" "$PYTHON" -m pytest -q "$BENCH" -k cuda \
      --benchmark-columns=min,median,max --benchmark-json="$OUT/${name}_cuda.json"
    BENCH_RC=$RC
    note "bench ($BENCH -k cuda): rc=$BENCH_RC in $(elapsed "$t0") s: $(tail -n 1 "$OUT/${name}_cuda.log")"
    if [[ $BENCH_RC -eq 5 ]]; then
      note "bench: no CUDA benchmarks collected in $BENCH (exit 5), not counted as a failure"
    elif [[ $BENCH_RC -ne 0 ]]; then
      FAILED+=("$name")
    fi
    if [[ -f "$OUT/${name}_cuda.json" ]]; then
      "$PYTHON" bench/report.py "$OUT/${name}_cuda.json" >"$OUT/${name}_report.md" 2>&1 || true
      note "bench report: ${name}_report.md"
    fi
  done
fi

# ---------------------------------------------------------------------------------------------------
# The device tool brings back only a few files from $OUT: RANKCORE_PACK_OUT=1 leaves summary.txt plus
# one archive of everything else.
pack_out() {
  if [[ -n "${RANKCORE_PACK_OUT:-}" ]]; then
    (cd "$OUT" && tar czf /tmp/rankcore_gpu_logs.tar.gz --exclude=summary.txt . &&
      find . -mindepth 1 ! -name summary.txt -delete && mv /tmp/rankcore_gpu_logs.tar.gz logs.tar.gz)
  fi
}

note "total: $(( $(date +%s) - START_S )) s of a ${BUDGET_S} s budget"
if [[ ${#FAILED[@]} -eq 0 ]]; then
  note "RESULT: OK"
  pack_out
  exit 0
fi
note "RESULT: FAILED (${FAILED[*]})"
pack_out
exit 1
