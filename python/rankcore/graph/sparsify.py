"""One entry point for every edge sparsifier: :func:`sparsify` (definitions §2).

Every method produces a removal ORDER over the undirected edges {u, v} (u < v) of the simple graph, so
any prefix is a sparsified graph and one full order serves every ratio. Methods:

* ``"wis"``: (depth-1)-Walk Index Sparsification, exact greedy (:func:`rankcore.wis`).
* ``"random"``: a seeded uniform permutation of the edges.
* ``"spectral"``: Spielman–Srivastava effective-resistance sampling. R_e is estimated with a
  Johnson–Lindenstrauss sketch (Spielman & Srivastava 2008, section 4): Z = Q B L^+ with Q a k x m
  random ±1/sqrt(k) matrix, so R_uv ≈ ||Z[:, u] - Z[:, v]||². Each of the k rows is one solve of the
  grounded Laplacian (one vertex per connected component pinned to 0; the solution differs from L^+'s
  by a per-component constant, which cancels in Z[:, u] - Z[:, v]). The k solves run together as block
  Jacobi-preconditioned conjugate gradients (O(nnz) memory; nothing dense of size n x n). The order: spectral sparsification
  keeps edge e with probability ∝ R_e, so the edges to KEEP are a weighted sample without replacement
  (Efraimidis–Spirakis keys log(U_e) / R_e, seeded) and the removal order is the keys ascending: every
  prefix's complement is such a sample. ``order="resistance"`` gives the deterministic variant (R_e
  ascending: low-resistance, well-connected edges go first).
* ``"local_degree"``: NetworKit's Local Degree score (Lindner, Staudt & Hamann, "Structure-preserving
  sparsification of social networks", 2015; NetworKit ``LocalDegreeScore``): every vertex i of degree d
  ranks its neighbours j with deg(j) > d by degree, descending (rank 1, 2, ...; equal degrees: smaller id
  first, NetworKit leaves that order unspecified) and gives edge {i, j} the exponent 1 - log(rank)/log(d)
  (1 when d = 1); an edge's score is the max over its two endpoints, 0 when neither endpoint has a
  higher-degree neighbour across it. Edges are removed by score ascending (least important first), ties
  by (u, v).

All methods need an undirected graph (both directions present) unless ``symmetrize=True``; input
self-loops are ignored and duplicates merged, as everywhere in rankcore.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .container import Graph
from .arguments import check_allocation, check_int, check_seed, removal_count
from .result import SparsifyResult, result_for_input
from .wis import wis_order

METHODS = ("wis", "random", "spectral", "local_degree")


def _undirected_edges(graph: Graph) -> torch.Tensor:
    """[M, 2] int64, u < v, sorted by (u, v): the canonical edge list every order refers to."""
    ei = graph.edge_index()
    upper = ei[0] < ei[1]
    u, v = ei[0][upper], ei[1][upper]
    order = torch.argsort(u * max(graph.num_nodes, 1) + v)
    return torch.stack([u[order], v[order]], dim=1)


def random_order(edges: torch.Tensor, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return edges[torch.randperm(edges.shape[0], generator=gen)]


def local_degree_scores(graph: Graph, edges: torch.Tensor) -> torch.Tensor:
    """NetworKit's Local Degree score of every edge of ``edges`` ([M, 2], u < v), float64 [M]."""
    n = graph.num_nodes
    deg = graph.degree()
    m = edges.shape[0]
    if m == 0:
        return torch.zeros(0, dtype=torch.float64)
    # Both directions: "owner" i ranks its neighbour j when deg(j) > deg(i).
    owner = torch.cat([edges[:, 0], edges[:, 1]])
    other = torch.cat([edges[:, 1], edges[:, 0]])
    edge_id = torch.arange(m).repeat(2)
    d_owner, d_other = deg[owner], deg[other]
    ranked = d_other > d_owner
    owner, other, edge_id, d_owner, d_other = (t[ranked] for t in (owner, other, edge_id, d_owner, d_other))
    # sort by (owner asc, deg(other) desc, other asc): stable sorts, least significant key first
    perm = torch.argsort(other, stable=True)
    perm = perm[torch.argsort(d_other[perm], descending=True, stable=True)]
    perm = perm[torch.argsort(owner[perm], stable=True)]
    owner, edge_id, d_owner = owner[perm], edge_id[perm], d_owner[perm]
    # rank within each owner's run: position - start of the run + 1
    counts = torch.bincount(owner, minlength=n)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(owner.numel()) - starts[owner] + 1
    d = d_owner.to(torch.float64)
    exponent = torch.where(d > 1, 1.0 - torch.log(rank.to(torch.float64)) / torch.log(d.clamp(min=2)),
                           torch.ones_like(d))
    scores = torch.zeros(m, dtype=torch.float64)
    scores.scatter_reduce_(0, edge_id, exponent, reduce="amax", include_self=True)
    return scores


def local_degree_order(graph: Graph, edges: torch.Tensor) -> torch.Tensor:
    scores = local_degree_scores(graph, edges)
    # edges are sorted by (u, v), so a stable sort breaks ties by (u, v)
    return edges[torch.argsort(scores, stable=True)]


class ConvergenceError(RuntimeError):
    """The iterative Laplacian solver behind the spectral sparsifier did not converge."""


def _block_pcg(a, b: np.ndarray, *, tol: float = 1e-6, max_iter=None) -> np.ndarray:
    """Solves a x = b for every column of b (a sparse SPD) with Jacobi-preconditioned conjugate gradients,
    all columns at once (one sparse-dense product per iteration). Sparse LU would be exact, but its
    fill-in explodes on graphs with hubs (power-law degree), while CG needs only O(nnz) memory."""
    n = a.shape[0]
    max_iter = max_iter or max(1000, 10 * n)
    inv_diag = 1.0 / a.diagonal()
    x = np.zeros_like(b)
    r = b.copy()
    bnorm = np.linalg.norm(b, axis=0)
    active = bnorm > 0
    z = r * inv_diag[:, None]
    p = z.copy()
    rz = (r * z).sum(axis=0)
    for _ in range(max_iter):
        if not active.any():
            break
        ap = a @ p
        pap = (p * ap).sum(axis=0)
        alpha = np.divide(rz, pap, out=np.zeros_like(rz), where=active & (pap > 0))
        x += p * alpha
        r -= ap * alpha
        active &= np.linalg.norm(r, axis=0) > tol * bnorm
        z = r * inv_diag[:, None]
        rz_new = (r * z).sum(axis=0)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=active & (rz > 0))
        p = z + p * beta
        rz = rz_new
    if active.any():
        raise ConvergenceError(f"effective resistances: conjugate gradients did not converge in {max_iter} "
                               f"iterations")
    return x


def effective_resistances(graph: Graph, edges: torch.Tensor, *, sketch_dim=None, eps: float = 1.0,
                          seed: int = 0, tol: float = 1e-6) -> torch.Tensor:
    """JL-sketched effective resistance of every edge in ``edges`` ([M, 2]), float64 [M].

    ``sketch_dim`` k rows (default ceil(24 ln(n) / eps²), Spielman–Srivastava's bound for a (1 ± eps)
    estimate); the k rows are solved together by block conjugate gradients on the grounded Laplacian
    (relative residual ``tol``).
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    n, m = graph.num_nodes, edges.shape[0]
    if m == 0:
        return torch.zeros(0, dtype=torch.float64)
    if sketch_dim is None:
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        sketch_dim = max(16, math.ceil(24 * math.log(max(n, 2)) / eps**2))
    k = check_int("sketch_dim", sketch_dim, 1)
    # the sign matrix [k, m] and three [n, k] blocks (rhs, solution, CG state), float64
    check_allocation(8 * k * (m + 4 * n), f"the spectral sketch of {k} rows (eps={eps}, sketch_dim={sketch_dim})",
                     "use a larger eps or a smaller sketch_dim")
    u, v = edges[:, 0].numpy(), edges[:, 1].numpy()
    adj = sp.coo_matrix((np.ones(m), (u, v)), shape=(n, n)).tocsr()
    adj = adj + adj.T
    lap = sp.diags(np.asarray(adj.sum(axis=1)).ravel()) - adj
    _, labels = connected_components(adj, directed=False)
    # ground the first vertex of every component: the rest of the Laplacian is positive definite
    _, first = np.unique(labels, return_index=True)
    keep = np.ones(n, dtype=bool)
    keep[first] = False
    index = np.full(n, -1)
    index[keep] = np.arange(int(keep.sum()))
    rng = np.random.default_rng(seed)
    # Y = Q B: row r = sum_e q_re (e_u - e_v), q_re = ±1/sqrt(k)
    q = (rng.integers(0, 2, size=(k, m)) * 2 - 1) / math.sqrt(k)
    incidence = sp.coo_matrix((np.concatenate([np.ones(m), -np.ones(m)]),
                               (np.concatenate([np.arange(m)] * 2), np.concatenate([u, v]))), shape=(m, n)).tocsr()
    y = np.asarray(incidence.T @ q.T)  # [n, k]
    z = np.zeros((n, k))
    if keep.any():
        z[keep] = _block_pcg(lap[keep][:, keep].tocsr(), y[keep], tol=tol)
    diff = z[u] - z[v]
    return torch.from_numpy((diff * diff).sum(axis=1))


def spectral_order(graph: Graph, edges: torch.Tensor, seed: int, *, order: str = "sample", sketch_dim=None,
                   eps: float = 1.0) -> torch.Tensor:
    resistance = effective_resistances(graph, edges, sketch_dim=sketch_dim, eps=eps, seed=seed)
    if order == "resistance":
        return edges[torch.argsort(resistance, stable=True)]
    if order != "sample":
        raise ValueError(f"spectral order must be 'sample' or 'resistance', got {order!r}")
    gen = torch.Generator().manual_seed(seed + 1)  # independent of the sketch's stream
    uniform = torch.rand(edges.shape[0], generator=gen, dtype=torch.float64).clamp_(min=1e-300)
    keys = torch.log(uniform) / resistance.clamp(min=1e-12)  # larger key = kept longer
    return edges[torch.argsort(keys, stable=True)]


def sparsify(edge_index, num_nodes=None, method="wis", *, ratio=None, num_remove=None, seed=0, depth=2,
             symmetrize=False, progress=None, **kw) -> SparsifyResult:
    """Remove a fraction ``ratio`` (or ``num_remove``) of the undirected edges with ``method``.

    Args:
        edge_index: ``[2, m]`` int64 of an undirected graph, or a PyG ``Data`` / scipy / networkx /
            :class:`Graph` (as :func:`rankcore.wis`).
        num_nodes: vertex count (None: inferred).
        method: ``"wis"``, ``"random"``, ``"spectral"`` or ``"local_degree"`` (module docstring).
        ratio: fraction of the undirected edges to remove, in [0, 1] (rounded half up to a count).
        num_remove: the number of undirected edges to remove; pass exactly one of the two.
        seed: seeds the random methods (random, spectral); wis and local_degree are deterministic.
        depth: GNN depth L for ``"wis"`` ((L-1)-WIS; 2 = 1-WIS).
        symmetrize: add missing reverse edges instead of raising ``ValueError`` on directed input.
        progress: forwarded to :func:`rankcore.wis`.
        **kw: ``"spectral"``: ``sketch_dim`` (JL rows), ``eps`` (default 1.0), ``order``
            (``"sample"`` or ``"resistance"``); ``"wis"``: ``chunk_size``.

    Returns:
        :class:`SparsifyResult` whose ``removed`` lists the removed edges in removal order (a prefix of
        the method's full order: ``ratio=1.0`` gives the whole order).
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown sparsification method {method!r}; expected one of {', '.join(METHODS)}")
    allowed = {"wis": {"chunk_size"}, "spectral": {"sketch_dim", "eps", "order"}}.get(method, set())
    unknown = sorted(set(kw) - allowed)
    if unknown:
        raise TypeError(f"sparsify(method={method!r}) got unexpected keyword argument(s) {', '.join(unknown)}")
    seed = check_seed(seed)
    graph = Graph.from_input(edge_index, num_nodes, require_undirected=True, symmetrize=symmetrize)
    k = removal_count(graph.num_edges // 2, ratio, num_remove)
    if method == "wis":
        removed = wis_order(graph, k, depth, progress=progress, **kw)
    else:
        graph_cpu = graph.to("cpu")
        edges = _undirected_edges(graph_cpu)
        if method == "random":
            order = random_order(edges, seed)
        elif method == "local_degree":
            order = local_degree_order(graph_cpu, edges)
        else:
            order = spectral_order(graph_cpu, edges, seed, **kw)
        removed = order[:k].contiguous()
    # keep_mask refers to the caller's own columns (tensor, array, list or Data), never the CSR order.
    return result_for_input(edge_index, graph, removed)
