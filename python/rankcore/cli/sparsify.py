"""``rankcore sparsify``: remove edges with WIS or a baseline, in one process or on N local processes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch

from ..command_options import add_sparsify_options, plain_int
from ..distributed import run as dist_run
from ..distributed.launch import RankFailed, run_local
from ..graph import Graph, singleton_scores, walk_index
from ..graph.arguments import check_int, check_seed, removal_count
from ..graph.result import result_for_input
from ..graph.sparsify import removal_order
from ..io import check_output_path, load_graph, relabel_ids, require_module, write_sparsified
from .common import CliError, default_partitions


def cmd_sparsify(args) -> int:
    if args.depth < 2:
        raise CliError(f"--depth must be >= 2 (the GNN depth L of (L-1)-WIS), got {args.depth}")
    check_int("--depth", args.depth, 2)  # also <= 2^63 - 1: a larger L was found by the statistics, after the output
    if args.output == "":  # -o "$UNSET": nothing was written, exit 0
        raise CliError("-o needs a file name (.pt, .txt, .csv or .npz), got ''")
    check_int("--min-degree", args.min_degree, 0)  # also <= 2^63 - 1: a larger K was a traceback in the op call
    if args.nproc is not None:
        return _sparsify_nproc(args)
    ratio = args.ratio if args.num_remove is None and args.ratio is not None else None
    if args.num_remove is None and args.ratio is None:
        ratio = 0.5
    if args.output:  # fail on a bad output path or a missing writer before the work, not after
        check_output_path(args.output, args.graph)
    if args.method == "spectral":
        require_module("scipy", "--method spectral")
    check_seed(args.seed, "--seed")
    timings = {}
    t_read = time.perf_counter()
    name, graph_input, num_nodes, default_part = load_graph(args.graph, args.root, args.relabel)
    ids = None
    if args.relabel:
        graph_input, ids = relabel_ids(graph_input)
        num_nodes, default_part = int(ids.numel()), None
    timings["read"] = time.perf_counter() - t_read
    t_build = time.perf_counter()
    graph = Graph.from_input(graph_input, num_nodes, require_undirected=True, symmetrize=args.symmetrize)
    timings["build"] = time.perf_counter() - t_build
    args._ids, args._timings = ids, timings
    n, m = graph.num_nodes, graph.num_edges // 2
    k = removal_count(m, ratio, args.num_remove)
    progress = args.progress if args.progress is not None else (args.method == "wis" and k >= 20000)
    what = f"{args.method}" + (f" (depth {args.depth}: {args.depth - 1}-WIS)" if args.method == "wis" else "")
    print(f"{name}: {n} vertices, {m} undirected edges; sparsifying with {what}, removing {k} edges")
    t0 = time.perf_counter()
    # the graph built above, not a rebuild inside rankcore.sparsify; keep_mask over the input's columns
    removal = removal_order(graph, args.method, k, seed=args.seed, depth=args.depth, progress=progress or None,
                            min_degree=args.min_degree, keep_connected=args.keep_connected)
    if removal.edges.shape[0] < k:
        print(f"guards: only {removal.edges.shape[0]} of the {k} requested edges can be removed without "
              + " or ".join((["taking a vertex below min(K, its degree), K = " + str(args.min_degree)]
                             if args.min_degree else []) + (["splitting a component"] if args.keep_connected else []))
              + "; removed those")
        k = removal.edges.shape[0]
    result = result_for_input(graph_input, graph, removal.edges, removal.ids)
    elapsed = time.perf_counter() - t0
    timings["sparsify"] = elapsed
    after = Graph.from_input(result.edge_index, n, symmetrize=args.symmetrize)
    print(f"edges: {m} -> {after.num_edges // 2} undirected ({result.keep_mask.numel()} -> "
          f"{int(result.keep_mask.sum())} edge_index columns); {elapsed:.3f} s")
    # Walk-index statistics at the sparsifier's depth: what WIS tries to preserve.
    depth = args.depth
    if n == 0:
        return _finish_sparsify(args, graph_input, result, n, k)
    try:
        s_before = singleton_scores(graph, n, depth).double()
        s_after = singleton_scores(after, n, depth).double()
        parts, labels = default_partitions(n, default_part, random_half=False)
        masks = torch.stack(parts)
        wi_before = walk_index(graph, n, masks, depth).tolist()
        wi_after = walk_index(after, n, masks, depth).tolist()
    except OverflowError as err:
        # Only the report overflows (e.g. --method random --depth 200): the sparsified graph is still written;
        # it was lost, the run exiting 2 with nothing written.
        print(f"rankcore: warning: no walk-index statistics at L={depth}: {err}", file=sys.stderr)
        return _finish_sparsify(args, graph_input, result, n, k)
    print(f"singleton walk index s_t = WI_(L-1),t({{t}}), L={depth}: mean {s_before.mean():.2f} -> "
          f"{s_after.mean():.2f}, min {int(s_before.min())} -> {int(s_after.min())}, "
          f"isolated vertices {int((graph.degree() == 0).sum())} -> {int((after.degree() == 0).sum())}")
    for label, b, a in zip(labels, wi_before, wi_after):
        print(f"walk index (L={depth}, graph prediction) of {label}: {b} -> {a}")
    return _finish_sparsify(args, graph_input, result, n, k)


def _sparsify_nproc(args) -> int:
    """--nproc N: the distributed run (rankcore.distributed.run) on N local gloo processes; each reads its
    byte range of the edge-list file, rank 0 writes the same output as the single-process run."""
    if args.nproc < 1:
        raise CliError(f"--nproc must be >= 1, got {args.nproc}")
    for flag, given in (("--relabel", args.relabel), ("--root", args.root is not None), ("--progress", args.progress),
                        ("--min-degree", args.min_degree != 0), ("--keep-connected", args.keep_connected)):
        if given:
            raise CliError(f"{flag} is not available with --nproc")
    if args.graph is None or not Path(args.graph).is_file():
        raise CliError(f"--nproc reads an edge-list file ({', '.join(dist_run.EDGE_LIST_SUFFIXES)}), got "
                       f"{args.graph or 'the built-in karate'!r}")
    if args.output:
        check_output_path(args.output, args.graph)
    if args.method == "spectral":
        require_module("scipy", "--method spectral")
    threads = max(1, (os.cpu_count() or 1) // args.nproc)
    try:
        results = run_local(dist_run.rank_main, args.nproc, args.graph, dist_run.options_from_args(args),
                            threads=threads)
    except RankFailed as err:
        _, message, _ = err.errors[min(err.errors)]
        raise CliError(message.strip().splitlines()[0] if message.strip() else "a process failed") from None
    print("\n".join(dist_run.summary_lines(results[0], getattr(args, "timings", False))))
    return 0


def _finish_sparsify(args, graph_input, result, n: int, k: int) -> int:
    timings = getattr(args, "_timings", {})
    if args.output:
        meta = {"method": args.method, "depth": args.depth, "seed": args.seed, "num_remove": k}
        if getattr(args, "_ids", None) is not None:
            meta["ids"] = args._ids
        t_write = time.perf_counter()
        write_sparsified(args.output, graph_input, result, n, meta)
        timings["write"] = time.perf_counter() - t_write
        print(f"wrote {args.output}" + (f" (vertex id map: {args.output}.ids.txt)"
                                         if "ids" in meta and not args.output.endswith(".pt") else ""))
        stale_map = f"{args.output}.ids.txt"
        if "ids" not in meta and os.path.exists(stale_map):  # an earlier --relabel run's map, not this output's
            print(f"rankcore: warning: {stale_map} is from an earlier --relabel run and does not apply to "
                  f"{args.output} (its ids are the input's own)", file=sys.stderr)
    if getattr(args, "timings", False):
        print("timings: " + ", ".join(f"{k} {v:.3f} s" for k, v in timings.items()))
    return 0


def add_sparsify_parser(sub) -> None:
    sp = sub.add_parser("sparsify", help="remove edges with WIS or a baseline sparsifier and write the result")
    sp.add_argument("graph", nargs="?", default=None, help="built-in name (default karate), dataset name or a file")
    add_sparsify_options(sp)
    sp.add_argument("-o", "--output", default=None, help="write the result (.pt, .txt/.csv edge list, .npz)")
    sp.add_argument("--relabel", action="store_true",
                    help="relabel arbitrary vertex ids densely 0..n-1 (sorted); the id map is written to OUT.ids.txt "
                         "(or inside the .pt)")
    sp.add_argument("--root", default=None, help="dataset folder for named datasets (default $RANKCORE_DATA)")
    sp.add_argument("--nproc", type=plain_int, default=None,
                    help="run on N local processes (torch.distributed, gloo), each reading its byte range of an "
                         "edge-list file; same output file")
    sp.add_argument("--min-degree", type=plain_int, default=0, metavar="K",
                    help="guard: no vertex loses edges below min(K, its degree) (default 0: off)")
    sp.add_argument("--keep-connected", action="store_true",
                    help="guard: never split a connected component (bridges are kept)")
    bar = sp.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="show a progress bar (default: on for WIS runs removing >= 20000 edges)")
    bar.add_argument("--no-progress", dest="progress", action="store_false")
    sp.set_defaults(func=cmd_sparsify)
