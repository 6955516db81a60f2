"""Walk Index Sparsification (WIS), definitions §2.

(L-1)-WIS removes, one edge per step, the undirected edge whose removal leaves the ascending-sorted
vector of singleton scores s_t = WI_{L-1,t}({t}) lexicographically largest; ties go to the smallest
(min(u, v), max(u, v)). For L = 2 (1-WIS) s_t = deg(t) + 1 (0 when isolated) and the step is the edge
maximising (min(deg u, deg v), max(deg u, deg v)): the native op runs it exactly with a lazy heap. For
L >= 3 the native op ranks candidates by their local score deltas and re-keys only the candidates near
each removed edge (csrc/ops/cpu/wis_walk_engine.h); nothing dense, no matrix power.
"""

from __future__ import annotations

from typing import Callable

import torch

from .. import ops
from .arguments import check_int
from .container import Graph, GraphInput
from .eager import eager_only
from .guards import check_guards, warn_shortfall
from .progress import progress_reporter, run_cancellable
from .result import Removal, SparsifyResult, result_for_input


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


def wis(edge_index: GraphInput, num_nodes: int | None, num_remove: int, depth: int = 2, *, chunk_size: int = 1,
        symmetrize: bool = False, progress: bool | Callable[[int, int], None] | None = None, min_degree: int = 0,
        keep_connected: bool = False) -> SparsifyResult:
    """(depth-1)-Walk Index Sparsification: remove ``num_remove`` edges greedily (definitions §2).

    Args:
        edge_index: ``[2, m]`` int64 of an undirected graph (both directions present), or a PyG
            ``Data`` / scipy / networkx / :class:`Graph`. Directed input raises ``ValueError`` unless
            ``symmetrize=True``. Self-loops are ignored and duplicates merged.
        num_nodes: vertex count (None: inferred).
        num_remove: undirected edges to remove, ``0 <= num_remove <= #edges``; the removal order is a
            prefix-consistent ranking, so ``num_remove = #edges`` gives every sparsity level at once.
        depth: GNN depth L >= 2 (L = 2 is 1-WIS, L = 3 is 2-WIS, ...). Exact for every L; L = 2 and 3 are
            fast (O(m log m) and local updates), larger L re-scores candidates within distance L of
            each removed edge, which is practical on graphs up to tens of thousands of edges.
        chunk_size: 1 (default) is the exact greedy. > 1 is the published code's *approximation*:
            score once, remove the best ``chunk_size`` edges, rescore. Only for depth=2.
        progress: None (silent), True (a tqdm bar when tqdm is installed, else a line on stderr), or a
            callable ``progress(done, total)`` called a few times per second from the calling thread.
        min_degree, keep_connected: the guards of :func:`rankcore.sparsify` (the greedy skips the edges they
            forbid; fewer than ``num_remove`` edges and a GuardShortfallWarning when they forbid the rest).

    Returns:
        :class:`SparsifyResult`; ``edge_index`` keeps the input's column order.

    Raises:
        OverflowError: a closed-walk count of the scores exceeds int64 (very deep L on dense graphs).
    """
    graph = Graph.from_input(edge_index, num_nodes, require_undirected=True, symmetrize=symmetrize)
    num_edges = graph.num_edges // 2
    num_remove = check_int("num_remove", num_remove, 0)
    if num_remove > num_edges:
        raise ValueError(f"num_remove={num_remove} exceeds the {num_edges} undirected edges of the graph")
    min_degree, keep_connected = check_guards(min_degree, keep_connected)
    removal = wis_order(graph, num_remove, depth, chunk_size=chunk_size, progress=progress, min_degree=min_degree,
                        keep_connected=keep_connected)
    warn_shortfall("wis", num_remove, removal.edges.shape[0], min_degree, keep_connected)
    # keep_mask refers to the caller's own columns (tensor, array, list or Data), never the CSR order.
    return result_for_input(edge_index, graph, removal.edges, removal.ids)


@eager_only  # a worker thread and a native greedy: nothing to compile; errors stay Python's
def wis_order(graph: Graph, num_remove: int, depth=2, *, chunk_size=1, progress=None, min_degree: int = 0,
              keep_connected: bool = False) -> Removal:
    """The first ``num_remove`` edges of the (depth-1)-WIS removal order of an undirected :class:`Graph`:
    ``Removal(edges [num_remove, 2] int64 (u < v) on the CPU, their ids in Graph.undirected_edges() or None
    for the chunked approximation)``. :func:`wis` without the mapping back to input columns."""
    depth = check_int("depth", depth, 2)
    chunk_size = check_int("chunk_size", chunk_size, 1)
    if chunk_size > 1 and depth != 2:
        raise ValueError(f"chunk_size > 1 (the published approximation) is available for depth=2 only; "
                         f"depth={depth} runs the exact greedy with chunk_size=1")
    if chunk_size > 1 and (min_degree or keep_connected):
        raise ValueError("chunk_size > 1 (the published approximation) takes no guards; min_degree / keep_connected "
                         "run with the exact greedy (chunk_size=1)")
    graph_cpu = graph.to("cpu")
    report, close = progress_reporter(progress, num_remove)
    try:
        if chunk_size == 1:
            return Removal(*run_cancellable(
                lambda counter: ops.wis_greedy(graph_cpu.rowptr, graph_cpu.col, num_remove, depth, counter,
                                               min_degree, keep_connected), report))
        return Removal(_degree_chunked(graph_cpu, num_remove, chunk_size), None)
    finally:
        if close is not None:
            close()
