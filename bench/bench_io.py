"""Reading an edge-list text file: rankcore's native reader against what a numpy user would write, in the
same run.

    OMP_NUM_THREADS=2 python -m pytest bench/bench_io.py --benchmark-json=io.json
    python bench/report.py io.json
    RANKCORE_IO_SIZES=1M,10M (default 1M; lines of the file)

Groups (the file is written once per size, SNAP style: a '#' comment, then "u<TAB>v" lines of a seeded
power-law graph with its ids shuffled, so ids are sparse and in random order, as files users load):

* ``rankcore.ops.read_edge_list``: the reader behind ``rankcore sparsify FILE`` (pread in blocks, parallel
  chunks, per-line errors; ``max_id`` as the command passes it);
* ``numpy.loadtxt(dtype=int64, comments='#')``: the usual numpy route (same rules for comments);
* ``numpy.fromfile(sep=' ')``: numpy's fastest text path; it knows no comments or headers, so it is timed on
  the lines without the comment (less work than the others).
"""

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from rankcore import ops  # noqa: E402
from rankcore.datasets import power_law_graph  # noqa: E402

SIZES = {"1M": 1_000_000, "10M": 10_000_000}
_files: dict = {}


def _sizes() -> list[str]:
    names = os.environ.get("RANKCORE_IO_SIZES", "1M").split(",")
    unknown = [s for s in names if s not in SIZES]
    if unknown:
        raise ValueError(f"RANKCORE_IO_SIZES: unknown {unknown}; choose from {list(SIZES)}")
    return names


def edge_file(size: str, folder) -> tuple[Path, Path, torch.Tensor]:
    """(file with a comment line, the same without it, the edge_index both hold)."""
    if size not in _files:
        lines = SIZES[size]
        ei = power_law_graph(lines // 10, lines // 2, seed=0)
        ids = torch.randperm(lines // 10, generator=torch.Generator().manual_seed(1)) * 97 + 13
        ei = ids[ei]
        body = "\n".join(f"{u}\t{v}" for u, v in ei.t().tolist()) + "\n"
        with_comment = Path(folder) / f"edges_{size}.txt"
        plain = Path(folder) / f"edges_{size}_plain.txt"
        with_comment.write_text(f"# power_law_graph({lines // 10}, {lines // 2}), shuffled ids\n" + body)
        plain.write_text(body)
        _files[size] = (with_comment, plain, ei)
    return _files[size]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("bench_io")


@pytest.mark.parametrize("size", _sizes())
@pytest.mark.parametrize("impl", ["rankcore", "numpy.loadtxt", "numpy.fromfile"])
def test_read(benchmark, folder, size, impl):
    path, plain, ei = edge_file(size, folder)
    benchmark.group = f"read {size} lines"
    benchmark.extra_info["threads"] = torch.get_num_threads()
    if impl == "rankcore":
        got = benchmark.pedantic(lambda: ops.read_edge_list(str(path), max_id=2**31 - 2), rounds=3, iterations=1)
        assert torch.equal(got, ei)
    elif impl == "numpy.loadtxt":
        got = benchmark.pedantic(lambda: np.loadtxt(path, dtype=np.int64, comments="#"), rounds=1, iterations=1)
        assert np.array_equal(got.T, ei.numpy())
    else:
        got = benchmark.pedantic(lambda: np.fromfile(plain, dtype=np.int64, sep=" "), rounds=3, iterations=1)
        assert np.array_equal(got.reshape(-1, 2).T, ei.numpy())
