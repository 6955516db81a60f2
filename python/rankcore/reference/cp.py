"""CP factorization written straight from definitions §3, in plain PyTorch (the tests' oracle)."""

from __future__ import annotations

import torch


def cp_eval(factors, indices: torch.Tensor) -> torch.Tensor:
    """W(i_1..i_N) = sum_r prod_n A_n[i_n, r] at each row of ``indices`` ([B, N]) -> [B]."""
    prod = None
    for n, a in enumerate(factors):
        rows = a[indices[:, n]]  # [B, R]
        prod = rows if prod is None else prod * rows
    return prod.sum(dim=1)


def cp_full(factors) -> torch.Tensor:
    """The full tensor [d_1, ..., d_N]: the sum over r of the outer products of the factor columns."""
    full = factors[0]  # [d_1, R]
    for a in factors[1:]:
        full = full.unsqueeze(-2) * a.reshape((1,) * (full.dim() - 1) + a.shape)
    return full.sum(dim=-1)


def cp_component_norms(factors) -> torch.Tensor:
    """Component r's norm: prod_n ||A_n[:, r]|| -> [R]."""
    norms = torch.stack([a.norm(dim=0) for a in factors])
    return norms.prod(dim=0)
