"""Walk counting, boundaries and the walk index on a :class:`DistGraph` (definitions §2 and §5).

Each function is collective and returns, on every rank, the rows of that rank's own vertices: exactly the
slice ``[lo, hi)`` of what the single-process function returns on the whole graph (int64 counts are exact;
float64 sums are formed in the same order, so they are bit-for-bit equal too). :func:`gather` assembles
the full result on one rank.

A walk step is one halo exchange (``all_to_all`` of exactly the entries other ranks need: the halo plan)
and one call of the native walk kernel on the local extended CSR. Every ``_CHECK`` steps, and at the end,
one small ``all_reduce`` agrees on overflow (the exact int64 contract: every rank raises the same
``OverflowError`` naming the first length that overflowed anywhere) and on the fixed point (as in the
single-process op, a count that stops changing is final).
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from .. import ops
from ..graph.arguments import INT64_MAX, check_int
from ..graph.walks import (BINOMIAL_AFTER, adjacency_matrix, boundary_by_one_step, check_bool_mask, check_target,
                           check_walk_dtype, combine_halves, long_walks, walk_index_halves, walk_index_start)
from .graph import DistGraph, _try, agree, all_gather_objects

__all__ = ["count_walks", "boundary", "walk_index", "gather"]


def _local_masks(name: str, mask, dg: DistGraph) -> tuple[torch.Tensor, bool]:
    """A bool mask over the whole graph (``[n]`` / ``[k, n]``) or over the own rows (``[n_local]`` /
    ``[k, n_local]``) -> own rows ``[k, n_local]`` and whether it was 1-D."""
    check_bool_mask(name, mask)
    if mask.device.type != "cpu":
        raise ValueError(f"{name} must be on the CPU like the DistGraph, got {mask.device}")
    n, n_local = dg.num_nodes, dg.num_local_nodes
    if mask.dim() not in (1, 2) or mask.shape[-1] not in (n, n_local):
        raise ValueError(f"{name} must have shape [{n}] or [k, {n}] (the whole graph) or [{n_local}] / "
                         f"[k, {n_local}] (this rank's vertices), got {list(mask.shape)}")
    squeeze = mask.dim() == 1
    masks = mask.unsqueeze(0) if squeeze else mask
    if masks.shape[-1] == n and n != n_local:
        masks = masks[:, dg.lo:dg.hi]
    return masks, squeeze


def _layout(mask) -> str | None:
    """What the ranks must agree on about a mask argument: its dimensions, the number of masks first (the
    exchange is per column; own-row and whole-graph masks differ only in the last dimension, "n" here)."""
    if not isinstance(mask, torch.Tensor):
        return None if mask is None else type(mask).__name__
    return "[" + ", ".join([str(d) for d in mask.shape[:-1]] + ["n"] * (mask.dim() > 0)) + "]"


_CHECK = 16  # steps between the collective overflow / fixed-point checks


def walks_from(dg: DistGraph, start: torch.Tensor, length: int) -> torch.Tensor:
    """Own rows ``[n_local, k]`` of non-negative start counts -> own rows after ``length`` steps on Â
    (collective): up to BINOMIAL_AFTER steps one by one, the rest in the binomial form, as on one process
    (graph.walks.long_walks, whose every decision is agreed by an all_reduce). Raises the same
    :class:`OverflowError` on every rank."""
    x, settled = _step_walks(dg, start, min(length, BINOMIAL_AFTER))
    if settled or length <= BINOMIAL_AFTER:
        return x
    plan = dg.halo()
    adjacency = None if x.dtype == torch.int64 else adjacency_matrix(plan.ext_rowptr, plan.ext_col)

    def a_step(w: torch.Tensor) -> torch.Tensor:
        if adjacency is None:
            return _step_walks(dg, w, 1)[0] - w
        return (adjacency @ dg.exchange(w.contiguous()))[:dg.num_local_nodes]

    def steps(y: torch.Tensor, count: int) -> torch.Tensor:  # collective: every rank passes the same count
        return _step_walks(dg, y.contiguous(), count)[0]  # float64 only (no overflow)

    return long_walks(x, length - BINOMIAL_AFTER, BINOMIAL_AFTER, a_step, lambda flags: _all_max(dg, flags), steps,
                      dg.num_nodes)


def _all_max(dg: DistGraph, flags: torch.Tensor) -> torch.Tensor:
    """The entrywise maximum of a small int64 tensor over the ranks (in place; collective)."""
    if dg.world_size > 1:
        dist.all_reduce(flags, op=dist.ReduceOp.MAX, group=dg.group)
    return flags


def _step_walks(dg: DistGraph, start: torch.Tensor, length: int) -> tuple[torch.Tensor, bool]:
    """``length`` collective steps on Â; returns the own rows and whether they settled before the end."""
    plan = dg.halo()
    n_local = dg.num_local_nodes
    x = start
    x_ext = None  # the last kernel output: own rows = x, halo rows refreshed in place by the exchange
    done = 0
    while done < length:
        steps = min(_CHECK, length - done)
        before = x
        overflow_at = INT64_MAX
        for s in range(steps):
            x_ext = dg.exchange(x, x_ext)
            if overflow_at == INT64_MAX:
                try:
                    x_ext = ops.walk_count(plan.ext_rowptr, plan.ext_col, x_ext, 1)
                except OverflowError:
                    overflow_at = done + s + 1
                    x_ext = torch.zeros_like(x_ext)  # keep stepping (the collectives must match), with nothing
                x = x_ext[:n_local]
        done += steps
        changed = int(done < length and not torch.equal(before, x))
        flags = torch.tensor([overflow_at, -changed], dtype=torch.int64)
        if dg.world_size > 1:
            dist.all_reduce(flags, op=dist.ReduceOp.MIN, group=dg.group)
        if int(flags[0]) != INT64_MAX:
            raise OverflowError(f"walk counts of length {int(flags[0])} exceed the int64 range (2^63 - 1)")
        if done < length and int(flags[1]) == 0:
            return (x if x is not start else x.clone()), True  # a fixed point on every rank (see graph.walks)
    return (x if x is not start else x.clone()), False


def count_walks(dg: DistGraph, length, sources=None, *, dtype=torch.int64) -> torch.Tensor:
    """:func:`rankcore.count_walks` on a DistGraph: this rank's rows ``[n_local]`` (or ``[k, n_local]``).

    ``sources``: None (every vertex), or a bool mask over the whole graph (``[n]`` / ``[k, n]``, the same
    on every rank) or over this rank's vertices (``[n_local]`` / ``[k, n_local]``).
    """
    def check():
        ln = check_int("length", length, 0)
        check_walk_dtype(dtype)
        return ln, (None if sources is None else _local_masks("sources", sources, dg))
    checked, err = _try(check)
    agree(err, dg.group, {"length": length, "dtype": dtype, "the shape of sources": _layout(sources)})
    ln, masks = checked
    if masks is None:
        start, squeeze = torch.ones(dg.num_local_nodes, 1, dtype=dtype), True
    else:
        masks, squeeze = masks
        start = masks.t().to(dtype).contiguous()
    try:
        counts = walks_from(dg, start, ln)
    except OverflowError as err:
        raise OverflowError(f"{err}; pass dtype=torch.float64 for approximate counts") from None
    return counts[:, 0] if squeeze else counts.t().contiguous()


def _boundary(dg: DistGraph, masks: torch.Tensor) -> torch.Tensor:
    """Own rows of the boundaries of k partitions ([k, n_local] -> [k, n_local]): one collective step."""
    return boundary_by_one_step(masks, lambda start, length: walks_from(dg, start, length))


def boundary(dg: DistGraph, partition) -> torch.Tensor:
    """:func:`rankcore.boundary` on a DistGraph: this rank's rows of C_I (same shape as its mask rows)."""
    def check():
        dg.require_undirected("boundary")
        return _local_masks("partition", partition, dg)
    checked, err = _try(check)
    agree(err, dg.group, {"the shape of partition": _layout(partition)})
    masks, squeeze = checked
    result = _boundary(dg, masks)
    return result[0] if squeeze else result


def walk_index(dg: DistGraph, partition, depth, target=None) -> torch.Tensor:
    """:func:`rankcore.walk_index` on a DistGraph: the (global) walk index on every rank, an int64 scalar
    tensor or ``[k]``. The masked sums are exact: each rank sums the high and low 31-bit halves of its
    terms, one SUM all_reduce adds them (no partial sum can wrap), and Python ints combine them."""
    def check():
        dg.require_undirected("walk_index")
        return (check_int("depth", depth, 1), check_target(target, dg.num_nodes),
                _local_masks("partition", partition, dg))
    checked, err = _try(check)
    agree(err, dg.group, {"depth": depth, "target": target, "the shape of partition": _layout(partition)})
    d, t, (masks, squeeze) = checked
    start, what = walk_index_start(dg.num_local_nodes, t, d, lo=dg.lo)
    # collective both ways: every rank raises (and falls back) alike (walks_from)
    halves = walk_index_halves(_boundary(dg, masks), start, lambda x, length: walks_from(dg, x, length), d - 1, what,
                               t is not None,
                               lambda flag: bool(_all_max(dg, torch.tensor([int(flag)], dtype=torch.int64))[0]))
    if dg.world_size > 1:
        dist.all_reduce(halves, group=dg.group)  # half-sums of disjoint vertex sets add without wrapping
    result = combine_halves(halves, what)
    return result[0] if squeeze else result


def gather(local: torch.Tensor, dg: DistGraph, dst: int | None = 0) -> torch.Tensor | None:
    """Concatenate every rank's own rows along the last dimension (collective): the whole-graph result on
    rank ``dst`` (None elsewhere), or on every rank when ``dst`` is None."""
    _, err = _try(lambda: None if dst is None else check_int("dst", dst, 0, dg.world_size - 1))
    agree(err, dg.group, {"dst": dst, "the dtype of local": getattr(local, "dtype", type(local).__name__),
                          "the shape of local": _layout(local)})
    if dg.world_size == 1:
        return local
    if dst is None:
        parts = all_gather_objects(local, dg.group)
    else:
        parts = [None] * dg.world_size
        dist.gather_object(local, parts if dg.rank == dst else None, dst=dst, group=dg.group)
        if dg.rank != dst:
            return None
    return torch.cat(parts, dim=-1)

