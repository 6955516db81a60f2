"""Hierarchical tensor factorization written straight from definitions §3 (the tests' oracle).

Recursion over the nested mode tree itself: a leaf (an int n) gives a_n = U_n[i_n, :]; an internal
node gives h = elementwise product of its children's a_c, then a = h @ W_node, and the root returns
<h_root, w>. Parameters are looked up by node: ``maps[node]`` for every internal non-root node (the
node being the nested tuple itself).
"""

from __future__ import annotations

import torch


def ht_eval(tree, leaves, maps: dict, root, indices: torch.Tensor) -> torch.Tensor:
    """Entries of the HT tensor at ``indices`` ([B, N]) -> [B]."""

    def a(node):
        if isinstance(node, int):
            return leaves[node][indices[:, node]]
        h = None
        for child in node:
            h = a(child) if h is None else h * a(child)
        return h @ maps[node]

    h = None
    for child in tree:
        h = a(child) if h is None else h * a(child)
    return h @ root


def ht_full(tree, leaves, maps: dict, root) -> torch.Tensor:
    """The full tensor [d_1, ..., d_N], one entry per multi-index (small shapes only)."""
    shape = [u.shape[0] for u in leaves]
    grids = torch.meshgrid(*[torch.arange(d) for d in shape], indexing="ij")
    indices = torch.stack([g.reshape(-1) for g in grids], dim=1)
    return ht_eval(tree, leaves, maps, root, indices).reshape(shape)
