"""The spectral sparsifier (Spielman & Srivastava 2008): effective resistances from a Johnson-Lindenstrauss
sketch of the Laplacian pseudo-inverse, solved in blocks by conjugate gradients with an aggregation AMG
preconditioner (pyamg; Jacobi without it), and the removal order they give. The method's description is in
:mod:`rankcore.graph.sparsify` (the dispatcher) and definitions §2.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from .arguments import check_allocation, check_int
from .container import Graph
from .progress import progress_reporter

__all__ = ["ConvergenceError", "SOLVERS", "effective_resistances", "spectral_memory_bytes", "spectral_order"]


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
        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating, np.integer)):
            raise TypeError(f"eps must be a number > 0, got {type(eps).__name__}")  # "1" failed inside a comparison
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
