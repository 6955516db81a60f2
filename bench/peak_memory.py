"""Peak extra memory of one length-4 walk count, per implementation, each in a fresh process.

    python bench/peak_memory.py --size 10M --k 16

The inputs (the CSR of each implementation and the [n, k] start block) are built first; then the
process's high-water mark is reset (/proc/self/clear_refs) and the walk count runs. Reported: the
peak resident memory above what the inputs already held, in MiB and in units of one dense [n, k]
block. Linux only.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

LENGTH = 4
IMPLS = ["rankcore int64", "rankcore float64", "torch.sparse.mm float64", "scipy float64"]


def _status(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def child(impl: str, size: str, k: int) -> dict:
    import numpy as np
    import torch

    import rankcore
    from bench_walks import _a_hat_csr, _a_hat_scipy
    from conftest import power_law

    graph = power_law(size)
    n = graph.num_nodes
    if impl.startswith("rankcore"):
        dtype = torch.int64 if "int64" in impl else torch.float64
        start = torch.ones(n, k, dtype=dtype)
        run = lambda: rankcore.ops.walk_count(graph.rowptr, graph.col, start, LENGTH)  # noqa: E731
    elif impl.startswith("torch.sparse"):
        a_hat = _a_hat_csr(graph, torch.float64, "cpu")
        start = torch.ones(n, k, dtype=torch.float64)

        def run():
            y = start
            for _ in range(LENGTH):
                y = torch.sparse.mm(a_hat, y)
            return y
    else:
        a_hat = _a_hat_scipy(graph, np.float64)
        start = np.ones((n, k))

        def run():
            y = start
            for _ in range(LENGTH):
                y = a_hat @ y
            return y

    before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    result = run()
    peak = _status("VmHWM")
    block = n * k * 8
    csr = graph.rowptr.nbytes + graph.col.nbytes
    del result
    return {"impl": impl, "size": size, "k": k, "peak_extra_mib": (peak - before) / 2**20,
            "blocks": (peak - before) / block, "block_mib": block / 2**20, "rankcore_csr_mib": csr / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="10M")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--impl", help=argparse.SUPPRESS)  # internal: run one implementation
    args = parser.parse_args()
    if args.impl:
        print(json.dumps(child(args.impl, args.size, args.k)))
        return
    print(f"| implementation | peak extra MiB | in [n, k] blocks |  (size {args.size}, k={args.k}, length {LENGTH})")
    print("|---|---|---|")
    for impl in IMPLS:
        out = subprocess.run([sys.executable, __file__, "--impl", impl, "--size", args.size, "--k", str(args.k)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {impl} | {r['peak_extra_mib']:.0f} | {r['blocks']:.2f} |  (block = {r['block_mib']:.0f} MiB, "
              f"rankcore CSR = {r['rankcore_csr_mib']:.0f} MiB)", flush=True)


if __name__ == "__main__":
    main()
