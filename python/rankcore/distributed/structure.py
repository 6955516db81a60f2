"""Common neighbours, closed walks and singleton scores on a :class:`DistGraph` (definitions §2, §5).

These need neighbours' rows, not only neighbours' values, so they run the native single-process kernels
on a ball (:meth:`DistGraph.ball`): the subgraph induced on the vertices within distance r of the own
range. That is exact for the own vertices:
* common neighbours of an own edge {s, t}: N(s) ∩ N(t) ⊆ N(t), inside the radius-1 ball;
* a closed walk of length L at t never goes further than floor(L / 2) from t, and every edge it uses
  joins two vertices of the radius-floor(L / 2) ball, so the induced subgraph holds all of them.
Results are this rank's rows (per own vertex, or per own CSR slot), as the walk functions return.
"""

from __future__ import annotations

import torch

from .. import ops
from ..graph.arguments import check_int
from .graph import DistGraph, _try, agree

__all__ = ["edge_common_neighbors", "closed_walk_counts", "singleton_scores"]


def _own_slots(dg: DistGraph, ball) -> torch.Tensor:
    """Positions in the ball's CSR of the own rows' entries (own rows are complete and in order)."""
    a = int(ball.rowptr[ball.own_start])
    return torch.arange(a, a + dg.num_local_edges)


def edge_common_neighbors(dg: DistGraph) -> torch.Tensor:
    """``|N(s) ∩ N(t)|`` for every own CSR slot (edge s -> t, t own), int64 ``[nnz_local]`` in the order of
    ``dg.col``: the slice of :func:`rankcore.edge_common_neighbors` on the whole graph's CSR."""
    _, err = _try(lambda: dg.require_undirected("edge_common_neighbors"))
    agree(err, dg.group)
    ball = dg._ball(1)
    counts = ops.edge_common_neighbors(ball.rowptr, ball.col)
    return counts[_own_slots(dg, ball)]


def closed_walk_counts(dg: DistGraph, length) -> torch.Tensor:
    """``(Â^L)_tt`` for the own vertices, exact int64 ``[n_local]`` (:func:`rankcore.closed_walk_counts`).
    Raises the same OverflowError on every rank when any count overflows."""
    return _closed_walks(dg, length, "length", "closed_walk_counts")


def singleton_scores(dg: DistGraph, depth) -> torch.Tensor:
    """WIS singleton scores s_t of the own vertices: ``(Â^L)_tt``, 0 for isolated t."""
    s = _closed_walks(dg, depth, "depth", "singleton_scores")
    return torch.where(dg.degree() > 0, s, torch.zeros_like(s))


def _closed_walks(dg: DistGraph, length, name: str, what: str) -> torch.Tensor:
    """closed_walk_counts, with the length argument called ``name`` in errors."""
    def check():
        dg.require_undirected(what)
        return check_int(name, length, 0)
    ln, err = _try(check)
    agree(err, dg.group, {name: length})  # the ball's radius, so the number of collectives, follows from it
    ball = dg._ball(ln // 2)
    counts, err = _try(lambda: ops.closed_walk_counts(ball.rowptr, ball.col, ln))
    agree(err, dg.group)
    return counts[ball.own_start:ball.own_start + dg.num_local_nodes]
