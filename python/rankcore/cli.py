"""The ``rankcore`` command.

    rankcore walk-index [GRAPH] [--partition FILE] [--depth L ...] [--target T]
    rankcore experiment incremental-rank|natural-data-rank [--out DIR] [--quick]

GRAPH is a built-in name (default ``karate``), an edge list (.txt / .csv, "u v" per line, ``#``
comments), a scipy sparse ``.npz`` or a ``.pt`` file holding an edge_index tensor or a PyG ``Data``.
Every error is one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def load_graph(spec: str | None):
    """GRAPH argument -> (name, edge_index or graph object, num_nodes or None, default partition or None)."""
    from . import datasets

    if spec is None or spec in datasets.BUILTIN:
        g = datasets.BUILTIN[spec or "karate"]()
        return g.name, g.edge_index, g.num_nodes, g.communities
    path = Path(spec)
    if not path.exists():
        known = ", ".join(sorted(datasets.BUILTIN))
        raise CliError(f"no such graph file or built-in graph: {spec!r} (built-ins: {known})")
    suffix = path.suffix.lower()
    try:
        if suffix in (".txt", ".csv", ".tsv", ".edges", ".el"):
            return path.name, _read_edge_list(path), None, None
        if suffix == ".npz":
            import scipy.sparse

            return path.name, scipy.sparse.load_npz(path), None, None
        if suffix == ".pt":
            obj = torch.load(path, map_location="cpu", weights_only=False)
            return path.name, obj, None, None
    except CliError:
        raise
    except Exception as err:  # unreadable file: report it, no traceback
        raise CliError(f"could not read {spec}: {err}") from None
    raise CliError(f"unknown graph format {suffix!r} for {spec} (expected .txt/.csv edge list, .npz or .pt)")


def _read_edge_list(path: Path) -> torch.Tensor:
    pairs = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].replace(",", " ").strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) < 2:
            raise CliError(f"{path}:{lineno}: expected two vertex ids 'u v', got {line!r}")
        try:
            pairs.append((int(fields[0]), int(fields[1])))
        except ValueError:
            raise CliError(f"{path}:{lineno}: vertex ids must be integers, got {line!r}") from None
    return torch.tensor(pairs, dtype=torch.int64).reshape(-1, 2).t()


def _read_partitions(path: str, n: int) -> list[torch.Tensor]:
    """One partition per line: the vertex ids of I, separated by spaces or commas."""
    p = Path(path)
    if not p.exists():
        raise CliError(f"no such partition file: {path}")
    masks = []
    for lineno, line in enumerate(p.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].replace(",", " ").strip()
        if not line:
            continue
        mask = torch.zeros(n, dtype=torch.bool)
        for field in line.split():
            try:
                v = int(field)
            except ValueError:
                raise CliError(f"{path}:{lineno}: vertex ids must be integers, got {field!r}") from None
            if not 0 <= v < n:
                raise CliError(f"{path}:{lineno}: vertex {v} is outside [0, {n})")
            mask[v] = True
        masks.append(mask)
    if not masks:
        raise CliError(f"{path}: no partition found (one line per partition: the vertex ids of I)")
    return masks


def cmd_walk_index(args) -> int:
    import rankcore

    if any(d < 1 for d in args.depth):
        raise CliError(f"--depth values must be >= 1, got {args.depth}")
    name, graph_input, num_nodes, default_part = load_graph(args.graph)
    t0 = time.perf_counter()
    graph = rankcore.Graph.from_input(graph_input, num_nodes, require_undirected=True,
                                      symmetrize=args.symmetrize)
    n = graph.num_nodes
    if args.partition:
        parts = _read_partitions(args.partition, n)
        labels = [f"partition {i + 1}" for i in range(len(parts))]
    else:
        gen = torch.Generator().manual_seed(0)
        parts, labels = [], []
        if default_part is not None:
            parts.append(default_part)
            labels.append("communities")
        parts.append(torch.arange(n) < n // 2)
        labels.append("first half of the ids")
        parts.append(torch.rand(n, generator=gen) < 0.5)
        labels.append("random half (seed 0)")
    masks = torch.stack(parts)
    boundary_sizes = rankcore.boundary(graph, n, masks).sum(dim=1).tolist()
    where = "graph prediction" if args.target is None else f"vertex prediction at {args.target}"
    print(f"{name}: {n} vertices, {graph.num_edges // 2} undirected edges; walk index, {where}")
    header = f"{'partition':<24}{'|I|':>6}{'|C_I|':>7}" + "".join(f"{'L=' + str(d):>14}" for d in args.depth)
    print(header)
    columns = [rankcore.walk_index(graph, n, masks, d, args.target).tolist() for d in args.depth]
    for row, (label, mask) in enumerate(zip(labels, parts)):
        cells = "".join(f"{col[row]:>14}" for col in columns)
        print(f"{label:<24}{int(mask.sum()):>6}{boundary_sizes[row]:>7}{cells}")
    print(f"({time.perf_counter() - t0:.3f} s; L = GNN depth, WI = ρ_(L-1)(C_I, ·))")
    return 0


def cmd_experiment(args) -> int:
    """Runs one experiment of rankcore.experiments (JSON + PNG into --out)."""
    import importlib

    from .experiments import EXPERIMENTS

    module = importlib.import_module(EXPERIMENTS[args.name])
    try:
        module.run(out_dir=args.out, quick=args.quick, seed=args.seed)
    except RuntimeError as err:  # missing optional dependency (matplotlib, scikit-learn)
        raise CliError(str(err)) from None
    print(f"wrote {args.out}/{args.name.replace('-', '_')}.json and .png")
    return 0


def _add_experiment_parser(sub) -> None:
    from .experiments import EXPERIMENTS

    ex = sub.add_parser("experiment", help="run a tensor-factorization experiment (writes JSON + PNG)")
    ex.add_argument("name", choices=sorted(EXPERIMENTS))
    ex.add_argument("--out", default="experiments_out", help="output folder (default experiments_out)")
    ex.add_argument("--quick", action="store_true", help="smaller, faster configuration")
    ex.add_argument("--seed", type=int, default=0)
    ex.set_defaults(func=cmd_experiment)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rankcore", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    wi = sub.add_parser("walk-index", help="print walk indices of partitions of a graph")
    wi.add_argument("graph", nargs="?", default=None, help="built-in name (default karate) or a file")
    wi.add_argument("--partition", help="file with one partition per line (vertex ids of I)")
    wi.add_argument("--depth", type=int, nargs="+", default=[1, 2, 3, 4], help="GNN depths L (default 1 2 3 4)")
    wi.add_argument("--target", type=int, default=None, help="vertex for vertex prediction (default: graph prediction)")
    wi.add_argument("--symmetrize", action="store_true", help="add missing reverse edges instead of failing")
    wi.set_defaults(func=cmd_walk_index)
    _add_experiment_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into `head` and friends: stop quietly
        sys.stderr.close()
        return 0
    except (CliError, ValueError, TypeError, OverflowError) as err:
        # Library messages name the Python keyword; on the command line it is a flag.
        message = str(err).replace("symmetrize=True", "--symmetrize")
        print(f"rankcore {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
