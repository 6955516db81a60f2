"""The ``rankcore`` command.

    rankcore sparsify [GRAPH] [--method wis|random|spectral|local_degree] [--depth L] [--ratio R | --num-remove N]
                      [--seed S] [-o OUT.pt|.txt|.csv|.npz] [--nproc N]
    rankcore evaluate [--dataset cora] [--methods wis,random,spectral] [--models gcn,gin] [--seeds 3] [--out DIR]
    rankcore walk-index [GRAPH] [--partition FILE] [--depth L ...] [--target T]
    rankcore experiment NAME [--out DIR] [--quick] [--seed S]
        NAME: incremental-rank, natural-data-rank (CP); incremental-hierarchical-rank, locality, dmf-norms
        (HT / DMF); walk-index-validation (GNN); locality-regularizer [--task is-same|pathfinder]
        [--device cuda] [--full-scale] (CNN)

GRAPH is a built-in name (default ``karate``), a dataset name of ``rankcore.datasets.load`` (cora,
citeseer, sbm, power-law; needs torch_geometric; ``--root`` or ``$RANKCORE_DATA`` for the files), an
edge list (.txt / .csv, "u v" per line, ``#`` comments), a scipy sparse ``.npz`` or a ``.pt`` file
holding an edge_index tensor or a PyG ``Data``.
Every error is one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from .command_options import OneLineParser, add_sparsify_options
from .graph.arguments import check_seed, removal_count
from .io import (check_output_path, dense_ids, load_dataset, load_graph, read_partitions, relabel_ids, require_module,
                 write_sparsified)
from .graph.result import result_for_input
from .graph.sparsify import ConvergenceError, removal_order


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def _default_partitions(n: int, default_part, random_half: bool) -> tuple[list, list[str]]:
    """The partitions shown when none is given: the dataset's communities (if any), the first half of
    the ids and, optionally, a random half (seed 0)."""
    parts, labels = [], []
    if default_part is not None:
        parts.append(default_part)
        labels.append("communities")
    parts.append(torch.arange(n) < n // 2)
    labels.append("first half of the ids")
    if random_half:
        parts.append(torch.rand(n, generator=torch.Generator().manual_seed(0)) < 0.5)
        labels.append("random half (seed 0)")
    return parts, labels


def cmd_walk_index(args) -> int:
    import rankcore

    if any(d < 1 for d in args.depth):
        raise CliError(f"--depth values must be >= 1, got {args.depth}")
    relabel = getattr(args, "relabel", False)
    name, graph_input, num_nodes, default_part = load_graph(args.graph, args.root, relabel)
    ids, target = None, args.target
    if relabel:
        graph_input, ids = relabel_ids(graph_input)
        num_nodes, default_part = int(ids.numel()), None
        if target is not None:  # --target names an original id, like the partition file
            target = int(dense_ids(torch.tensor([target]), ids)[0])
            if target < 0:
                raise CliError(f"--target {args.target} is not a vertex of the graph (an original id under "
                               f"--relabel)")
    t0 = time.perf_counter()
    graph = rankcore.Graph.from_input(graph_input, num_nodes, require_undirected=True,
                                      symmetrize=args.symmetrize)
    n = graph.num_nodes
    if args.partition:
        parts = read_partitions(args.partition, n, ids)
        labels = [f"partition {i + 1}" for i in range(len(parts))]
    else:
        parts, labels = _default_partitions(n, default_part, random_half=True)
    masks = torch.stack(parts)
    boundary_sizes = rankcore.boundary(graph, n, masks).sum(dim=1).tolist()
    where = "graph prediction" if args.target is None else f"vertex prediction at {args.target}"
    print(f"{name}: {n} vertices, {graph.num_edges // 2} undirected edges; walk index, {where}")
    header = f"{'partition':<24}{'|I|':>6}{'|C_I|':>7}" + "".join(f"{'L=' + str(d):>14}" for d in args.depth)
    print(header)
    columns = [rankcore.walk_index(graph, n, masks, d, target).tolist() for d in args.depth]
    for row, (label, mask) in enumerate(zip(labels, parts)):
        cells = "".join(f"{col[row]:>14}" for col in columns)
        print(f"{label:<24}{int(mask.sum()):>6}{boundary_sizes[row]:>7}{cells}")
    print(f"({time.perf_counter() - t0:.3f} s; L = GNN depth, WI = ρ_(L-1)(C_I, ·))")
    return 0


def cmd_sparsify(args) -> int:
    import rankcore

    if args.depth < 2:
        raise CliError(f"--depth must be >= 2 (the GNN depth L of (L-1)-WIS), got {args.depth}")
    if args.min_degree < 0:
        raise CliError(f"--min-degree must be >= 0, got {args.min_degree}")
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
    graph = rankcore.Graph.from_input(graph_input, num_nodes, require_undirected=True, symmetrize=args.symmetrize)
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
    after = rankcore.Graph.from_input(result.edge_index, n, symmetrize=args.symmetrize)
    print(f"edges: {m} -> {after.num_edges // 2} undirected ({result.keep_mask.numel()} -> "
          f"{int(result.keep_mask.sum())} edge_index columns); {elapsed:.3f} s")
    # Walk-index statistics at the sparsifier's depth: what WIS tries to preserve.
    depth = args.depth
    if n == 0:
        return _finish_sparsify(args, graph_input, result, n, k)
    s_before = rankcore.singleton_scores(graph, n, depth).double()
    s_after = rankcore.singleton_scores(after, n, depth).double()
    print(f"singleton walk index s_t = WI_(L-1),t({{t}}), L={depth}: mean {s_before.mean():.2f} -> "
          f"{s_after.mean():.2f}, min {int(s_before.min())} -> {int(s_after.min())}, "
          f"isolated vertices {int((graph.degree() == 0).sum())} -> {int((after.degree() == 0).sum())}")
    parts, labels = _default_partitions(n, default_part, random_half=False)
    masks = torch.stack(parts)
    wi_before = rankcore.walk_index(graph, n, masks, depth).tolist()
    wi_after = rankcore.walk_index(after, n, masks, depth).tolist()
    for label, b, a in zip(labels, wi_before, wi_after):
        print(f"walk index (L={depth}, graph prediction) of {label}: {b} -> {a}")
    return _finish_sparsify(args, graph_input, result, n, k)


def _sparsify_nproc(args) -> int:
    """--nproc N: the distributed run (rankcore.distributed.run) on N local gloo processes; each reads its
    byte range of the edge-list file, rank 0 writes the same output as the single-process run."""
    import os

    from .distributed import run as dist_run
    from .distributed.launch import RankFailed, run_local

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
    if getattr(args, "timings", False):
        print("timings: " + ", ".join(f"{k} {v:.3f} s" for k, v in timings.items()))
    return 0


def _add_sparsify_parser(sub) -> None:
    sp = sub.add_parser("sparsify", help="remove edges with WIS or a baseline sparsifier and write the result")
    sp.add_argument("graph", nargs="?", default=None, help="built-in name (default karate), dataset name or a file")
    add_sparsify_options(sp)
    sp.add_argument("-o", "--output", default=None, help="write the result (.pt, .txt/.csv edge list, .npz)")
    sp.add_argument("--relabel", action="store_true",
                    help="relabel arbitrary vertex ids densely 0..n-1 (sorted); the id map is written to OUT.ids.txt "
                         "(or inside the .pt)")
    sp.add_argument("--root", default=None, help="dataset folder for named datasets (default $RANKCORE_DATA)")
    sp.add_argument("--nproc", type=int, default=None,
                    help="run on N local processes (torch.distributed, gloo), each reading its byte range of an "
                         "edge-list file; same output file")
    sp.add_argument("--min-degree", type=int, default=0, metavar="K",
                    help="guard: no vertex loses edges below min(K, its degree) (default 0: off)")
    sp.add_argument("--keep-connected", action="store_true",
                    help="guard: never split a connected component (bridges are kept)")
    bar = sp.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="show a progress bar (default: on for WIS runs removing >= 20000 edges)")
    bar.add_argument("--no-progress", dest="progress", action="store_false")
    sp.set_defaults(func=cmd_sparsify)


# What `rankcore evaluate` runs when an option is not given; a preset replaces some of them.
EVALUATE_DEFAULTS = {"methods": "wis,random,spectral", "models": "gcn,gin", "seeds": 3,
                     "ratios": ",".join(f"{i / 10:.1f}" for i in range(10)), "epochs": 200}
# The published protocol (Razin, Verbin & Cohen 2023): random 80/10/10 vertex splits, 10 per removal level,
# GCN and GIN of depth 3, width 64, LayerNorm, early stopping on validation, 0-90% removed in 10% steps.
EVALUATE_PRESETS = {
    "paper": {**EVALUATE_DEFAULTS, "methods": "random,local_degree,spectral,wis,wis:3,k_neighbor,degree", "seeds": 10},
}


def cmd_evaluate(args) -> int:
    from .experiments import sparsification

    def split(text):
        return [t for t in (part.strip() for part in text.split(",")) if t]

    for option, value in EVALUATE_PRESETS.get(args.preset, EVALUATE_DEFAULTS).items():
        if getattr(args, option) is None:  # options given on the command line win
            setattr(args, option, value)
    try:
        ratios = [float(r) for r in split(args.ratios)]
    except ValueError:
        raise CliError(f"--ratios must be comma-separated numbers in [0, 1), got {args.ratios!r}") from None
    for option in ("seeds", "epochs", "jobs"):
        if getattr(args, option) < 1:
            raise CliError(f"--{option} must be >= 1, got {getattr(args, option)}")
    methods = split(args.methods)
    for spec in methods:
        sparsification.parse_method(spec)  # ValueError before loading anything
    models = split(args.models)
    for model in models:
        if model not in sparsification.MODELS:
            raise CliError(f"unknown model {model!r}; expected one of {', '.join(sparsification.MODELS)}")
    from . import datasets

    names = split(args.dataset)
    loaded = [(name, load_dataset(name, args.root)) for name in names]  # every dataset found before any run
    for name, data in loaded:
        total = len(methods) * len(ratios) * len(models) * args.seeds
        report, close = _evaluate_progress(args, total, name)
        try:
            out = sparsification.run(name, methods, ratios, models, args.seeds, out_dir=args.out,
                                     wis_depth=args.wis_depth, epochs=args.epochs, threads=args.threads, data=data,
                                     progress=report, name=f"sparsification_{datasets.canonical_name(name)}",
                                     jobs=args.jobs)
        except RuntimeError as err:  # matplotlib missing: the JSON and table were written
            raise CliError(str(err)) from None
        finally:
            if close is not None:
                close()
        print(out["table"])
        print(f"({out['total_seconds']:.1f} s, {args.jobs} job(s) of {out['threads']} thread(s)); wrote "
              f"{out['png']} and .json/.md next to it")
    return 0


def _evaluate_progress(args, total: int, name: str):
    """(report, close): per-run lines with --verbose, nothing with --quiet, else a progress bar."""
    if args.quiet:
        return None, None
    if args.verbose:
        return (lambda line: print(line, file=sys.stderr, flush=True)), None
    from .graph.progress import progress_reporter

    bar = {"done": 0}  # drawn at the first finished run, so argument errors print no empty bar

    def report(line):
        if "update" not in bar:
            bar["update"], bar["close"] = progress_reporter(True, total, unit="run", desc=f"evaluate {name}")
        bar["done"] += 1
        bar["update"](bar["done"])

    def close():
        if "close" in bar:
            bar["close"]()
    return report, close


def _add_evaluate_parser(sub) -> None:
    ev = sub.add_parser("evaluate", help="train GNNs on sparsified graphs: accuracy vs %% of edges removed")
    ev.add_argument("--dataset", default="cora", help="comma-separated: cora, citeseer, karate, sbm, power-law "
                    "(default cora); one table, JSON and PNG each")
    ev.add_argument("--preset", choices=sorted(EVALUATE_PRESETS), default=None,
                    help="paper: the published protocol (random 80/10/10 splits, 10 seeds, GCN and GIN, methods "
                         "random, local_degree, spectral, 1-WIS, 2-WIS, k_neighbor, degree, 0-90%% removed); "
                         "options given explicitly win")
    ev.add_argument("--methods", default=None, help="comma-separated (wis, wis:L, random, spectral, local_degree, "
                    "k_neighbor, k_neighbor:degree, degree; default wis,random,spectral)")
    ev.add_argument("--ratios", default=None, help="comma-separated fractions removed (default 0,0.1,...,0.9)")
    ev.add_argument("--models", default=None, help="comma-separated: gcn, gin (default both)")
    ev.add_argument("--seeds", type=int, default=None, help="runs per point (split + init seeds 0..S-1; default 3)")
    ev.add_argument("--epochs", type=int, default=None, help="most epochs per run (early stopping on validation "
                    "accuracy, patience 50; default 200)")
    ev.add_argument("--wis-depth", type=int, default=2, help="L of the (L-1)-WIS used for 'wis' (default 2: 1-WIS)")
    ev.add_argument("--threads", type=int, default=1, help="torch threads per job (default 1: small graphs train "
                    "faster)")
    ev.add_argument("--jobs", type=int, default=1, help="trainings side by side in N processes (results equal "
                    "the one-process run's)")
    ev.add_argument("--root", default=None, help="dataset folder (default $RANKCORE_DATA)")
    ev.add_argument("--out", default="rankcore_results", help="output folder (default ./rankcore_results; the committed results are in results/)")
    talk = ev.add_mutually_exclusive_group()
    talk.add_argument("--quiet", action="store_true", help="no progress output")
    talk.add_argument("--verbose", action="store_true", help="one line per finished run instead of a progress bar")
    ev.set_defaults(func=cmd_evaluate)


def cmd_experiment(args) -> int:
    """Runs one experiment of rankcore.experiments (JSON + PNG into --out)."""
    import importlib

    from .experiments import EXPERIMENTS

    import inspect

    module = importlib.import_module(EXPERIMENTS[args.name])
    # Options only some experiments take (--task, --device, --full-scale): passed where run() accepts them,
    # an error where it does not and the option was given.
    accepted = inspect.signature(module.run).parameters
    extra = {}
    for option, default in (("task", None), ("device", "cpu"), ("full_scale", False), ("jobs", 1),
                            ("penalty", "exact")):
        value = getattr(args, option)
        if option in accepted:
            if value is not None:
                extra[option] = value
        elif value not in (None, default):
            raise CliError(f"experiment {args.name} has no --{option.replace('_', '-')} option")
    try:
        module.run(out_dir=args.out, quick=args.quick, seed=args.seed, **extra)
    except RuntimeError as err:  # missing optional dependency (matplotlib, scikit-learn), no CUDA
        raise CliError(str(err)) from None
    stem = args.name.replace('-', '_') + (f"_{args.task.replace('-', '_')}" if extra.get("task") else "")
    print(f"wrote {args.out}/{stem}.json and .png" + (" and .md" if "task" in accepted else ""))
    return 0


def _add_experiment_parser(sub) -> None:
    from .experiments import EXPERIMENTS

    ex = sub.add_parser("experiment", help="run an experiment of rankcore.experiments (writes JSON + PNG)")
    ex.add_argument("name", choices=sorted(EXPERIMENTS))
    ex.add_argument("--out", default="rankcore_results", help="output folder (default ./rankcore_results; the committed results are in results/)")
    ex.add_argument("--quick", action="store_true", help="smaller, faster configuration")
    ex.add_argument("--seed", type=int, default=0)
    ex.add_argument("--task", choices=("is-same", "pathfinder"), default=None,
                    help="locality-regularizer: the long-range task (default is-same)")
    ex.add_argument("--device", default="cpu", help="locality-regularizer: torch device, e.g. cuda (default cpu)")
    ex.add_argument("--full-scale", action="store_true",
                    help="locality-regularizer: the published sizes (224 px / 150 px, width 64; for --device cuda)")
    ex.add_argument("--penalty", choices=("exact", "quarter", "eighth", "fd", "fd-quarter", "fd-eighth"),
                    default="exact", help="locality-regularizer: how R and its gradient are computed (exact double "
                    "backward on the batch, on a quarter / eighth of it, or finite differences; "
                    "docs/definitions.md section 4)")
    ex.add_argument("--jobs", type=int, default=1,
                    help="locality-regularizer: CPU processes training side by side, one thread each (default 1)")
    ex.set_defaults(func=cmd_experiment)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="rankcore", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    wi = sub.add_parser("walk-index", help="print walk indices of partitions of a graph")
    wi.add_argument("graph", nargs="?", default=None, help="built-in name (default karate) or a file")
    wi.add_argument("--partition", help="file with one partition per line (vertex ids of I; the file's "
                    "original ids under --relabel)")
    wi.add_argument("--depth", type=int, nargs="+", default=[1, 2, 3, 4], help="GNN depths L (default 1 2 3 4)")
    wi.add_argument("--target", type=int, default=None, help="vertex for vertex prediction (default: graph "
                    "prediction; an original id under --relabel)")
    wi.add_argument("--symmetrize", action="store_true", help="add missing reverse edges instead of failing")
    wi.add_argument("--relabel", action="store_true", help="relabel arbitrary vertex ids densely 0..n-1 (sorted)")
    wi.add_argument("--root", default=None, help="dataset folder for named datasets (default $RANKCORE_DATA)")
    wi.set_defaults(func=cmd_walk_index)
    _add_sparsify_parser(sub)
    _add_evaluate_parser(sub)
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
    except KeyboardInterrupt:  # Ctrl-C: one line and the shell's 128 + SIGINT, no traceback
        print(f"rankcore {args.command}: interrupted", file=sys.stderr)
        return 130
    except (CliError, ValueError, TypeError, OverflowError, MemoryError, ConvergenceError) as err:
        # Library messages name the Python keyword; on the command line it is a flag.
        message = str(err).replace("symmetrize=True", "--symmetrize")
        print(f"rankcore {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
