"""Rank measures: effective rank, matricization ranks, and a CP-rank estimate by CP-ALS."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def effective_rank(matrix: torch.Tensor) -> float:
    """exp(H(p)) with p = sigma / sum(sigma) (Roy & Vetterli); 0 for the zero matrix."""
    if matrix.dim() != 2:
        raise ValueError(f"effective_rank: expected a matrix, got shape {tuple(matrix.shape)}")
    s = torch.linalg.svdvals(matrix.detach().double())
    total = s.sum()
    if total <= 0:
        return 0.0
    p = s / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def matricize(tensor: torch.Tensor, modes: Sequence[int]) -> torch.Tensor:
    """[[W]]_I: rows indexed by the modes in ``modes``, columns by the rest (row-major)."""
    modes = [int(m) % tensor.dim() for m in modes]
    if len(set(modes)) != len(modes):
        raise ValueError(f"matricize: repeated modes {modes}")
    rest = [m for m in range(tensor.dim()) if m not in modes]
    rows = 1
    for m in modes:
        rows *= tensor.shape[m]
    return tensor.permute(*modes, *rest).reshape(rows, -1)


def matricization_rank(tensor: torch.Tensor, modes: Sequence[int], rtol: float = 1e-6) -> int:
    """Rank of [[W]]_modes: singular values above rtol * the largest."""
    return int(torch.linalg.matrix_rank(matricize(tensor.detach().double(), modes), rtol=rtol))


def matricization_ranks(tensor: torch.Tensor, rtol: float = 1e-6) -> list[int]:
    """Ranks of the N mode-n unfoldings (each mode against the rest)."""
    return [matricization_rank(tensor, [n], rtol) for n in range(tensor.dim())]


def cp_als(tensor: torch.Tensor, rank: int, *, iterations: int = 500, tol: float = 1e-12,
           generator: torch.Generator | None = None) -> tuple[list[torch.Tensor], float]:
    """CP-ALS in float64: factors [d_n, rank] and the fit's mean squared error.

    Each sweep solves for one factor with the others fixed: A_n = X_(n) KR_n (Hadamard_m G_m)^+, where
    X_(n) is the mode-n unfolding, KR_n the Khatri-Rao product of the other factors in the unfolding's
    (row-major) order and G_m = A_m^T A_m. Stops when the MSE changes by less than tol (relative).
    """
    x = tensor.detach().double()
    shape, n_modes = x.shape, x.dim()
    factors = [torch.randn(d, rank, generator=generator, dtype=torch.float64) for d in shape]
    prev = float("inf")
    mse = prev
    for _ in range(iterations):
        for n in range(n_modes):
            others = [m for m in range(n_modes) if m != n]
            kr = torch.ones(1, rank, dtype=torch.float64)
            gram = torch.ones(rank, rank, dtype=torch.float64)
            for m in others:
                kr = (kr.unsqueeze(1) * factors[m].unsqueeze(0)).reshape(-1, rank)
                gram = gram * (factors[m].T @ factors[m])
            unfold = x.movedim(n, 0).reshape(shape[n], -1)
            factors[n] = unfold @ kr @ torch.linalg.pinv(gram)
        full = factors[0]
        for a in factors[1:]:
            full = (full.unsqueeze(-2) * a).reshape(-1, rank)
        mse = float(((full.sum(-1).reshape(shape) - x) ** 2).mean())
        if mse == 0.0 or (prev < float("inf") and abs(prev - mse) <= tol * prev):
            break
        prev = mse
    return factors, mse


def cp_rank_estimate(tensor: torch.Tensor, *, max_rank: int | None = None, tol: float = 1e-6,
                     restarts: int = 3, iterations: int = 500, seed: int = 0) -> int:
    """Smallest R whose CP-ALS fit reaches MSE < tol (binary search over 1..max_rank; 0 for W = 0).

    ``tol`` is absolute (mean squared error, as in the papers); scale the tensor first if needed.
    ALS can miss the best fit, so each R takes the best of ``restarts`` random starts. The search
    assumes the fit improves with R. ``max_rank`` defaults to the product of all dims but the largest
    (an upper bound on the CP rank); raises ValueError if even max_rank does not reach tol.
    """
    x = tensor.detach().double()
    if float((x ** 2).mean()) < tol:
        return 0
    if max_rank is None:
        dims = sorted(x.shape)
        max_rank = 1
        for d in dims[:-1]:
            max_rank *= d
    gen = torch.Generator().manual_seed(seed)

    def fits(r: int) -> bool:
        return any(cp_als(x, r, iterations=iterations, generator=gen)[1] < tol for _ in range(restarts))

    if not fits(max_rank):
        raise ValueError(f"cp_rank_estimate: no CP-ALS fit with R <= {max_rank} reached MSE < {tol}")
    lo, hi = 1, max_rank  # hi fits
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo
