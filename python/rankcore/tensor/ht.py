"""Hierarchical tensor (HT) factorization as an ``nn.Module`` (DESIGN section 3).

A deep convolutional arithmetic circuit over a mode tree: leaves a_n = U_n[i_n, :], at each node
product pooling h = prod_children a_c and a node-specific linear map a = h W_node, output <h_root, w>.

Layout: the nodes of each level are stored in tree order, so a node's children are contiguous in the
level below; activations are node-major [K, B, R]. A forward is then one fused leaf gather + pooling
(:func:`rankcore.ops.ht_leaf_pool`), and per level one ``bmm`` for the node maps and one fused
:func:`rankcore.ops.ht_pool` — no one-hot inputs and no permutation copies of activations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..ops import ht_leaf_pool, ht_pool

MAX_FULL_ENTRIES = 20_000_000


def default_tree(order: int, pool_size: int = 2):
    """Consecutive modes pooled in windows of ``pool_size`` at every level (ragged remainders too).

    ``default_tree(5, 2)`` is ``(((0, 1), (2, 3)), ((4,),))``: every leaf sits at the same depth, a
    remainder forms its own (smaller) node.
    """
    if order < 1:
        raise ValueError(f"default_tree: order must be >= 1, got {order}")
    if pool_size < 2:
        raise ValueError(f"default_tree: pool_size must be >= 2, got {pool_size}")
    level = list(range(order))
    while True:
        level = [tuple(level[s:s + pool_size]) for s in range(0, len(level), pool_size)]
        if len(level) == 1:
            return level[0]


class ModeTree:
    """A mode tree (nested tuples, leaves are mode ints) flattened into levels.

    ``levels[l]`` (l = 0 .. L-1) lists the nodes of level l + 1 in tree order; ``levels[-1]`` is
    ``[root]``. ``leaf_modes`` are the modes in tree order and ``offsets[l]`` the CSR boundaries of the
    children of level l + 1's nodes in the level below (level 0 = the leaves).
    """

    def __init__(self, tree, order: int):
        tree = _normalise(tree)
        if isinstance(tree, int):
            raise ValueError("tree: the root must be a node (a tuple of children), not a single mode")
        modes = _leaves(tree)
        if sorted(modes) != list(range(order)):
            raise ValueError(f"tree: every mode 0..{order - 1} must appear exactly once, got modes {sorted(modes)}")
        depths = set(_leaf_depths(tree, 0))
        if len(depths) != 1:
            raise ValueError(f"tree: every leaf must sit at the same depth (got depths {sorted(depths)}); "
                             "wrap a shallow leaf in a one-child node, e.g. 3 -> (3,)")
        self.tree, self.order = tree, order
        self.depth = depths.pop()  # number of levels L
        levels = [[tree]]
        for _ in range(self.depth - 1):
            levels.append([c for node in levels[-1] for c in node])
        levels.reverse()  # levels[0] = level 1 (parents of leaves), levels[-1] = [root]
        self.levels = levels
        self.leaf_modes = [c for node in levels[0] for c in node]
        self.offsets = []
        for nodes in levels:
            off = [0]
            for node in nodes:
                off.append(off[-1] + len(node))
            self.offsets.append(off)

    def nodes(self):
        """Every node except the root, bottom-up: the leaves (ints) first, then each level's nodes."""
        out = list(self.leaf_modes)
        for nodes in self.levels[:-1]:
            out.extend(nodes)
        return out


def _normalise(tree):
    if isinstance(tree, bool):
        raise TypeError("tree: leaves must be ints (modes), got a bool")
    if isinstance(tree, int):
        return int(tree)
    if isinstance(tree, (list, tuple)):
        if len(tree) == 0:
            raise ValueError("tree: a node must have at least one child")
        return tuple(_normalise(c) for c in tree)
    raise TypeError(f"tree: expected nested tuples/lists of ints, got {type(tree).__name__}")


def _leaves(tree):
    return [tree] if isinstance(tree, int) else [m for c in tree for m in _leaves(c)]


def _leaf_depths(tree, d):
    return [d] if isinstance(tree, int) else [x for c in tree for x in _leaf_depths(c, d + 1)]


def node_modes(node) -> tuple[int, ...]:
    """The modes a tree node covers, sorted."""
    return tuple(sorted(_leaves(node)))


class HTFactorization(nn.Module):
    """Hierarchical tensor factorization of a tensor of ``shape`` over a mode tree.

    ``ranks``: widths R_1..R_L (one per level; an int means the same width everywhere). Leaves
    U_n: [d_n, R_1]; the nodes of level l < L: W stacked as ``maps[l - 1]`` [K_l, R_l, R_{l+1}];
    the root vector ``root``: [R_L]. Parameters start N(0, init_std^2) (small init: the implicit
    low-hierarchical-rank regime). ``tree`` defaults to :func:`default_tree` (order, pool_size).
    """

    def __init__(self, shape: Sequence[int], ranks, pool_size: int = 2, tree=None, *, init_std: float = 1e-2,
                 dtype: torch.dtype = torch.float32, device=None, generator: torch.Generator | None = None):
        super().__init__()
        shape = tuple(int(d) for d in shape)
        if not shape or any(d < 1 for d in shape):
            raise ValueError(f"HTFactorization: shape must be a non-empty list of positive dims, got {shape}")
        if not init_std >= 0:
            raise ValueError(f"HTFactorization: init_std must be >= 0, got {init_std}")
        if tree is None:
            if int(pool_size) < 2:
                raise ValueError(f"HTFactorization: pool_size must be >= 2, got {pool_size}")
            tree = default_tree(len(shape), int(pool_size))
        self.mode_tree = ModeTree(tree, len(shape))
        L = self.mode_tree.depth
        if isinstance(ranks, int):
            ranks = (ranks,) * L
        ranks = tuple(int(r) for r in ranks)
        if len(ranks) != L or any(r < 1 for r in ranks):
            raise ValueError(f"HTFactorization: ranks must be {L} positive widths (one per tree level), got {ranks}")
        self.shape, self.ranks = shape, ranks

        def param(*size):
            return nn.Parameter((torch.randn(*size, generator=generator, dtype=dtype) * init_std).to(device))

        self.leaves = nn.ParameterList([param(d, ranks[0]) for d in shape])
        self.maps = nn.ParameterList([param(len(self.mode_tree.levels[l]), ranks[l], ranks[l + 1])
                                      for l in range(L - 1)])
        self.root = param(ranks[-1])

    @property
    def order(self) -> int:
        return len(self.shape)

    @property
    def tree(self):
        return self.mode_tree.tree

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        """Entries at ``indices`` ([B, N] int64) -> [B], differentiable in every parameter."""
        if not isinstance(indices, torch.Tensor) or indices.dtype != torch.int64:
            raise TypeError("HTFactorization: indices must be an int64 tensor [B, N]")
        if indices.dim() != 2 or indices.shape[1] != self.order:
            raise ValueError(f"HTFactorization: indices must be [B, {self.order}], got {tuple(indices.shape)}")
        t = self.mode_tree
        h = ht_leaf_pool(list(self.leaves), indices, t.leaf_modes, t.offsets[0])  # [K_1, B, R_1]
        for l, w in enumerate(self.maps):
            h = ht_pool(torch.bmm(h, w), t.offsets[l + 1])  # [K_{l+2}, B, R_{l+2}]
        return h[0] @ self.root

    def node_maps(self) -> dict:
        """{node (nested tuple): W [R_l, R_{l+1}]} for every internal non-root node."""
        return {node: self.maps[l][k] for l in range(len(self.maps))
                for k, node in enumerate(self.mode_tree.levels[l])}

    def tensor(self) -> torch.Tensor:
        """The full tensor [d_1, ..., d_N] (differentiable). Only for small shapes."""
        entries = math.prod(self.shape)
        if entries * max(self.ranks) > MAX_FULL_ENTRIES:
            raise ValueError(f"HTFactorization.tensor: {entries} entries x width {max(self.ranks)} is too large "
                             f"to materialise (limit {MAX_FULL_ENTRIES}); evaluate entries with forward(indices)")
        grids = torch.meshgrid(*[torch.arange(d, device=self.root.device) for d in self.shape], indexing="ij")
        return self(torch.stack([g.reshape(-1) for g in grids], dim=1)).reshape(self.shape)

    def local_component_norms(self) -> list[torch.Tensor]:
        """Per level l = 1..L: [K_l, R_l] norms of the local components (node nu, r) (no gradient).

        norm(nu, r) = prod_{c child of nu} ||column r of c's map|| * ||row r of W_nu|| (|w[r]| at the
        root); a child's map is U_n for a leaf and W_c for an internal node.
        """
        t = self.mode_tree
        with torch.no_grad():
            # Column norms of the maps feeding each level, in the level-below's node order.
            below = torch.stack([self.leaves[m].norm(dim=0) for m in t.leaf_modes])  # [N, R_1]
            out = []
            for l, nodes in enumerate(t.levels):
                logs = torch.stack([below[t.offsets[l][k]:t.offsets[l][k + 1]].log().sum(0)
                                    for k in range(len(nodes))])  # [K_l, R_l]
                own = self.maps[l].norm(dim=2) if l < len(self.maps) else self.root.abs().unsqueeze(0)
                out.append((logs.exp() * own))
                if l < len(self.maps):
                    below = self.maps[l].norm(dim=1)  # [K_l, R_{l+1}]: column norms of this level's maps
            return out

    def component_norms(self) -> torch.Tensor:
        """All local component norms, flattened (what :func:`rankcore.tensor.train` tracks)."""
        return torch.cat([n.reshape(-1) for n in self.local_component_norms()])
