"""Does an error raised inside a custom op come back to Python on this machine?

On the H100 machine (torch 2.11+cu130, GCC 13.3, Python 3.12) every error raised by a rankcore op
ended the process with SIGSEGV (2026-11-27), for CPU and CUDA ops alike, with and without pybind11's
module init, LTO or CUDA. This probe builds a one-op extension with torch.utils.cpp_extension in a few
flag variants and reports which ones survive a TORCH_CHECK failure, each in its own process.

    python scripts/gpu_exception_probe.py
"""

import subprocess
import sys
import tempfile

SOURCE = r"""
#include <ATen/core/Tensor.h>
#include <torch/library.h>
at::Tensor boom(const at::Tensor& x) {
  TORCH_CHECK_VALUE(x.numel() < 0, "boom: raised on purpose");
  return x;
}
TORCH_LIBRARY(NAME, m) {
  m.def("boom(Tensor x) -> Tensor");
  m.impl("boom", c10::DispatchKey::CPU, &boom);
}
"""

CHILD = r"""
import sys, torch, torch.utils.cpp_extension as ce
name, flags, build_dir = sys.argv[1], sys.argv[2].split(), sys.argv[3]
ldflags = [f for f in flags if f == "-fopenmp"]
ce.load_inline(name=name, cpp_sources=[SOURCE.replace("NAME", name)], extra_cflags=flags, extra_ldflags=ldflags,
               is_python_module=False, build_directory=build_dir, verbose=False)
try:
    getattr(torch.ops, name).boom(torch.zeros(1))
    print("no exception?!")
except Exception as e:
    print("exception OK:", type(e).__name__)
"""

VARIANTS = {
    "probe_cxx17": "-std=c++17 -O2",
    "probe_cxx20": "-std=c++20 -O2",
    "probe_cxx20_hidden": "-std=c++20 -O3 -fvisibility=hidden",
    "probe_cxx17_hidden": "-std=c++17 -O3 -fvisibility=hidden",
    "probe_cxx20_openmp": "-std=c++20 -O3 -fvisibility=hidden -fopenmp",
}


def main() -> None:
    # the real extension first (installed in this environment)
    proc = subprocess.run([sys.executable, "-c", "import torch, rankcore\ntry:\n"
                           "    torch.ops.rankcore.walk_count(torch.tensor([0, 1]), torch.tensor([0]), torch.ones(1, 1, dtype=torch.long), -1)\n"
                           "except Exception as e:\n    print('exception OK:', type(e).__name__)"],
                          capture_output=True, text=True, timeout=300)
    print(f"{'rankcore (installed)':22s} rc={proc.returncode} {proc.stdout.strip()}")
    # the variants compile in parallel (each its own build folder and process)
    dirs = {name: tempfile.mkdtemp(prefix=name) for name in VARIANTS}
    procs = {name: subprocess.Popen([sys.executable, "-c", f"SOURCE = {SOURCE!r}\n" + CHILD, name, flags, dirs[name]],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, flags in VARIANTS.items()}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=600)
        out = (stdout.strip().splitlines() or [""])[-1]
        err = (stderr.strip().splitlines() or [""])[-1]
        print(f"{name:22s} [{VARIANTS[name]}] rc={proc.returncode} {out} {err if proc.returncode else ''}")

if __name__ == "__main__":
    main()
