"""Local structure of an undirected graph used by WIS scoring: common neighbours and closed walks.

Both run on the symmetric CSR that :class:`Graph` stores (no dense matrix) and are exact int64.
"""

from __future__ import annotations

import torch

from .. import ops
from .arguments import check_int
from .container import Graph, input_columns
from .eager import eager_only


def edge_common_neighbors(edge_index, num_nodes=None, *, symmetrize=False) -> torch.Tensor:
    """Number of common neighbours ``|N(u) ∩ N(v)|`` of every input column ``(u, v)``.

    That is the number of triangles through the edge {u, v}. The graph must be undirected (both
    directions present) unless ``symmetrize=True``; duplicates are merged and self-loops ignored when
    forming N, and a self-loop column ``(u, u)`` gets ``|N(u)|``.

    Returns:
        ``[m]`` int64 aligned with the columns of ``edge_index`` (a tensor, array or list; for a PyG ``Data``, its ``edge_index``;
        for scipy / networkx / :class:`Graph` input, the columns of ``Graph.edge_index()``).
    """
    graph = Graph.from_input(edge_index, num_nodes, require_undirected=True, symmetrize=symmetrize)
    counts = ops.edge_common_neighbors(graph.rowptr, graph.col)  # per CSR slot
    original = input_columns(edge_index)  # the caller's columns (tensor, array, list, Data) or None
    if original is None:
        return counts
    original = original.to(graph.device)
    src, dst = original[0], original[1]
    loop = src == dst
    pos = graph.slots_of(src, dst)  # each column's CSR slot (both directions carry the same count)
    out = counts[pos] if counts.numel() else torch.zeros_like(src)
    degree = graph.rowptr.diff()
    return torch.where(loop, degree[src], out)


@eager_only  # eager: the native overflow error must become OverflowError
def closed_walk_counts(edge_index, num_nodes, length, *, symmetrize=False) -> torch.Tensor:
    """``(Â^L)_tt`` for every vertex t: the closed walks of length L at t on Â = A + I, exact int64.

    An isolated vertex has 1 (its self-loop walk). The WIS singleton score s_t of definitions §2 is this
    value for vertices with at least one edge and 0 for isolated ones (see :func:`singleton_scores`).
    Raises :class:`OverflowError` when a count exceeds int64.
    """
    graph = Graph.from_input(edge_index, num_nodes, require_undirected=True, symmetrize=symmetrize)
    length = check_int("length", length, 0)
    return ops.closed_walk_counts(graph.rowptr, graph.col, length)


@eager_only
def singleton_scores(edge_index, num_nodes, depth, *, symmetrize=False) -> torch.Tensor:
    """WIS singleton scores s_t = WI_{L-1,t}({t}) for a depth-L GNN: ``(Â^L)_tt``, 0 for isolated t."""
    graph = Graph.from_input(edge_index, num_nodes, require_undirected=True, symmetrize=symmetrize)
    depth = check_int("depth", depth, 1)
    s = ops.closed_walk_counts(graph.rowptr, graph.col, depth)
    return torch.where(graph.rowptr.diff() > 0, s, torch.zeros_like(s))
