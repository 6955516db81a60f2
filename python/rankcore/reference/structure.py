"""References for the graph-structure ops: common neighbours and closed walk counts, from the definitions."""

from __future__ import annotations

import numpy as np
import torch

from .walks import INT64_MAX, edge_pairs


def _neighbour_sets(edge_index, num_nodes: int) -> list[set[int]]:
    """N(t) of the simple undirected graph: both directions of every non-loop input edge."""
    nbrs = [set() for _ in range(num_nodes)]
    for u, v in edge_pairs(edge_index):
        if u != v:
            nbrs[u].add(v)
            nbrs[v].add(u)
    return nbrs


def edge_common_neighbors_reference(edge_index, num_nodes: int) -> torch.Tensor:
    """|N(u) ∩ N(v)| for every input column (u, v) (a loop column (u, u) gets |N(u)|)."""
    nbrs = _neighbour_sets(edge_index, num_nodes)
    return torch.tensor([len(nbrs[u] & nbrs[v]) for u, v in edge_pairs(edge_index)], dtype=torch.int64)


def closed_walk_counts_reference(edge_index, num_nodes: int, length: int) -> torch.Tensor:
    """(Â^L)_tt for every t with Â = A + I of the undirected graph, as exact Python ints.

    Raises OverflowError when a diagonal entry exceeds int64.
    """
    nbrs = _neighbour_sets(edge_index, num_nodes)
    a_hat = np.identity(num_nodes, dtype=object)
    for t, ns in enumerate(nbrs):
        for j in ns:
            a_hat[t, j] = 1
    power = np.identity(num_nodes, dtype=object)
    for _ in range(length):
        power = power.dot(a_hat)
    diag = [int(power[t, t]) for t in range(num_nodes)]
    if diag and max(diag) > INT64_MAX:
        raise OverflowError(f"closed walk counts of length {length} exceed int64")
    return torch.tensor(diag, dtype=torch.int64)
