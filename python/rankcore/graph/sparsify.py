"""One entry point for every edge sparsifier: :func:`sparsify` (definitions §2).

Every method produces a removal ORDER over the undirected edges {u, v} (u < v) of the simple graph, so
any prefix is a sparsified graph and one full order serves every ratio. Methods:

* ``"wis"``: (depth-1)-Walk Index Sparsification, exact greedy (:func:`rankcore.wis`).
* ``"random"``: a seeded uniform permutation of the edges.
* ``"spectral"``: Spielman–Srivastava effective-resistance sampling. R_e is estimated with a
  Johnson–Lindenstrauss sketch (Spielman & Srivastava 2008, section 4): Z = Q B L^+ with Q a k x m
  random ±1/sqrt(k) matrix, so R_uv ≈ ||Z[:, u] - Z[:, v]||². Each of the k rows is one solve of the
  grounded Laplacian (one vertex per connected component pinned to 0; the solution differs from L^+'s
  by a per-component constant, which cancels in Z[:, u] - Z[:, v]). The solves run in blocks of rows as
  block conjugate gradients preconditioned by an aggregation AMG V-cycle (pyamg; Jacobi without it), so
  memory is O(n * block + m), nothing n x k, k x m or n x n (:func:`effective_resistances`). The order:
  spectral sparsification keeps edge e with probability ∝ R_e, so the edges to KEEP are a weighted
  sample without replacement (Efraimidis–Spirakis keys log(U_e) / R_e, seeded) and the removal order is
  the keys ascending: every prefix's complement is such a sample. ``order="resistance"`` gives the
  deterministic variant (R_e ascending: low-resistance, well-connected edges go first).
* ``"local_degree"``: NetworKit's Local Degree score (Lindner, Staudt & Hamann, "Structure-preserving
  sparsification of social networks", 2015; NetworKit ``LocalDegreeScore``): every vertex i of degree d
  ranks its neighbours j with deg(j) > d by degree, descending (rank 1, 2, ...; equal degrees: smaller id
  first, NetworKit leaves that order unspecified) and gives edge {i, j} the exponent 1 - log(rank)/log(d)
  (1 when d = 1); an edge's score is the max over its two endpoints, 0 when neither endpoint has a
  higher-degree neighbour across it. Edges are removed by score ascending (least important first), ties
  by (u, v).
* ``"k_neighbor"``: the K-neighbour sparsifier (every vertex keeps its k first edges by a seeded random
  or a neighbour-degree preference, an edge survives when either endpoint keeps it); one order serves
  every k, and ``k=`` removes exactly the edges no endpoint keeps (:mod:`rankcore.graph.baselines`).
* ``"degree"``: the one-shot degree score 1/d_u + 1/d_v, lowest (hub-hub edges) first, ties by (u, v)
  (:mod:`rankcore.graph.baselines`).

All methods need an undirected graph (both directions present) unless ``symmetrize=True``; input
self-loops are ignored and duplicates merged, as everywhere in rankcore.

Guards, for every method (definitions §2): ``min_degree=k`` never takes a vertex below min(k, its degree);
``keep_connected=True`` never splits a connected component. The method's candidates are taken best first and
a candidate the guards forbid is skipped (for WIS inside the exact greedy, whose keys and tie rule are
otherwise unchanged; csrc/ops/cpu/removal_guards.h). When the guards leave fewer removable edges than asked
for, the result holds the ones they allow and a :class:`GuardShortfallWarning` says how many are missing.
"""

from __future__ import annotations

from typing import Callable

import torch

from .. import ops
from .container import Graph, GraphInput
from .arguments import check_int, check_seed, removal_count
from .progress import check_progress
from .guards import GuardShortfallWarning, check_guards, warn_shortfall  # noqa: F401  (GuardShortfallWarning: public)
from .result import Removal, SparsifyResult, result_for_input
from .wis import wis_order
from .baselines import degree_order, k_neighbor_budget_count, k_neighbor_order
from .spectral import ConvergenceError, effective_resistances, spectral_memory_bytes, spectral_order  # noqa: F401

METHODS = ("wis", "random", "spectral", "local_degree", "k_neighbor", "degree")


def _undirected_edges(graph: Graph) -> torch.Tensor:
    """[M, 2] int64, u < v, sorted by (u, v): the canonical edge list every order refers to (an order is a
    permutation of its ids)."""
    return graph.undirected_edges()[0]


def random_order(edges: torch.Tensor, seed: int) -> torch.Tensor:
    """Edge ids (rows of ``edges``) in removal order: a seeded uniform permutation."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randperm(edges.shape[0], generator=gen)


def local_degree_scores(graph: Graph, edges: torch.Tensor) -> torch.Tensor:
    """NetworKit's Local Degree score of every edge of ``edges`` ([M, 2], u < v: ``graph.undirected_edges()``),
    float64 [M]: each vertex i ranks its neighbours of larger degree, by degree descending then id; the r-th gets
    1 - log r / log deg(i) (rankcore::local_degree_scores, row by row on the CSR)."""
    if edges.shape[0] == 0:
        return torch.zeros(0, dtype=torch.float64)
    _, upper, mirror = graph.undirected_edges()
    return ops.local_degree_scores(graph.rowptr, graph.col, upper, mirror)


def local_degree_order(graph: Graph, edges: torch.Tensor) -> torch.Tensor:
    """Edge ids in removal order: Local Degree score ascending."""
    scores = local_degree_scores(graph, edges)
    # Scores lie in [0, 1] (1 - log r / log d with r <= d; never -0.0 or NaN), and non-negative doubles order
    # like their bit patterns: sorting the int64 view is torch's radix sort, 3.7x the float sort at 10M. Edges
    # are sorted by (u, v), so the stable sort breaks ties by (u, v).
    return torch.argsort(scores.view(torch.int64), stable=True)


def check_method(method, kw: dict) -> None:
    """``method`` is one of METHODS and ``kw`` holds only the options that method takes."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown sparsification method {method!r}; expected one of {', '.join(METHODS)}")
    allowed = {"wis": {"chunk_size"},
               "spectral": {"sketch_dim", "eps", "order", "block_size", "solver"},
               "k_neighbor": {"k", "score"}}.get(method, set())
    unknown = sorted(set(kw) - allowed)
    if unknown:
        raise TypeError(f"sparsify(method={method!r}) got unexpected keyword argument(s) {', '.join(unknown)}")


def removal_order(graph: Graph, method: str, num_remove: int, *, seed: int = 0, depth: int = 2, progress=None,
                  min_degree: int = 0, keep_connected: bool = False, **kw) -> Removal:
    """The first ``num_remove`` edges of ``method``'s removal order on a built undirected :class:`Graph`
    (arguments as :func:`sparsify`, already checked); :func:`sparsify` maps them onto the input's columns.
    For callers that hold the Graph already (the rankcore command). With guards the removal may be shorter
    than ``num_remove`` (the caller warns: :func:`warn_shortfall`)."""
    if method == "wis":
        return wis_order(graph, num_remove, depth, progress=progress, min_degree=min_degree,
                         keep_connected=keep_connected, **kw)
    graph_cpu = graph.to("cpu")
    edges = _undirected_edges(graph_cpu)
    if method == "random":
        order = random_order(edges, seed)
    elif method == "local_degree":
        order = local_degree_order(graph_cpu, edges)
    elif method == "k_neighbor":
        order, _ = k_neighbor_order(graph_cpu, edges, seed, **kw)
    elif method == "degree":
        order = degree_order(graph_cpu, edges)
    else:
        order = spectral_order(graph_cpu, edges, seed, progress=progress, **kw)
    ids = guarded_prefix(graph_cpu, edges, order, num_remove, min_degree, keep_connected)
    return Removal(edges[ids], ids)


def guarded_prefix(graph: Graph, edges: torch.Tensor, order: torch.Tensor, num_remove: int, min_degree: int = 0,
                   keep_connected: bool = False) -> torch.Tensor:
    """The first ``num_remove`` ids of ``order`` that the guards allow, walked in order (``order[:num_remove]``
    without guards): a fixed order under the guards, O(m) plus the bridge searches (ops.guarded_removal)."""
    if min_degree == 0 and not keep_connected:
        return order[:num_remove]
    return ops.guarded_removal(edges, graph.num_nodes, order, num_remove, min_degree, keep_connected)


def sparsify(edge_index: GraphInput, num_nodes: int | None = None, method: str = "wis", *,
             ratio: float | None = None, num_remove: int | None = None, seed: int = 0, depth: int = 2,
             symmetrize: bool = False, progress: bool | Callable[[int, int], None] | None = None,
             min_degree: int = 0, keep_connected: bool = False, **kw) -> SparsifyResult:
    """Remove a fraction ``ratio`` (or ``num_remove``) of the undirected edges with ``method``.

    Args:
        edge_index: ``[2, m]`` int64 of an undirected graph, or a PyG ``Data`` / scipy / networkx /
            :class:`Graph` (as :func:`rankcore.wis`).
        num_nodes: vertex count (None: inferred).
        method: ``"wis"``, ``"random"``, ``"spectral"``, ``"local_degree"``, ``"k_neighbor"`` or
            ``"degree"`` (module docstring).
        ratio: fraction of the undirected edges to remove, in [0, 1] (rounded half up to a count).
        num_remove: the number of undirected edges to remove; pass exactly one of the two (or, for
            ``"k_neighbor"`` only, neither of them and ``k``).
        seed: seeds the random methods (random, spectral, k_neighbor with score="random"); wis,
            local_degree, degree and k_neighbor with score="degree" are deterministic.
        depth: GNN depth L for ``"wis"`` ((L-1)-WIS; 2 = 1-WIS).
        symmetrize: add missing reverse edges instead of raising ``ValueError`` on directed input.
        progress: for ``"wis"`` and ``"spectral"``: None (silent), True (a tqdm bar) or a callable
            ``progress(done, total)`` (:func:`rankcore.wis`; spectral counts Laplacian solves).
        min_degree: guard, every method: no vertex loses edges below min(min_degree, its degree) (0: off).
        keep_connected: guard, every method: no removal splits a connected component (a bridge is kept).
            Guarded candidates are skipped; if fewer than the requested edges can go, the result holds
            those that can and a :class:`GuardShortfallWarning` is issued (module docstring).
        **kw: ``"spectral"``: ``sketch_dim`` (JL rows), ``eps`` (default 1.0), ``order``
            (``"sample"`` or ``"resistance"``), ``block_size`` (sketch rows solved together, default 32:
            memory O(n * block_size + m)), ``solver`` (``"auto"``, ``"amg"``, ``"jacobi"``;
            :func:`effective_resistances`); ``"wis"``: ``chunk_size``; ``"k_neighbor"``: ``score``
            (``"random"``, default, or ``"degree"``) and ``k`` (an int >= 1: remove exactly the edges that
            neither endpoint ranks among its first k, instead of ratio / num_remove).

    Returns:
        :class:`SparsifyResult` whose ``removed`` lists the removed edges in removal order (a prefix of
        the method's full order: ``ratio=1.0`` gives the whole order; with guards, the order of the
        allowed candidates).
    """
    check_method(method, kw)
    seed = check_seed(seed)
    min_degree, keep_connected = check_guards(min_degree, keep_connected)
    check_progress(progress)  # random, degree, ... never report: a bad value was silently ignored there
    depth = check_int("depth", depth, 2)  # only "wis" reads it, but depth="x" must not pass silently elsewhere
    budget = kw.pop("k", None)
    if budget is not None:  # k_neighbor's per-vertex budget fixes the count itself
        budget = check_int("k", budget, 1)
        if ratio is not None or num_remove is not None:
            raise ValueError("k_neighbor: pass either k (keep each vertex's first k edges) or ratio / num_remove, "
                             "not both")
    graph = Graph.from_input(edge_index, num_nodes, require_undirected=True, symmetrize=symmetrize)
    if budget is None:
        k = removal_count(graph.num_edges // 2, ratio, num_remove)
        removal = removal_order(graph, method, k, seed=seed, depth=depth, progress=progress, min_degree=min_degree,
                                keep_connected=keep_connected, **kw)
        warn_shortfall(method, k, removal.edges.shape[0], min_degree, keep_connected)
    else:  # the budget's removals under the guards: the guards may keep some of them (by design, no warning)
        graph_cpu = graph.to("cpu")
        edges = _undirected_edges(graph_cpu)
        order, best = k_neighbor_order(graph_cpu, edges, seed, **kw)
        count = k_neighbor_budget_count(best, budget)
        ids = guarded_prefix(graph_cpu, edges, order[:count], count, min_degree, keep_connected)
        removal = Removal(edges[ids], ids)
    # keep_mask refers to the caller's own columns (tensor, array, list or Data), never the CSR order.
    return result_for_input(edge_index, graph, removal.edges, removal.ids)
