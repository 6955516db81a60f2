"""Hierarchical tensor (HT) factorization as an ``nn.Module`` (definitions §3).

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

from ..graph.arguments import check_int
from ..ops import ht_leaf_pool, ht_pool
from ._indices import check_indices_in_range

MAX_FULL_ENTRIES = 20_000_000


def default_tree(order: int, pool_size: int = 2):
    """Consecutive modes pooled in windows of ``pool_size`` at every level (ragged remainders too).

    ``default_tree(5, 2)`` is ``(((0, 1), (2, 3)), ((4,),))``: every leaf sits at the same depth, a
    remainder forms its own (smaller) node.
    """
    # check_int: a float order failed in range() with Python's message, a float pool_size in the slices
    order = check_int("default_tree: order", order, 1)
    pool_size = check_int("default_tree: pool_size", pool_size, 2)
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


def _mixed_radix(digits: torch.Tensor, radices: list[int], offsets: list[int]) -> torch.Tensor:
    """[B, J]: group j's digits ``digits[:, offsets[j]:offsets[j + 1]]`` read as one number (row-major:
    the first digit most significant), column c having radix ``radices[c]``."""
    batch, groups = digits.shape[0], len(offsets) - 1
    widths = {offsets[j + 1] - offsets[j] for j in range(groups)}
    if len(widths) == 1:  # equal groups: one strided multiply-add
        strides = [math.prod(radices[c + 1:offsets[j + 1]]) for j in range(groups) for c in range(offsets[j], offsets[j + 1])]
        return (digits * torch.tensor(strides, device=digits.device)).view(batch, groups, widths.pop()).sum(-1)
    out = torch.zeros(batch, groups, dtype=torch.int64, device=digits.device)
    for j in range(groups):
        for c in range(offsets[j], offsets[j + 1]):
            out[:, j].mul_(radices[c]).add_(digits[:, c])
    return out


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
        # check_int, not int(): a dim of 3.7 or a width of 2.5 was silently truncated (or 2.5: "'float' object is
        # not iterable")
        shape = tuple(check_int("HTFactorization: shape entries", d, 1) for d in shape)
        if not shape:
            raise ValueError(f"HTFactorization: shape must be a non-empty list of positive dims, got {shape}")
        if not 0 <= init_std < math.inf:
            raise ValueError(f"HTFactorization: init_std must be finite and >= 0, got {init_std}")
        if tree is None:
            tree = default_tree(len(shape), check_int("HTFactorization: pool_size", pool_size, 2))
        self.mode_tree = ModeTree(tree, len(shape))
        L = self.mode_tree.depth
        try:
            ranks = tuple(ranks)
        except TypeError:  # one width for every level
            ranks = (ranks,) * L
        ranks = tuple(check_int("HTFactorization: ranks", r, 1) for r in ranks)
        if len(ranks) != L:
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
        # The shortcuts branch on the data (range check, distinct counts): not while torch.compile traces.
        tables = not torch.compiler.is_compiling() and self._tables_pay(indices.shape[0], indices.device)
        return self._forward(indices, level1_tables=tables, level2_distinct=tables and self._distinct_pays(indices))

    def _tables_pay(self, batch: int, device: torch.device | str = "cpu") -> bool:
        """Level-1 tables replace the level-1 GEMM (B x R_1 x R_2 per node) with a table of every index
        combination (S x R_1 x R_2, S = product of the node's leaf dims): worth it when S <= B / 2, on
        the CPU. Not on a GPU: there the GEMM is cheap, while the tables' backward piles B atomic adds
        onto S rows and the range check synchronises (H100, issue-6 shape: 5.5 ms vs 3.7 ms per step)."""
        return torch.device(device).type == "cpu" and len(self.maps) > 0 and 2 * max(self._level1_sizes()) <= batch

    def _level1_sizes(self) -> list[int]:
        return [math.prod([self.shape[m] for m in node]) for node in self.mode_tree.levels[0]]

    def _forward(self, indices: torch.Tensor, level1_tables: bool, level2_distinct: bool = False) -> torch.Tensor:
        """The forward with its shortcuts chosen by the caller (tests run every combination)."""
        t = self.mode_tree
        maps = list(self.maps)
        if level1_tables:
            # Level-1 node nu's output a_nu = (prod_c U_c[i_c]) W_nu depends on its leaves' indices only:
            # tabulate it for every combination once, then level 2 pools rows of the tables (the same
            # fused gather + pooling op, with tables as leaves and combination numbers as indices).
            combos = self._level1_combinations(indices)  # [B, K_1]
            tables = self._level1_tables()  # K_1 tensors [S_nu, R_2]
            if level2_distinct:
                h = self._level2_over_distinct(tables, combos)  # [K_3, B, R_3]
                first = 2
            else:
                h = ht_leaf_pool(tables, combos, list(range(len(tables))), t.offsets[1])  # [K_2, B, R_2]
                first = 1
        else:
            h = ht_leaf_pool(list(self.leaves), indices, t.leaf_modes, t.offsets[0])  # [K_1, B, R_1]
            first = 0
        last = len(maps) - 1
        for l in range(first, len(maps)):
            if l == last and h.shape[0] == 2:
                # A root with two children: out = <(h_1 W_1) * (h_2 W_2), w> = h_1^T (W_1 diag(w) W_2^T) h_2,
                # one GEMM with a small [R, R] matrix instead of two (and 3 instead of 6 with the backward).
                bilinear = (maps[l][0] * self.root) @ maps[l][1].T
                left, right = h.unbind(0)  # (h[0], h[1] would each zero-fill a full-size gradient)
                return ((left @ bilinear) * right).sum(-1)
            h = ht_pool(torch.bmm(h, maps[l]), t.offsets[l + 1])  # [K_{l+2}, B, R_{l+2}]
        return h[0] @ self.root

    def _distinct_pays(self, indices: torch.Tensor) -> bool:
        """Level 2 over distinct combinations only: when a level-2 node's combinations (S_2 = product of
        its children's table sizes) number at most B, a batch repeats about 1 - (1 - e^{-B/S_2}) S_2 / B
        of them (>= 37%), and the level-2 GEMM and its backward shrink by that much. CPU only: on a GPU
        ``unique`` costs a synchronisation. Not when level 2 feeds a two-child root (bilinear form)."""
        if indices.device.type != "cpu" or not self._distinct_possible():
            return False
        return max(self._level2_sizes()) <= indices.shape[0]

    def _level2_sizes(self) -> list[int]:
        """Combinations per level-2 node: the product of its children's table sizes."""
        sizes, off = self._level1_sizes(), self.mode_tree.offsets[1]
        return [math.prod(sizes[off[j]:off[j + 1]]) for j in range(len(off) - 1)]

    def _distinct_possible(self) -> bool:
        t = self.mode_tree
        return len(self.maps) >= 2 and not (len(self.maps) == 2 and len(t.levels[1]) == 2)

    def _level2_over_distinct(self, tables: list[torch.Tensor], combos: torch.Tensor) -> torch.Tensor:
        """Level-2 pooling + map on each node's distinct table-row combinations, then the level-3 pooling
        gathers the results per item (fused: the level-2 outputs are the 'leaves' of ht_leaf_pool)."""
        t = self.mode_tree
        sizes = self._level1_sizes()
        B, K1, K2 = combos.shape[0], len(t.levels[0]), len(t.levels[1])
        keys = _mixed_radix(combos, sizes, t.offsets[1])  # [B, K_2]: node j's combination number
        space = max(self._level2_sizes())
        # Distinct keys per node by marking a [K_2, S_2] table (S_2 <= B here), no sort: a key's rank
        # among the node's present keys is its row in the distinct set.
        present = torch.zeros(K2, space, dtype=torch.bool, device=combos.device)
        present[torch.arange(K2, device=combos.device).expand(B, K2), keys] = True
        rank = present.cumsum(1) - 1  # [K_2, S_2]
        inverse = rank.gather(1, keys.T).T  # [B, K_2]
        node, key = present.nonzero().unbind(1)
        distinct_keys = torch.zeros(K2, int(rank[:, -1].max()) + 1, dtype=torch.int64, device=combos.device)
        distinct_keys[node, rank[node, key]] = key  # nodes with fewer distinct keys keep row 0 as padding
        # Rows [U_max, K_1]: column k holds level-1 node k's table row for each distinct key of its parent.
        rows = torch.empty(distinct_keys.shape[1], K1, dtype=torch.int64, device=combos.device)
        for j in range(K2):
            rest = distinct_keys[j]
            for k in range(t.offsets[1][j + 1] - 1, t.offsets[1][j] - 1, -1):
                rows[:, k] = rest % sizes[k]
                rest = rest // sizes[k]
        h = ht_leaf_pool(tables, rows, list(range(K1)), t.offsets[1])  # [K_2, U_max, R_2]
        a = torch.bmm(h, self.maps[1])  # [K_2, U_max, R_3]
        return ht_leaf_pool(list(a.unbind(0)), inverse, list(range(K2)), t.offsets[2])  # [K_3, B, R_3]

    def _level1_combinations(self, indices: torch.Tensor) -> torch.Tensor:
        """[B, K_1] row numbers into the level-1 tables (row-major over the node's leaves in tree order).

        The indices are range-checked first: a combined number could land in range for a wrong entry."""
        check_indices_in_range(indices, self.shape, "HTFactorization",
                               lambda n: f"leaves[{n}] with {self.shape[n]} rows")
        t = self.mode_tree
        return _mixed_radix(indices[:, t.leaf_modes], [self.shape[m] for m in t.leaf_modes], t.offsets[0])

    def _level1_tables(self) -> list[torch.Tensor]:
        """Per level-1 node: [S_nu, R_2] = (Khatri-Rao product of its leaves' rows) @ W_nu."""
        t, w = self.mode_tree, self.maps[0]
        products = []
        for node in t.levels[0]:
            p = self.leaves[node[0]]
            for m in node[1:]:
                p = (p.unsqueeze(1) * self.leaves[m].unsqueeze(0)).reshape(-1, p.shape[-1])
            products.append(p)
        if len({p.shape[0] for p in products}) == 1:
            return list(torch.bmm(torch.stack(products), w).unbind(0))
        return [p @ w[k] for k, p in enumerate(products)]

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
