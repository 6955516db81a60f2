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
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, NamedTuple

import numpy as np
import torch

from .container import Graph, GraphInput
from .arguments import check_allocation, check_int, check_seed, removal_count
from .result import SparsifyResult, result_for_input
from .progress import progress_reporter
from .wis import wis_order
from .baselines import degree_order, k_neighbor_budget_count, k_neighbor_order

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
    """NetworKit's Local Degree score of every edge of ``edges`` ([M, 2], u < v), float64 [M]."""
    n = graph.num_nodes
    deg = graph.degree()
    m = edges.shape[0]
    if m == 0:
        return torch.zeros(0, dtype=torch.float64)
    # Both directions: "owner" i ranks its neighbour j when deg(j) > deg(i).
    owner = torch.cat([edges[:, 0], edges[:, 1]])
    other = torch.cat([edges[:, 1], edges[:, 0]])
    pair, exponent = local_degree_exponents(owner, other, deg[owner], deg[other], n)
    edge_id = pair % m
    scores = torch.zeros(m, dtype=torch.float64)
    scores.scatter_reduce_(0, edge_id, exponent, reduce="amax", include_self=True)
    return scores


def local_degree_exponents(owner: torch.Tensor, other: torch.Tensor, d_owner: torch.Tensor, d_other: torch.Tensor,
                           num_rows: int, first_row: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The pairs (owner i, neighbour j) in which i ranks j (deg(j) > deg(i)) and their exponents.

    Every owner i of degree d ranks its higher-degree neighbours by degree, descending (equal degrees:
    smaller id first), and gives rank r the exponent 1 - log(r) / log(d) (1 when d = 1). Owners lie in
    ``[first_row, first_row + num_rows)``. Returns (the positions of the ranked pairs in the inputs, their
    float64 exponents). The single-process and the distributed scores both compute them here.
    """
    ranked = (d_other > d_owner).nonzero().flatten()
    owner, other, d_owner, d_other = owner[ranked], other[ranked], d_owner[ranked], d_other[ranked]
    # sort by (owner asc, deg(other) desc, other asc): stable sorts, least significant key first
    perm = torch.argsort(other, stable=True)
    perm = perm[torch.argsort(d_other[perm], descending=True, stable=True)]
    perm = perm[torch.argsort(owner[perm], stable=True)]
    owner, d_owner = owner[perm] - first_row, d_owner[perm]
    # rank within each owner's run: position - start of the run + 1
    counts = torch.bincount(owner, minlength=num_rows)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(owner.numel()) - starts[owner] + 1
    d = d_owner.to(torch.float64)
    exponent = torch.where(d > 1, 1.0 - torch.log(rank.to(torch.float64)) / torch.log(d.clamp(min=2)),
                           torch.ones_like(d))
    return ranked[perm], exponent


def local_degree_order(graph: Graph, edges: torch.Tensor) -> torch.Tensor:
    """Edge ids in removal order: Local Degree score ascending."""
    scores = local_degree_scores(graph, edges)
    # edges are sorted by (u, v), so a stable sort breaks ties by (u, v)
    return torch.argsort(scores, stable=True)


class ConvergenceError(RuntimeError):
    """The iterative Laplacian solver behind the spectral sparsifier did not converge."""


# --- Laplacian solves for the spectral sparsifier --------------------------------------------------------

SOLVERS = ("auto", "amg", "jacobi")
_MAX_COARSE = 1000  # unknowns at the coarsest AMG level, solved densely
_FILL_LIMIT = 32  # smoothed prolongation only while P^T A P costs at most this many nnz(A) (no hubs)
_EDGE_CHUNK = 1 << 20  # entries of one [edges, block] temporary when summing ||Z[:, u] - Z[:, v]||²


def _has_pyamg() -> bool:
    try:
        import pyamg  # noqa: F401
    except ImportError:
        return False
    return True


def _spectral_radius(a, dinv: np.ndarray) -> float:
    """rho(D^-1 A) for the damped-Jacobi weight: the Rayleigh quotient after 20 power steps on
    D^-1/2 A D^-1/2 from a fixed start (deterministic), raised 10% and capped by Gershgorin's bound
    (a true upper bound), so omega = 4 / (3 rho) keeps omega * rho(D^-1 A) < 2 (a convergent, SPD smoother)."""
    gershgorin = float((abs(a) @ np.ones(a.shape[0]) * dinv).max())
    s = np.sqrt(dinv)
    x = np.random.default_rng(0).random(a.shape[0]) + 0.5
    quotient = 0.0
    for _ in range(20):
        x /= np.linalg.norm(x)
        y = s * (a @ (s * x))
        quotient = float(x @ y)
        x = y
    return min(gershgorin, 1.1 * quotient) if quotient > 0 else gershgorin


class _AggregationAMG:
    """A symmetric algebraic-multigrid V-cycle for a grounded graph Laplacian, applied to a block of columns
    at once (every step is a sparse-dense product or an elementwise op on [n, block]).

    Hierarchy (built once, reused by every block): pyamg's standard aggregation on the symmetric strength
    graph (theta = 0); the tentative prolongator T has one 1 per aggregated row (T 1 = 1: the constant,
    the Laplacian's near-null space, stays constant on every level); P = (I - omega D^-1 A) T (smoothed
    aggregation) while the Galerkin product P^T A P stays cheap, else P = T (plain aggregation: on graphs
    with hubs smoothing fills the coarse operator in, e.g. 286M nonzeros from 2.2M on a 1M-edge power-law
    graph, while plain aggregation never has more coarse nonzeros than fine ones). Coarse operator
    A_c = P^T A P, down to at most 1000 unknowns, factored densely (Cholesky). One damped-Jacobi sweep
    before and after the coarse correction (omega = 4 / (3 rho(D^-1 A))) keeps the cycle symmetric
    positive definite, as conjugate gradients needs. The cycle runs in float32 (the outer CG stays float64
    and sets the accuracy): half the memory traffic.
    """

    def __init__(self, a, dtype=np.float32):
        import scipy.linalg as sla
        import scipy.sparse as sp
        from pyamg.aggregation.aggregate import standard_aggregation
        from pyamg.strength import symmetric_strength_of_connection

        self.dtype = dtype
        self.levels = []  # (A, omega D^-1, P, R) per level, in self.dtype
        self.smoothed = []
        a = sp.csr_matrix(a, dtype=np.float64)
        while a.shape[0] > _MAX_COARSE and len(self.levels) < 25:
            dinv = 1.0 / a.diagonal()
            wdinv = 4.0 / (3.0 * _spectral_radius(a, dinv)) * dinv
            agg = standard_aggregation(symmetric_strength_of_connection(a, 0.0))[0].tocsc()
            agg = agg[:, np.flatnonzero(np.diff(agg.indptr))].tocsr()  # no empty aggregates
            if agg.shape[1] == 0 or agg.shape[1] > 0.9 * a.shape[0]:
                break  # aggregation stalled (e.g. rows with no off-diagonal entry): smoothing only below
            # unnormalised 0/1 columns: T 1 = 1, so the constant stays the near-null vector on every level
            t = sp.csr_matrix(agg, dtype=np.float64)
            p = t
            smooth = self._smoothing_is_cheap(a, t)
            if smooth:
                p = sp.csr_matrix(t - sp.diags(wdinv) @ (a @ t))
            r = sp.csr_matrix(p.T)
            coarse = sp.csr_matrix(r @ (a @ p))
            self.levels.append((a.astype(dtype), wdinv.astype(dtype)[:, None], p.astype(dtype), r.astype(dtype)))
            self.smoothed.append(smooth)
            a = coarse
        self.coarse_a = a.astype(dtype)
        self.coarse_wdinv = None
        self.coarse_factor = None
        if a.shape[0] <= _MAX_COARSE:
            dense = a.toarray()
            try:
                self.coarse_factor = ("cholesky", sla.cho_factor(dense))
            except np.linalg.LinAlgError:
                self.coarse_factor = ("pinv", sla.pinvh(dense).astype(dtype))
        else:  # aggregation stalled on a big level: damped Jacobi there (still symmetric positive definite)
            dinv = 1.0 / a.diagonal()
            self.coarse_wdinv = (4.0 / (3.0 * _spectral_radius(a, dinv)) * dinv).astype(dtype)[:, None]

    @staticmethod
    def _smoothing_is_cheap(a, t) -> bool:
        # rows of P = (I - w D^-1 A) T have at most w_i = #aggregates among {i} and its neighbours; the
        # product P^T (A P) then costs at most sum_i w_i (|A| w)_i multiply-adds.
        pattern = abs(a)
        pattern.data[:] = 1.0
        w = np.diff((pattern @ (t != 0)).tocsr().indptr).astype(np.float64)
        return float(w @ (pattern @ w)) <= _FILL_LIMIT * a.nnz

    @property
    def operator_complexity(self) -> float:
        return (sum(level[0].nnz for level in self.levels) + self.coarse_a.nnz) / max(
            (self.levels[0][0] if self.levels else self.coarse_a).nnz, 1)

    def _cycle(self, i: int, b: np.ndarray) -> np.ndarray:
        if i == len(self.levels):
            if self.coarse_wdinv is not None:
                x = self.coarse_wdinv * b
                return x + self.coarse_wdinv * (b - self.coarse_a @ x)
            kind, factor = self.coarse_factor
            if kind == "cholesky":
                import scipy.linalg as sla
                return sla.cho_solve(factor, b, check_finite=False).astype(self.dtype, copy=False)
            return factor @ b
        a, wdinv, p, r = self.levels[i]
        x = wdinv * b  # pre-smoothing from x = 0
        res = b - a @ x
        x += p @ self._cycle(i + 1, r @ res)
        np.subtract(b, a @ x, out=res)
        res *= wdinv  # post-smoothing
        x += res
        return x

    def __call__(self, r: np.ndarray) -> np.ndarray:
        return self._cycle(0, r.astype(self.dtype)).astype(np.float64)


def _block_pcg(a, b: np.ndarray, precondition=None, *, tol: float = 1e-6, max_iter=None) -> np.ndarray:
    """Solves a x = b for every column of b (a sparse SPD) with preconditioned conjugate gradients, all
    columns at once (one sparse-dense product per iteration, per-column step sizes, each column stops at
    relative residual ``tol``). ``precondition``: a function [n, c] -> [n, c] applying an SPD
    approximation of a^-1 (default: Jacobi, 1 / diag(a)). Sparse LU would be exact, but its fill-in
    explodes on graphs with hubs (power-law degree), while CG needs only O(nnz + n c) memory: six [n, c]
    float64 blocks besides what ``precondition`` allocates."""
    n = a.shape[0]
    max_iter = max_iter or max(1000, 10 * n)
    if precondition is None:
        inv_diag = (1.0 / a.diagonal())[:, None]
        precondition = inv_diag.__mul__
    x = np.zeros_like(b)
    r = b.copy()
    bnorm = np.linalg.norm(b, axis=0)
    active = bnorm > 0
    z = precondition(r)
    p = z.copy()
    rz = np.einsum("ij,ij->j", r, z)
    for _ in range(max_iter):
        if not active.any():
            break
        ap = a @ p
        pap = np.einsum("ij,ij->j", p, ap)
        alpha = np.divide(rz, pap, out=np.zeros_like(rz), where=active & (pap > 0))
        ap *= alpha
        r -= ap
        np.multiply(p, alpha, out=ap)
        x += ap
        del ap
        active &= np.sqrt(np.einsum("ij,ij->j", r, r)) > tol * bnorm
        z = precondition(r)
        rz_new = np.einsum("ij,ij->j", r, z)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=active & (rz > 0))
        p *= beta
        p += z
        rz = rz_new
    if active.any():
        raise ConvergenceError(f"effective resistances: conjugate gradients did not converge in {max_iter} "
                               f"iterations")
    return x


def _two_core_edges(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """bool [m]: the edges of the 2-core (what is left after repeatedly deleting degree-1 vertices with
    their edge). The deleted edges are the hanging trees, bridges whose sketched resistance is exactly 1
    (see :func:`effective_resistances`). Rounds of leaves, each vertex handled once: O(n + m) work."""
    m = u.shape[0]
    ends = np.concatenate([u, v])
    eid = np.concatenate([np.arange(m), np.arange(m)])
    order = np.argsort(ends, kind="stable")
    eid = eid[order]
    deg = np.bincount(ends, minlength=n)
    rowptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(deg, out=rowptr[1:])
    alive = np.ones(m, dtype=bool)
    leaves = np.flatnonzero(deg == 1)
    while leaves.size:
        counts = rowptr[leaves + 1] - rowptr[leaves]
        slots = np.repeat(rowptr[leaves] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        gone = np.unique(eid[slots])
        gone = gone[alive[gone]]
        alive[gone] = False
        touched = np.concatenate([u[gone], v[gone]])
        np.subtract.at(deg, touched, 1)
        touched = np.unique(touched)
        leaves = touched[deg[touched] == 1]
    return alive


def _spectral_progress(progress, total: int):
    """(report(done), close()) from ``progress`` as :func:`rankcore.wis` takes it (no-ops when silent)."""
    report, close = progress_reporter(progress, total, unit="solve", desc="spectral")
    return (report or (lambda done: None)), (close or (lambda: None))


def spectral_memory_bytes(num_nodes: int, num_edges: int, block_size: int) -> int:
    """The peak-memory bound of :func:`effective_resistances` in bytes (see its docstring)."""
    n, m, b = num_nodes, num_edges, block_size
    return 8 * 12 * n * b + 48 * m + 80 * (2 * m + n) + (64 << 20)


def effective_resistances(graph: Graph, edges: torch.Tensor, *, sketch_dim=None, eps: float = 1.0,
                          seed: int = 0, tol: float = 1e-6, block_size: int = 32, solver: str = "auto",
                          progress=None) -> torch.Tensor:
    """JL-sketched effective resistance of every edge in ``edges`` ([M, 2]), float64 [M].

    ``sketch_dim`` k rows (default ceil(24 ln(n) / eps²), Spielman–Srivastava's bound for a (1 ± eps)
    estimate). Row r of the sketch is q_r B L^+ with q_r in {±1/sqrt(k)}^M drawn from
    ``numpy.random.default_rng(seed)`` row after row (the same stream as one [k, M] draw); R_e is
    sum_r (Z[r, u] - Z[r, v])². The rows are solved ``block_size`` at a time by block conjugate gradients on
    the grounded Laplacian (relative residual ``tol``), each block's contribution added to R before the
    next block starts, so nothing of size n x k or k x M is ever held.

    Only the 2-core is solved: deleting a degree-1 vertex with its edge is an exact Gaussian elimination
    (the Schur complement is the Laplacian of the rest), its right-hand side moves to the neighbour, and
    the edge's own difference is then Z[:, l] - Z[:, p] = ±q_e, so sum_r q_re² = 1 exactly: every edge of a
    hanging tree gets R_e = 1 (its true value: it is a bridge) and the 2-core's edges the sketch of the
    2-core with the same signs. On a 1M-edge power-law graph with 500k vertices this drops 27% of the
    vertices from the solves; on a tree nothing is solved.

    ``solver``: ``"amg"`` preconditions CG with an aggregation AMG V-cycle (pyamg; the hierarchy is built
    once, for all components together, and reused by every block: 9-13 CG iterations on a 200 x 200 grid
    and on 1M-edge power-law graphs); ``"jacobi"`` with the diagonal (no dependency; fine on expander-like
    graphs, but its iteration count grows with the diameter: minutes on long paths and meshes);
    ``"auto"``: amg when pyamg is installed, else jacobi (with a warning above 10,000 vertices).
    ``progress``: None, True (a tqdm bar) or a callable ``progress(done, k)``, called after each block.

    Memory: at most about 8 * 12 * n * block_size bytes for a block (the right-hand sides, the CG state
    and the V-cycle's temporaries) + 48 * M (the edge list, R and one sketch row) + 80 * nnz(L), nnz(L) =
    2M + n (the Laplacian, its grounded copy and the hierarchy, whose operator complexity the choice of
    plain aggregation on hubs keeps near 2) + 64 MiB (scipy's and pyamg's code, loaded on first use):
    O(n * block_size + M), independent of k (:func:`spectral_memory_bytes`, checked up front). Measured
    peaks above the input graph: 133 MiB on a 200 x 200 grid (bound 200 MiB), 508 MiB on a 1M-edge
    power-law graph with 200k vertices (bound 862 MiB; the former all-k-at-once solve took 7.7 GiB).
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    n, m = graph.num_nodes, edges.shape[0]
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}")
    block_size = check_int("block_size", block_size, 1)
    if m == 0:
        return torch.zeros(0, dtype=torch.float64)
    if sketch_dim is None:
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        sketch_dim = 24 * math.log(max(n, 2)) / eps**2
        if not sketch_dim < 2**31:
            raise ValueError(f"eps={eps} asks for a sketch of {sketch_dim:.3g} rows (24 ln(n) / eps²); "
                             f"use a larger eps or pass sketch_dim")
        sketch_dim = max(16, math.ceil(sketch_dim))
    k = check_int("sketch_dim", sketch_dim, 1, 2**31 - 1)
    block = min(block_size, k)
    check_allocation(spectral_memory_bytes(n, m, block),
                     f"the spectral sparsifier's Laplacian solves ({n} vertices, {m} edges, blocks of {block} "
                     f"of the {k} sketch rows)", "use a smaller block_size")
    if solver == "auto":
        solver = "amg" if _has_pyamg() else "jacobi"
        if solver == "jacobi" and n > 10_000:
            warnings.warn("pyamg is not installed: the spectral sparsifier's Laplacian solves fall back to "
                          "Jacobi-preconditioned CG, slow on large meshes and paths (pip install pyamg)",
                          RuntimeWarning, stacklevel=3)
    elif solver == "amg" and not _has_pyamg():
        raise ImportError("solver='amg' needs pyamg (pip install pyamg), or use solver='jacobi'")

    u_all, v_all = edges[:, 0].numpy(), edges[:, 1].numpy()
    core = _two_core_edges(u_all, v_all, n)
    resistance = np.ones(m)  # hanging-tree edges: exactly 1
    u, v = u_all[core], v_all[core]
    m_core = u.shape[0]
    if m_core == 0:  # a forest: every edge is a bridge of a hanging tree
        report, close = _spectral_progress(progress, k)
        report(k)
        close()
        return torch.from_numpy(resistance)
    adj = sp.coo_matrix((np.ones(m_core), (u, v)), shape=(n, n)).tocsr()
    adj = adj + adj.T
    _, labels = connected_components(adj, directed=False)
    # ground the first vertex of every component: the rest of the Laplacian is positive definite
    _, first = np.unique(labels, return_index=True)
    keep = np.ones(n, dtype=bool)
    keep[first] = False
    n_free = int(keep.sum())
    lap = sp.csr_matrix(sp.diags(np.asarray(adj.sum(axis=1)).ravel()) - adj)
    del adj
    lap = lap[keep][:, keep].tocsr() if n_free < n else lap
    # free vertices in grounded order; grounded ones map to the extra row n_free of every block (Z = 0)
    index = np.full(n, n_free, dtype=np.int64)
    index[keep] = np.arange(n_free)
    ui, vi = index[u], index[v]
    precondition = _AggregationAMG(lap) if solver == "amg" and n_free > 0 else None

    rng = np.random.default_rng(seed)
    scale = 1.0 / math.sqrt(k)
    core_resistance = np.zeros(m_core)
    chunk = max(1024, _EDGE_CHUNK // block)
    report, close = _spectral_progress(progress, k)
    try:
        for start in range(0, k, block):
            width = min(block, k - start)
            # Y = B^T Q^T for these rows: column j = sum_e q_je (e_u - e_v), over the 2-core's edges
            y = np.empty((n_free + 1, width))
            for j in range(width):
                q = ((rng.integers(0, 2, size=m) * 2 - 1) * scale)[core]
                y[:, j] = np.bincount(ui, q, minlength=n_free + 1) - np.bincount(vi, q, minlength=n_free + 1)
            del q
            z = np.zeros((n_free + 1, width))
            if n_free:
                z[:n_free] = _block_pcg(lap, y[:n_free], precondition, tol=tol)
            del y
            for c in range(0, m_core, chunk):
                diff = z[ui[c:c + chunk]]
                diff -= z[vi[c:c + chunk]]
                core_resistance[c:c + chunk] += np.einsum("ij,ij->i", diff, diff)
            del z
            report(start + width)
    finally:
        close()
    resistance[core] = core_resistance
    return torch.from_numpy(resistance)


def spectral_order(graph: Graph, edges: torch.Tensor, seed: int, *, order: str = "sample", sketch_dim=None,
                   eps: float = 1.0, block_size: int = 32, solver: str = "auto", progress=None) -> torch.Tensor:
    if order not in ("sample", "resistance"):
        raise ValueError(f"spectral order must be 'sample' or 'resistance', got {order!r}")
    resistance = effective_resistances(graph, edges, sketch_dim=sketch_dim, eps=eps, seed=seed,
                                       block_size=block_size, solver=solver, progress=progress)
    if order == "resistance":
        return torch.argsort(resistance, stable=True)
    gen = torch.Generator().manual_seed(seed + 1)  # independent of the sketch's stream
    uniform = torch.rand(edges.shape[0], generator=gen, dtype=torch.float64).clamp_(min=1e-300)
    keys = torch.log(uniform) / resistance.clamp(min=1e-12)  # larger key = kept longer
    return torch.argsort(keys, stable=True)


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


class Removal(NamedTuple):
    """A removal: ``edges`` [N, 2] (u < v) in removal order and, for the order-based methods, their ids in
    the canonical edge list (``Graph.undirected_edges()``), which map onto the caller's columns in O(m)."""

    edges: torch.Tensor
    ids: torch.Tensor | None


def removal_order(graph: Graph, method: str, num_remove: int, *, seed: int = 0, depth: int = 2, progress=None,
                  **kw) -> Removal:
    """The first ``num_remove`` edges of ``method``'s removal order on a built undirected :class:`Graph`
    (arguments as :func:`sparsify`, already checked); :func:`sparsify` maps them onto the input's columns.
    For callers that hold the Graph already (the rankcore command)."""
    if method == "wis":
        return Removal(wis_order(graph, num_remove, depth, progress=progress, **kw), None)
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
    ids = order[:num_remove]
    return Removal(edges[ids], ids)


def sparsify(edge_index: GraphInput, num_nodes: int | None = None, method: str = "wis", *,
             ratio: float | None = None, num_remove: int | None = None, seed: int = 0, depth: int = 2,
             symmetrize: bool = False, progress: bool | Callable[[int, int], None] | None = None,
             **kw) -> SparsifyResult:
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
        **kw: ``"spectral"``: ``sketch_dim`` (JL rows), ``eps`` (default 1.0), ``order``
            (``"sample"`` or ``"resistance"``), ``block_size`` (sketch rows solved together, default 32:
            memory O(n * block_size + m)), ``solver`` (``"auto"``, ``"amg"``, ``"jacobi"``;
            :func:`effective_resistances`); ``"wis"``: ``chunk_size``; ``"k_neighbor"``: ``score``
            (``"random"``, default, or ``"degree"``) and ``k`` (an int >= 1: remove exactly the edges that
            neither endpoint ranks among its first k, instead of ratio / num_remove).

    Returns:
        :class:`SparsifyResult` whose ``removed`` lists the removed edges in removal order (a prefix of
        the method's full order: ``ratio=1.0`` gives the whole order).
    """
    check_method(method, kw)
    seed = check_seed(seed)
    budget = kw.pop("k", None)
    if budget is not None:  # k_neighbor's per-vertex budget fixes the count itself
        budget = check_int("k", budget, 1)
        if ratio is not None or num_remove is not None:
            raise ValueError("k_neighbor: pass either k (keep each vertex's first k edges) or ratio / num_remove, "
                             "not both")
    graph = Graph.from_input(edge_index, num_nodes, require_undirected=True, symmetrize=symmetrize)
    if budget is None:
        k = removal_count(graph.num_edges // 2, ratio, num_remove)
        removal = removal_order(graph, method, k, seed=seed, depth=depth, progress=progress, **kw)
    else:
        graph_cpu = graph.to("cpu")
        edges = _undirected_edges(graph_cpu)
        order, best = k_neighbor_order(graph_cpu, edges, seed, **kw)
        ids = order[:k_neighbor_budget_count(best, budget)]
        removal = Removal(edges[ids], ids)
    # keep_mask refers to the caller's own columns (tensor, array, list or Data), never the CSR order.
    return result_for_input(edge_index, graph, removal.edges, removal.ids)
