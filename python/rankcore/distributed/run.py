"""Sparsifying an edge-list file on several processes, no rank holding the whole edge list.

    torchrun --nproc-per-node=N -m rankcore.distributed.run sparsify GRAPH_FILE [--method wis|random|local_degree|spectral]
             [--depth L] [--ratio R | --num-remove K] [--seed S] [--symmetrize] [--num-nodes N] [-o OUT.txt|.csv|.pt|.npz]
             [--timings]
    rankcore sparsify GRAPH_FILE --nproc N ...     (the same code on N local gloo processes)

Every rank reads the lines of GRAPH_FILE that start in its byte range (:mod:`rankcore.distributed.io`),
builds :meth:`rankcore.distributed.DistGraph.from_local_edges` from them and runs
:func:`rankcore.distributed.sparsify`, which returns on every rank the removed edges of
``rankcore.sparsify`` on the whole graph. Each rank then drops the columns of its own shard whose
undirected edge was removed (self-loop columns stay) and rank 0 writes the output, receiving the other
ranks' parts one after another in rank order: the file is byte for byte what the single-process
``rankcore sparsify GRAPH_FILE -o OUT`` writes (.txt / .csv; .pt and .npz hold the same tensors, but
those formats are one object, so rank 0 assembles the kept edge list there).

Run without torchrun (no RANK / WORLD_SIZE in the environment) it is a world of one process. Errors are
one line "rankcore sparsify: error: ..." on rank 0's stderr and exit status 2 on every rank.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist

from .. import io as graph_io
from ..command_options import OneLineParser, add_sparsify_options, plain_int
from ..graph.arguments import MAX_NODES
from .graph import _try as _try_args
from .graph import agree, all_sum_ints

__all__ = ["sparsify_file", "summary_lines", "main", "EDGE_LIST_SUFFIXES"]

EDGE_LIST_SUFFIXES = (".txt", ".csv", ".tsv", ".edges", ".el")
_BLOCK = 1 << 26  # bytes / elements per point-to-point message
_TEXT_BLOCK = 1 << 20  # columns per block of text a rank formats and sends (_write)


def _try(fn):
    """graph._try, file errors included: a bad path or a full disk is reported like a bad argument."""
    return _try_args(fn, also=(OSError,))


def _peer(group, rank: int) -> int:
    return rank if group is None else dist.get_global_rank(group, rank)


def _stream_to_root(blocks, group, consume, dtype: torch.dtype = torch.uint8) -> None:
    """Rank 0 calls ``consume`` with each of its own blocks and then, in rank order, with every other rank's,
    received as 1-D tensors of ``dtype``; the other ranks send theirs as they make them (a length, then the
    elements; length 0 ends a rank's stream), so no rank holds more than one block of its share in flight. A block
    is a 1-D tensor of ``dtype`` or, for uint8, bytes. Collective."""
    rank, world = dist.get_rank(group), dist.get_world_size(group)
    if rank == 0:
        for block in blocks:
            consume(block)
        for r in range(1, world):
            length = torch.zeros(1, dtype=torch.int64)
            while True:
                dist.recv(length, src=_peer(group, r), group=group)
                if int(length) == 0:
                    break
                buf = torch.empty(int(length), dtype=dtype)
                dist.recv(buf, src=_peer(group, r), group=group)
                consume(buf)
    else:
        for block in blocks:
            if isinstance(block, (bytes, bytearray)):
                block = torch.frombuffer(bytearray(block), dtype=torch.uint8)
            if block.numel():
                dist.send(torch.tensor([block.numel()], dtype=torch.int64), dst=_peer(group, 0), group=group)
                dist.send(block.contiguous(), dst=_peer(group, 0), group=group)
        dist.send(torch.zeros(1, dtype=torch.int64), dst=_peer(group, 0), group=group)


def _gather_at_root(local: torch.Tensor, group) -> torch.Tensor | None:
    """The 1-D parts of every rank concatenated in rank order on rank 0 (None elsewhere); sent in blocks of at
    most ``_BLOCK`` elements. ``local`` must have the same dtype on every rank."""
    local = local.contiguous().reshape(-1)
    parts = [local[:0]]  # the result's dtype when every part is empty
    blocks = (local[lo:lo + _BLOCK] for lo in range(0, local.numel(), _BLOCK))
    _stream_to_root(blocks, group, parts.append, local.dtype)
    return torch.cat(parts) if dist.get_rank(group) == 0 else None


def _check_graph_path(path: str) -> None:
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"no such graph file: {path}" + ("" if p.suffix else
                         " (the distributed run reads edge-list files, not built-in graphs or datasets)"))
    if p.suffix.lower() not in EDGE_LIST_SUFFIXES:
        raise ValueError(f"the distributed run reads edge-list text files ({', '.join(EDGE_LIST_SUFFIXES)}), "
                         f"got {p.suffix!r} for {path}")


def sparsify_file(path, *, method: str = "wis", ratio=None, num_remove=None, seed: int = 0, depth: int = 2,
                  symmetrize: bool = False, num_nodes=None, output=None, group=None) -> dict:
    """Collective: sparsify the edge-list file ``path`` over the ranks of ``group`` (None: the default
    group) and, with ``output``, write what ``rankcore sparsify path -o output`` writes.

    ``ratio`` / ``num_remove`` as :func:`rankcore.sparsify` (neither: ratio 0.5, as the CLI). Returns a summary,
    the same on every rank except its timings: num_nodes, num_edges (undirected), num_remove, columns,
    kept_columns, world_size, output, and timings (this rank's seconds for read / build / sparsify / write; the
    command prints rank 0's). Raises the same
    ``ValueError`` on every rank (the first rank's) when any rank finds an error.
    """
    from . import DistGraph
    from . import sparsify as dist_sparsify
    from ..graph.arguments import removal_count
    from ..graph.result import make_result
    from ..graph.sparsify import METHODS
    from .io import read_edge_list_shard

    rank, world = dist.get_rank(group), dist.get_world_size(group)
    if ratio is None and num_remove is None:
        ratio = 0.5

    def check():
        graph_path = os.fspath(path)
        _check_graph_path(graph_path)
        if method not in METHODS:
            raise ValueError(f"unknown sparsification method {method!r}; expected one of {', '.join(METHODS)}")
        if depth < 2:
            raise ValueError(f"--depth must be >= 2 (the GNN depth L of (L-1)-WIS), got {depth}")
        if output is not None and rank == 0:
            graph_io.check_output_path(os.fspath(output), graph_path)
        return graph_path
    # argument and path errors: found by every rank alike, or by rank 0 (the output), agreed on, after the
    # arguments every rank must share (each reads its part of one file; the output write is collective)
    checked, err = _try(check)
    agree(err, group, {"the graph file": path, "method": method, "ratio": ratio, "num_remove": num_remove,
                       "seed": seed, "depth": depth, "symmetrize": symmetrize, "num_nodes": num_nodes,
                       "output": output})
    path = checked

    timings = {}
    t = time.perf_counter()
    # ids are array positions (no --relabel in the distributed run): checked per line, named by file:line
    shard, err = _try(lambda: read_edge_list_shard(path, rank, world, max_id=MAX_NODES - 1))
    agree(err, group)
    timings["read"] = time.perf_counter() - t
    (columns,) = all_sum_ints([shard.shape[1]], group)
    if columns == 0:
        raise ValueError(f"{path}: no edges found (expected one edge 'u v' per line; '#' starts a comment)")

    t = time.perf_counter()
    graph = DistGraph.from_local_edges(shard, num_nodes, group, symmetrize=symmetrize, require_undirected=True)
    timings["build"] = time.perf_counter() - t
    n = graph.num_nodes
    (directed,) = all_sum_ints([graph.num_local_edges], group)
    m = directed // 2
    k = removal_count(m, ratio, num_remove)  # the same on every rank: the same error everywhere

    t = time.perf_counter()
    removed = dist_sparsify(graph, method, num_remove=k, seed=seed, depth=depth)
    timings["sparsify"] = time.perf_counter() - t

    keep = make_result(shard, n, removed).keep_mask
    kept = shard[:, keep]
    (kept_columns,) = all_sum_ints([kept.shape[1]], group)
    after = DistGraph.from_local_edges(kept, n, group, symmetrize=symmetrize)
    stats = _walk_index_stats(graph, after, depth) if n else None
    del graph, after
    if output is not None:
        t = time.perf_counter()
        meta = {"method": method, "depth": depth, "seed": seed, "num_remove": k}
        _write(os.fspath(output), kept, keep, removed, n, kept_columns, meta, group)
        timings["write"] = time.perf_counter() - t
    return {"num_nodes": n, "num_edges": m, "num_remove": k, "columns": columns, "kept_columns": kept_columns,
            "world_size": world, "method": method, "depth": depth, "timings": timings,
            "output": None if output is None else os.fspath(output), "graph": Path(path).name, "stats": stats}


def _walk_index_stats(before, after, depth: int) -> dict:
    """The walk-index statistics the single-process ``rankcore sparsify`` prints, computed collectively:
    singleton scores (mean, min, isolated vertices) and the graph-prediction walk index of the first half
    of the ids, before and after."""
    from . import singleton_scores, walk_index

    out = {}
    for name, g in (("before", before), ("after", after)):
        s = singleton_scores(g, depth)
        sums = torch.tensor([int(s.sum()), int((g.degree() == 0).sum())], dtype=torch.int64)
        low = torch.tensor([int(s.min()) if s.numel() else 2**62], dtype=torch.int64)
        if g.world_size > 1:
            dist.all_reduce(sums, group=g.group)
            dist.all_reduce(low, op=dist.ReduceOp.MIN, group=g.group)
        half = torch.arange(g.lo, g.hi) < g.num_nodes // 2
        out[name] = {"mean": int(sums[0]) / g.num_nodes, "min": int(low), "isolated": int(sums[1]),
                     "walk_index": int(walk_index(g, half, depth))}
    return out


def _write(path: str, kept: torch.Tensor, keep: torch.Tensor, removed: torch.Tensor, n: int,
           kept_columns: int, meta: dict, group) -> None:
    """Rank 0 writes ``path`` from every rank's kept columns (rank order), as rankcore.io.write_sparsified does in
    one process: into a temporary file beside it that replaces ``path`` only once every part arrived and was
    written."""
    rank = dist.get_rank(group)
    suffix = Path(path).suffix.lower()
    out, err = None, None
    if rank == 0:
        out, err = _try(lambda: graph_io.AtomicFile(path))
    agree(err, group)
    committed = False
    try:
        if suffix in (".txt", ".csv"):
            sep = b"," if suffix == ".csv" else b" "
            f = None
            if rank == 0:
                f, err = _try(lambda: open(out.tmp, "wb"))
            agree(err, group)
            try:
                if rank == 0:
                    header = graph_io.edge_list_header(meta["method"], n, kept_columns)
                    _, err = _try(lambda: f.write(header))

                    def consume(part) -> None:  # rank 0's bytes, or another rank's uint8 tensor
                        nonlocal err
                        data = part.numpy() if isinstance(part, torch.Tensor) else part
                        if err is None and len(data):
                            _, err = _try(lambda: f.write(data))
                else:
                    consume = None
                _stream_to_root(graph_io.pair_blocks(kept, sep, _TEXT_BLOCK), group, consume)
            finally:
                if f is not None:
                    _, close_err = _try(f.close)
                    err = err or close_err
        else:  # .pt / .npz: one object, assembled on rank 0
            us = _gather_at_root(kept[0], group)
            vs = _gather_at_root(kept[1], group)
            mask = _gather_at_root(keep.to(torch.uint8), group)  # gloo sends no bool tensors
            if rank == 0:
                edge_index, mask = torch.stack([us, vs]), mask.bool()
                if suffix == ".pt":
                    _, err = _try(lambda: torch.save({"edge_index": edge_index, "num_nodes": n, "removed": removed,
                                                      "keep_mask": mask, **meta}, out.tmp))
                else:
                    _, err = _try(lambda: graph_io.write_npz(out.tmp, edge_index, n))
        if rank == 0 and err is None:
            _, err = _try(out.commit)
            committed = err is None
    finally:
        if out is not None and not committed:
            out.discard()
    if err is not None:
        err = ValueError(f"could not write {path}: {getattr(err, 'strerror', None) or err}")
    agree(err, group)


def summary_lines(summary: dict, timings: bool = False) -> list[str]:
    """What the CLI prints for a distributed run (rank 0 / the --nproc parent)."""
    method, depth = summary["method"], summary["depth"]
    what = method + (f" (depth {depth}: {depth - 1}-WIS)" if method == "wis" else "")
    m, k = summary["num_edges"], summary["num_remove"]
    t = summary["timings"]
    lines = [f"{summary['graph']}: {summary['num_nodes']} vertices, {m} undirected edges; sparsifying with {what}, "
             f"removing {k} edges ({summary['world_size']} process{'es' if summary['world_size'] > 1 else ''})",
             f"edges: {m} -> {m - k} undirected ({summary['columns']} -> {summary['kept_columns']} edge_index "
             f"columns); {t['sparsify']:.3f} s"]
    stats = summary.get("stats")
    if stats is not None:
        b, a = stats["before"], stats["after"]
        lines.append(f"singleton walk index s_t = WI_(L-1),t({{t}}), L={depth}: mean {b['mean']:.2f} -> "
                     f"{a['mean']:.2f}, min {b['min']} -> {a['min']}, isolated vertices {b['isolated']} -> "
                     f"{a['isolated']}")
        lines.append(f"walk index (L={depth}, graph prediction) of first half of the ids: {b['walk_index']} -> "
                     f"{a['walk_index']}")
    if summary["output"] is not None:
        lines.append(f"wrote {summary['output']}")
    if timings:
        lines.append("timings: " + ", ".join(f"{name} {v:.3f} s" for name, v in t.items()))
    return lines


def rank_main(path: str, options: dict) -> dict:
    """One rank of ``rankcore sparsify --nproc N`` (run by rankcore.distributed.launch.run_local)."""
    return sparsify_file(path, **options)


def add_sparsify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("graph", help="edge-list file (.txt/.csv/.tsv/.edges/.el: 'u v' per line, '#' comments)")
    add_sparsify_options(parser)
    parser.add_argument("-o", "--output", "--out", dest="output", default=None,
                        help="write the result (.txt/.csv edge list, .pt, .npz)")
    parser.add_argument("--num-nodes", type=plain_int, default=None, help="vertex count (default: largest id + 1)")


def options_from_args(args) -> dict:
    return {"method": args.method, "ratio": args.ratio, "num_remove": args.num_remove, "seed": args.seed,
            "depth": args.depth, "symmetrize": args.symmetrize, "num_nodes": getattr(args, "num_nodes", None),
            "output": args.output}


def _init_group() -> tuple[bool, tempfile.TemporaryDirectory | None]:
    """(whether this call initialised the default group, the temporary store folder to clean up)."""
    if dist.is_initialized():
        return False, None
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:  # torchrun
        dist.init_process_group("gloo")
        return True, None
    tmp = tempfile.TemporaryDirectory(prefix="rankcore_run_")
    dist.init_process_group("gloo", init_method=f"file://{tmp.name}/store", rank=0, world_size=1)
    return True, tmp


def _settle(timeout_s: float = 10.0) -> None:
    """A barrier with a timeout (errors are agreed on, so every rank normally gets here)."""
    import datetime

    if dist.get_world_size() > 1:
        try:
            dist.monitored_barrier(timeout=datetime.timedelta(seconds=timeout_s))
        except RuntimeError:
            pass


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m rankcore.distributed.run", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    add_sparsify_arguments(sub.add_parser("sparsify", help="sparsify an edge-list file over the ranks"))
    args = parser.parse_args(argv)
    initialised, tmp = _init_group()
    try:
        rank = dist.get_rank()
        try:
            summary = sparsify_file(args.graph, **options_from_args(args))
        except (ValueError, TypeError, OverflowError, MemoryError) as err:
            if rank == 0:
                message = str(err).strip().splitlines()[0].replace("symmetrize=True", "--symmetrize")
                print(f"rankcore {args.command}: error: {message}", file=sys.stderr, flush=True)
            _settle()  # torchrun stops the other ranks when one exits non-zero: rank 0 prints first
            return 2
        if rank == 0:
            print("\n".join(summary_lines(summary, args.timings)), flush=True)
        return 0
    finally:
        if initialised:
            dist.destroy_process_group()
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
