"""Walk Index Sparsification (WIS), DESIGN section 2.

(L-1)-WIS removes, one edge per step, the undirected edge whose removal leaves the ascending-sorted
vector of singleton scores s_t = WI_{L-1,t}({t}) lexicographically largest; ties go to the smallest
(min(u, v), max(u, v)). For L = 2 (1-WIS) s_t = deg(t) + 1 (0 when isolated) and the step is the edge
maximising (min(deg u, deg v), max(deg u, deg v)): the native op runs it exactly with a lazy heap.
"""

from __future__ import annotations

from dataclasses import dataclass
import torch

from .. import ops
from .container import Graph
from .walks import _check_int


@dataclass(frozen=True)
class SparsifyResult:
    """What every sparsifier returns.

    Attributes:
        removed: ``[N, 2]`` int64, the removed undirected edges (u < v) in removal order.
        keep_mask: bool over the input ``edge_index`` columns; False exactly where the column's
            undirected edge was removed (input self-loop columns stay True).
        edge_index: ``input_edge_index[:, keep_mask]``, input column order preserved.
    """

    removed: torch.Tensor
    keep_mask: torch.Tensor
    edge_index: torch.Tensor


def _undirected_keys(edge_index: torch.Tensor, n: int) -> torch.Tensor:
    lo = torch.minimum(edge_index[0], edge_index[1])
    hi = torch.maximum(edge_index[0], edge_index[1])
    return lo * n + hi


def make_result(edge_index: torch.Tensor, num_nodes: int, removed: torch.Tensor) -> SparsifyResult:
    """Build the SparsifyResult for ``removed`` ([N, 2], u < v) against the input columns."""
    n = max(num_nodes, 1)
    removed_keys = removed[:, 0] * n + removed[:, 1]
    column_keys = _undirected_keys(edge_index, n)
    is_loop = edge_index[0] == edge_index[1]
    keep = ~torch.isin(column_keys, removed_keys) | is_loop
    return SparsifyResult(removed=removed, keep_mask=keep, edge_index=edge_index[:, keep])


def _degree_chunked(graph: Graph, num_remove: int, chunk_size: int) -> torch.Tensor:
    """The published code's approximation: score once, remove the top `chunk_size`, repeat."""
    n = graph.num_nodes
    ei = graph.edge_index()
    upper = ei[0] < ei[1]
    u, v = ei[0][upper], ei[1][upper]
    order = torch.argsort(u * n + v)  # ids in (u, v) order: the tie rule
    u, v = u[order], v[order]
    alive = torch.ones(u.numel(), dtype=torch.bool)
    deg = graph.degree().clone()
    removed = []
    while len(removed) < num_remove:
        ids = alive.nonzero().flatten()
        du, dv = deg[u[ids]], deg[v[ids]]
        low, high = torch.minimum(du, dv), torch.maximum(du, dv)
        # sort by (low desc, high desc, id asc): a stable sort per key, least significant first
        perm = torch.argsort(high, descending=True, stable=True)
        perm = perm[torch.argsort(low[perm], descending=True, stable=True)]
        take = ids[perm[: min(chunk_size, num_remove - len(removed))]]
        alive[take] = False
        deg.index_add_(0, u[take], torch.full_like(take, -1))
        deg.index_add_(0, v[take], torch.full_like(take, -1))
        removed.extend(zip(u[take].tolist(), v[take].tolist()))
    return torch.tensor(removed, dtype=torch.int64).reshape(-1, 2)


def wis(edge_index, num_nodes, num_remove, depth=2, *, chunk_size=1, symmetrize=False) -> SparsifyResult:
    """(depth-1)-Walk Index Sparsification: remove ``num_remove`` edges greedily (DESIGN section 2).

    Args:
        edge_index: ``[2, m]`` int64 of an undirected graph (both directions present), or a PyG
            ``Data`` / scipy / networkx / :class:`Graph`. Directed input raises ``ValueError`` unless
            ``symmetrize=True``. Self-loops are ignored and duplicates merged.
        num_nodes: vertex count (None: inferred).
        num_remove: undirected edges to remove, ``0 <= num_remove <= #edges``; the removal order is a
            prefix-consistent ranking, so ``num_remove = #edges`` gives every sparsity level at once.
        depth: GNN depth L >= 2 (L = 2 is 1-WIS). Only L = 2 is implemented so far.
        chunk_size: 1 (default) is the exact greedy. > 1 is the published code's *approximation*:
            score once, remove the best ``chunk_size`` edges, rescore.

    Returns:
        :class:`SparsifyResult`; ``edge_index`` keeps the input's column order.
    """
    graph = Graph.from_input(edge_index, num_nodes, require_undirected=True, symmetrize=symmetrize)
    # keep_mask refers to the caller's columns: the edge_index they passed (or their Data's);
    # other formats (scipy, networkx, Graph) have no columns of their own, so the normalised ones.
    original = getattr(edge_index, "edge_index", edge_index)
    original = original.to(torch.int64) if isinstance(original, torch.Tensor) else graph.edge_index()
    num_edges = graph.num_edges // 2
    num_remove = _check_int("num_remove", num_remove, 0)
    if num_remove > num_edges:
        raise ValueError(f"num_remove={num_remove} exceeds the {num_edges} undirected edges of the graph")
    depth = _check_int("depth", depth, 2)
    chunk_size = _check_int("chunk_size", chunk_size, 1)
    if depth != 2:
        raise NotImplementedError(
            f"exact WIS is implemented for depth=2 (1-WIS) only so far; depth={depth} is not available yet")
    graph_cpu = graph.to("cpu")
    if chunk_size == 1:
        removed = ops.wis_degree_greedy(graph_cpu.rowptr, graph_cpu.col, num_remove)
    else:
        removed = _degree_chunked(graph_cpu, num_remove, chunk_size)
    return make_result(original, graph.num_nodes, removed.to(original.device))
