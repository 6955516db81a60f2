"""The user's path at scale (issue 22 item 4): a SNAP-style edge-list file -> `rankcore sparsify` -> a file.

    python bench/scale_file.py --edges 100000000 --dir /tmp/scale        # writes the input, then runs the command

Writes a seeded power-law graph (exponent 2.5, 5 edges per vertex on average, `rankcore.datasets.power_law_graph`)
as a text edge list with each undirected edge once (SNAP style, so the command needs `--symmetrize`) and sparse
vertex ids (id * 7919 + 13: above 2^31, so `--relabel` is needed, as with real crawled ids). Then runs
`rankcore sparsify FILE --relabel --symmetrize --ratio 0.5 -o OUT --timings --no-progress` under
`/usr/bin/time -v` and prints the command's own timings (read / build / sparsify / write), the wall time, the
peak RSS and the bytes per undirected edge at the peak. The command's walk-index summary (singleton scores and
walk index before and after) is part of the run, as for any user. `--keep` keeps the files.
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path


from rankcore.datasets import power_law_graph
from rankcore.io import format_pairs


def write_input(path: Path, m: int, seed: int) -> None:
    n = m // 5
    t0 = time.perf_counter()
    ei = power_law_graph(n, m, 2.5, seed=seed)[:, :m]  # one direction of every sampled edge
    ei = ei * 7919 + 13  # sparse ids, above 2^31 for n >= 272k
    with open(path, "wb") as f:
        f.write(b"# power_law_graph(%d, %d, 2.5, seed=%d), ids * 7919 + 13, one line per undirected edge\n" % (n, m, seed))
        block = 1 << 22
        for lo in range(0, m, block):
            f.write(format_pairs(ei[:, lo:lo + block].contiguous(), b"\t"))
    print(f"input: {path} ({path.stat().st_size / 2**30:.2f} GiB, {m} lines) in {time.perf_counter() - t0:.0f} s",
          flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=100_000_000)
    parser.add_argument("--dir", default="/tmp/rankcore_scale")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    src, out = folder / f"graph_{args.edges}.txt", folder / f"sparse_{args.edges}.txt"
    if not src.exists():
        write_input(src, args.edges, args.seed)
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "rankcore.cli", "sparsify", str(src), "--relabel",
           "--symmetrize", "--ratio", "0.5", "-o", str(out), "--timings", "--no-progress"]
    print("$ " + " ".join(cmd[2:]), f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})", flush=True)
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    print(run.stdout)
    if run.returncode != 0:
        print(run.stderr[-4000:])
        return run.returncode
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1))
    edges = re.search(r"(\d+) undirected edges", run.stdout)
    m = int(edges.group(1)) if edges else args.edges
    print(f"wall {wall:.1f} s, peak RSS {rss_kb / 2**20:.2f} GiB = {rss_kb * 1024 / m:.0f} bytes per undirected edge "
          f"({m} undirected edges); output {out.stat().st_size / 2**30:.2f} GiB")
    if not args.keep:
        src.unlink()
        out.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
