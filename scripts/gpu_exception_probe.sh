#!/usr/bin/env bash
# Diagnoses "segfault when a rankcore op raises" on a GPU machine: rebuilds with variants of the link
# setup and checks whether an op error (CPU op, length -1) comes back as a Python exception.
set -u
PYTHON=${PYTHON:-python3}
probe() {
  "$PYTHON" - <<'PY'
import torch, rankcore
try:
    torch.ops.rankcore.walk_count(torch.tensor([0, 1, 2]), torch.tensor([1, 0], dtype=torch.int32),
                                  torch.full((2, 1), 2), -1)
except Exception as e:
    print("  probe: exception OK:", type(e).__name__)
PY
  echo "  probe rc=$?"
}
build() {
  echo "=== variant: $*"
  rm -rf build
  SKBUILD_CMAKE_ARGS="$*" CMAKE_BUILD_PARALLEL_LEVEL=16 TORCH_CUDA_ARCH_LIST=9.0a \
    "$PYTHON" -m pip install --no-build-isolation --no-deps -q -e . >"${OUT:-/tmp}/probe_build.log" 2>&1 || {
    echo "  build failed"; tail -5 "${OUT:-/tmp}/probe_build.log"; return; }
  probe
}
build "-DCMAKE_CUDA_RUNTIME_LIBRARY=Shared"
build "-DRANKCORE_DISABLE_CUDA=ON"
build "-DRANKCORE_NO_EXTRAS=ON;-DCMAKE_CUDA_RUNTIME_LIBRARY=Shared"
