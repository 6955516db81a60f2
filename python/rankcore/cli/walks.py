"""``rankcore walk-index``: walk indices of partitions of a graph."""

from __future__ import annotations

import time

import torch

from ..command_options import plain_int
from ..graph import Graph, boundary, walk_index
from ..graph.walks import check_target
from ..io import dense_ids, load_graph, read_partitions, relabel_ids
from .common import CliError, default_partitions


def cmd_walk_index(args) -> int:
    if any(d < 1 for d in args.depth):
        raise CliError(f"--depth values must be >= 1, got {args.depth}")
    relabel = getattr(args, "relabel", False)
    name, graph_input, num_nodes, default_part = load_graph(args.graph, args.root, relabel)
    ids, target = None, args.target
    if relabel:
        graph_input, ids = relabel_ids(graph_input)
        num_nodes, default_part = int(ids.numel()), None
        if target is not None:  # --target names an original id, like the partition file
            # an id beyond int64 is no vertex (torch.tensor raised "Overflow when unpacking long long")
            target = int(dense_ids(torch.tensor([target]), ids)[0]) if -2**63 <= target < 2**63 else -1
            if target < 0:
                raise CliError(f"--target {args.target} is not a vertex of the graph (an original id under "
                               f"--relabel)")
    t0 = time.perf_counter()
    graph = Graph.from_input(graph_input, num_nodes, require_undirected=True, symmetrize=args.symmetrize)
    n = graph.num_nodes
    target = check_target(target, n)  # before any output: a bad --target printed the header, then the error
    if args.partition:
        parts = read_partitions(args.partition, n, ids)
        labels = [f"partition {i + 1}" for i in range(len(parts))]
    else:
        parts, labels = default_partitions(n, default_part, random_half=True)
    masks = torch.stack(parts)
    boundary_sizes = boundary(graph, n, masks).sum(dim=1).tolist()
    # Every number before the first line: an overflowing depth raised after the header (a table with no rows).
    columns = [walk_index(graph, n, masks, d, target).tolist() for d in args.depth]
    where = "graph prediction" if args.target is None else f"vertex prediction at {args.target}"
    print(f"{name}: {n} vertices, {graph.num_edges // 2} undirected edges; walk index, {where}")
    header = f"{'partition':<24}{'|I|':>6}{'|C_I|':>7}" + "".join(f"{'L=' + str(d):>14}" for d in args.depth)
    print(header)
    for row, (label, mask) in enumerate(zip(labels, parts)):
        cells = "".join(f"{col[row]:>14}" for col in columns)
        print(f"{label:<24}{int(mask.sum()):>6}{boundary_sizes[row]:>7}{cells}")
    print(f"({time.perf_counter() - t0:.3f} s; L = GNN depth, WI = ρ_(L-1)(C_I, ·))")
    return 0


def add_walk_index_parser(sub) -> None:
    wi = sub.add_parser("walk-index", help="print walk indices of partitions of a graph")
    wi.add_argument("graph", nargs="?", default=None, help="built-in name (default karate) or a file")
    wi.add_argument("--partition", help="file with one partition per line (vertex ids of I; the file's "
                    "original ids under --relabel)")
    wi.add_argument("--depth", type=plain_int, nargs="+", default=[1, 2, 3, 4], help="GNN depths L (default 1 2 3 4)")
    wi.add_argument("--target", type=plain_int, default=None, help="vertex for vertex prediction (default: graph "
                    "prediction; an original id under --relabel)")
    wi.add_argument("--symmetrize", action="store_true", help="add missing reverse edges instead of failing")
    wi.add_argument("--relabel", action="store_true", help="relabel arbitrary vertex ids densely 0..n-1 (sorted)")
    wi.add_argument("--root", default=None, help="dataset folder for named datasets (default $RANKCORE_DATA)")
    wi.set_defaults(func=cmd_walk_index)
