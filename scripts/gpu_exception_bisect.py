"""Which part of rankcore's build turns a raised error into SIGSEGV on the GPU machine?

On the H100 machine (torch 2.11+cu130, /opt/gcc GCC 13.3, Python 3.12) every error raised inside a
rankcore op ended the process with SIGSEGV, while one-op extensions built by torch.utils.cpp_extension
raised normally. This script runs after a normal build (`pip install --no-build-isolation -e .`) and
reuses its CMake/Ninja build folder:

* the exact compile and link commands Ninja used, taken from `ninja -t commands`;
* a one-op probe source compiled and linked with those exact commands, then with one ingredient
  removed at a time (LTO, hidden visibility, OpenMP, libgomp / libpthread.a, the CUDA libraries,
  the compiler driver);
* the real objects relinked without one ingredient at a time;
* each result loaded with torch.ops.load_library in its own process, which calls an op that raises.
  A SIGSEGV handler (LD_PRELOAD, built here) prints the native backtrace of the first crash.

    python scripts/gpu_exception_bisect.py [OUTDIR]
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
#include <ATen/core/Tensor.h>
#include <torch/library.h>
at::Tensor boom(const at::Tensor& x) {
  TORCH_CHECK_VALUE(x.numel() < 0, "boom: raised on purpose");
  return x;
}
TORCH_LIBRARY(rkprobe, m) {
  m.def("boom(Tensor x) -> Tensor");
  m.impl("boom", c10::DispatchKey::CPU, &boom);
}
"""

SEGV_HANDLER = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static void on_segv(int sig, siginfo_t* info, void* ctx) {
  void* frames[64];
  int n = backtrace(frames, 64);
  fprintf(stderr, "=== SIGSEGV at address %p, native backtrace (%d frames):\n", info->si_addr, n);
  for (int i = 0; i < n; ++i) {
    Dl_info d;
    if (dladdr(frames[i], &d) && d.dli_fname) {
      fprintf(stderr, "  #%d %p %s(%s+0x%lx)\n", i, frames[i], d.dli_fname, d.dli_sname ? d.dli_sname : "?",
              (unsigned long)((char*)frames[i] - (char*)(d.dli_saddr ? d.dli_saddr : d.dli_fbase)));
    } else {
      fprintf(stderr, "  #%d %p\n", i, frames[i]);
    }
  }
  fflush(stderr);
  signal(sig, SIG_DFL);
  raise(sig);
}
__attribute__((constructor)) static void install(void) {
  struct sigaction sa = {0};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGABRT, &sa, NULL);
}
"""

CALL_RANKCORE = ("torch.ops.rankcore.walk_count(torch.tensor([0, 1]), torch.tensor([0]), "
                 "torch.ones(1, 1, dtype=torch.long), -1)")
CALL_PROBE = "torch.ops.rkprobe.boom(torch.zeros(1))"

CHILD = """
import sys, torch
torch.ops.load_library(sys.argv[1])
try:
    {call}
    print("no exception?!")
except Exception as e:
    print("exception OK:", type(e).__name__)
"""


def sh(cmd: str, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, shell=True, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def build_folder() -> Path:
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    found = [Path(p).parent for p in glob.glob(str(ROOT / "build" / "*" / "build.ninja")) if tag in p]
    if not found:
        sys.exit(f"no Ninja build folder for {tag} under {ROOT / 'build'}: build first")
    return found[0]


def ninja_program(build: Path) -> str:
    """The ninja CMake used (often pip's, not on PATH)."""
    cache = (build / "CMakeCache.txt").read_text()
    m = re.search(r"^CMAKE_MAKE_PROGRAM:\w+=(.+)$", cache, re.M)
    if m and Path(m.group(1).strip()).exists():
        return m.group(1).strip()
    return shutil.which("ninja") or str(Path(sys.executable).parent / "ninja")


def ninja_command(build: Path, target: str) -> str:
    out = sh(f"{shlex.quote(ninja_program(build))} -t commands {shlex.quote(target)}", cwd=build)
    if out.returncode != 0:
        sys.exit(f"ninja -t commands {target} failed: {out.stderr}")
    return out.stdout.strip().splitlines()[-1]


def link_parts(build: Path, module: str) -> tuple[str, list[str], str]:
    """(driver and flags before the objects, the object files, everything after them)."""
    cmd = ninja_command(build, module)
    cmd = re.sub(r"^:\s*&&\s*", "", cmd)
    cmd = cmd.split(" && cd ")[0]  # drop the strip step
    objects = re.findall(r"\S+\.o\b", cmd)
    first = cmd.index(objects[0])
    last = cmd.index(objects[-1]) + len(objects[-1])
    head = cmd[:first].replace(f"-o {module}", "-o OUTPUT")
    return head, objects, cmd[last:]


def drop(text: str, pattern: str) -> str:
    return re.sub(pattern, " ", text)


def run_child(so: Path, call: str, env_extra: dict | None = None) -> str:
    env = dict(os.environ, **(env_extra or {}))
    proc = subprocess.run([sys.executable, "-X", "faulthandler", "-c", CHILD.format(call=call), str(so)],
                          capture_output=True, text=True, timeout=300, env=env)
    out = (proc.stdout.strip().splitlines() or [""])[-1]
    err = (proc.stderr.strip().splitlines() or [""])[-1]
    return f"rc={proc.returncode} {out} {err if proc.returncode else ''}".strip()


def main() -> None:
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="rk_bisect_"))
    outdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rk_bisect_work_"))
    build = build_folder()
    module = next(p.name for p in build.glob("_C*.so"))
    print(f"build folder: {build}\nmodule: {module}")

    # --- environment facts
    facts = [
        "cat /etc/os-release | head -3", "echo PATH=$PATH", "echo CXX=${CXX:-} CC=${CC:-}",
        "echo LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}", "command -v c++ g++ gcc gdb",
        "c++ --version | head -1", "/usr/bin/g++ --version 2>&1 | head -1", "ls -la /opt/gcc/bin 2>&1 | head -5",
        "/opt/gcc/bin/g++ -v 2>&1 | tail -3", "/opt/gcc/bin/g++ -print-file-name=libstdc++.so.6",
        "/opt/gcc/bin/g++ -print-file-name=libgcc_s.so.1", "/opt/gcc/bin/g++ -print-libgcc-file-name",
        "ldconfig -p | grep -E 'libstdc\\+\\+|libgcc_s|libgomp'",
        f"ldd {build / module}", f"readelf -d {build / module} | head -40",
    ]
    with open(outdir / "bisect_env.txt", "w") as f:
        for c in facts:
            r = sh(c)
            f.write(f"$ {c}\n{r.stdout}{r.stderr}\n")
    maps = subprocess.run([sys.executable, "-c",
                           "import torch, sys; torch.ops.load_library(sys.argv[1]);"
                           "print(''.join(sorted({l.split()[-1] + '\\n' for l in open('/proc/self/maps') "
                           "if any(k in l for k in ('libstdc', 'libgcc', 'libgomp', 'libpthread'))})))",
                           str(build / module)], capture_output=True, text=True)
    (outdir / "bisect_env.txt").open("a").write("--- runtime libraries after load:\n" + maps.stdout + maps.stderr)

    # --- SIGSEGV backtrace handler
    handler = work / "segv_handler.so"
    r = sh(f"cc -shared -fPIC -O1 -o {handler} -x c - <<'EOF'\n{SEGV_HANDLER}\nEOF")
    preload = {"LD_PRELOAD": str(handler)} if r.returncode == 0 else {}
    if r.returncode:
        print("segv handler build failed:", r.stderr[-500:])

    # --- compile / link commands of the real build
    compile_cmd = ninja_command(build, "CMakeFiles/_C.dir/csrc/ops/walk_count.cpp.o")
    head, objects, tail = link_parts(build, module)
    (outdir / "bisect_commands.txt").write_text(f"compile:\n{compile_cmd}\n\nlink head:\n{head}\nobjects:\n"
                                                + "\n".join(objects) + f"\nlink tail:\n{tail}\n")
    probe_src = work / "probe.cpp"
    probe_src.write_text(PROBE)

    def probe_compile(cmd: str, obj: Path) -> str:
        cmd = re.sub(r"-MD -MT \S+ -MF \S+", "", cmd)
        cmd = re.sub(r"-o \S+ -c \S+", f"-o {obj} -c {probe_src}", cmd)
        return cmd

    cuda_libs = r"(-Wl,--no-as-needed,)?\"?\S*(cuda|cudart|nvrtc|nvToolsExt|cupti|cublas|cufft|curand|cusparse|cusolver)\S*\.(so|a)\S*\"?(\s+-Wl,--as-needed)?"
    probe_variants = {
        "probe: exact compile + link": (compile_cmd, head, tail),
        "probe: no LTO": (drop(compile_cmd, r"-flto\S*|-fno-fat-lto-objects"), drop(head, r"-flto\S*"), tail),
        "probe: no -fvisibility=hidden": (drop(compile_cmd, r"-fvisibility=hidden"), head, tail),
        "probe: no -fopenmp": (drop(compile_cmd, r"-fopenmp"), head, tail),
        "probe: link without libgomp/libpthread.a": (compile_cmd, head, drop(tail, r"\S*libgomp\S*|\S*libpthread\.a")),
        "probe: link without CUDA libraries": (compile_cmd, head, drop(tail, cuda_libs)),
        "probe: -std=gnu++17": (compile_cmd.replace("-std=gnu++20", "-std=gnu++17"), head, tail),
    }
    if shutil.which("c++"):
        driver = compile_cmd.split()[0]
        probe_variants["probe: c++ from PATH as driver"] = (
            compile_cmd.replace(driver, "c++", 1), head.replace(head.split()[0], "c++", 1), tail)

    results = []
    jobs = {}
    for i, (name, (ccmd, lhead, ltail)) in enumerate(probe_variants.items()):
        obj, so = work / f"probe{i}.o", work / f"probe{i}.so"
        cmd = probe_compile(ccmd, obj) + " && " + lhead.replace("OUTPUT", str(so)) + f" {obj} " + ltail
        jobs[name] = (subprocess.Popen(cmd, shell=True, cwd=build, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True), so)
    for name, (proc, so) in jobs.items():
        log = proc.communicate(timeout=600)[0]
        if proc.returncode:
            results.append(f"{name:45s} BUILD FAILED: {log.strip()[-300:]}")
        else:
            results.append(f"{name:45s} {run_child(so, CALL_PROBE)}")
        print(results[-1], flush=True)

    # --- relink the real objects without one ingredient at a time
    cuda_objects = [o for o in objects if "/cuda/" in o]
    relink_variants = {
        "rankcore: relinked as built": (head, objects, tail),
        "rankcore: without libpthread.a": (head, objects, drop(tail, r"\S*libpthread\.a")),
        "rankcore: without CUDA objects and libs": (head, [o for o in objects if o not in cuda_objects],
                                                    drop(tail, cuda_libs)),
        "rankcore: no LTO at link": (drop(head, r"-flto\S*"), objects, tail),
    }
    torch_gomp = glob.glob(os.path.join(os.path.dirname(__import__("torch").__file__), "lib", "libgomp*.so*"))
    if torch_gomp:
        relink_variants["rankcore: torch's libgomp"] = (head, objects, re.sub(r"\S*libgomp\S*", torch_gomp[0], tail))
    for i, (name, (lhead, objs, ltail)) in enumerate(relink_variants.items()):
        so = work / f"relink{i}.so"
        r = sh(lhead.replace("OUTPUT", str(so)) + " " + " ".join(objs) + " " + ltail, cwd=build)
        if r.returncode:
            results.append(f"{name:45s} LINK FAILED: {(r.stdout + r.stderr).strip()[-300:]}")
        else:
            results.append(f"{name:45s} {run_child(so, CALL_RANKCORE)}")
        print(results[-1], flush=True)

    # --- native backtrace of the crash (the installed module as built)
    if preload:
        proc = subprocess.run([sys.executable, "-c", CHILD.format(call=CALL_RANKCORE), str(build / module)],
                              capture_output=True, text=True, timeout=300, env=dict(os.environ, **preload))
        (outdir / "bisect_backtrace.txt").write_text(f"rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        results.append(f"backtrace run: rc={proc.returncode} (bisect_backtrace.txt)")
    if shutil.which("gdb"):
        r = sh(f"gdb -q -batch -ex run -ex bt -ex 'info sharedlibrary' --args {sys.executable} -c "
               f"{shlex.quote(CHILD.format(call=CALL_RANKCORE))} {build / module}", timeout=300)
        (outdir / "bisect_gdb.txt").write_text(r.stdout[-20000:] + r.stderr[-5000:])
        results.append("gdb: bisect_gdb.txt")
    (outdir / "bisect_results.txt").write_text("\n".join(results) + "\n")
    print("\n".join(results))


if __name__ == "__main__":
    main()
