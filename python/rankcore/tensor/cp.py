"""CP factorization as an ``nn.Module`` (definitions §3)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..graph.arguments import check_int
from ..ops import cp_eval

# Largest number of entries tensor() reconstructs (times R for the intermediate): a guard against
# asking for the full order-64 tensor by accident.
MAX_FULL_ENTRIES = 50_000_000


class CPFactorization(nn.Module):
    """W(i_1..i_N) = sum_r prod_n A_n[i_n, r] with factors A_n of shape [d_n, R].

    Factors start i.i.d. N(init_mean, init_std^2): a small std is the regime of implicit low-rank
    regularisation; init_mean = 1 keeps products over hundreds of modes from underflowing.
    """

    def __init__(self, shape: Sequence[int], rank: int, init_std: float, init_mean: float = 0.0, *,
                 dtype: torch.dtype = torch.float32, device=None, generator: torch.Generator | None = None):
        super().__init__()
        # check_int, not int(): a dim of 3.7 or a rank of 2.7 was silently truncated
        shape = tuple(check_int("CPFactorization: shape entries", d, 1) for d in shape)
        if not shape:
            raise ValueError(f"CPFactorization: shape must be a non-empty list of positive dims, got {shape}")
        rank = check_int("CPFactorization: rank", rank, 1)
        if not 0 <= init_std < math.inf:
            raise ValueError(f"CPFactorization: init_std must be finite and >= 0, got {init_std}")
        if not math.isfinite(init_mean):
            raise ValueError(f"CPFactorization: init_mean must be finite, got {init_mean}")
        self.shape, self.rank = shape, rank
        self.factors = nn.ParameterList()
        for d in shape:
            a = torch.randn(d, self.rank, generator=generator, dtype=dtype) * init_std + init_mean
            self.factors.append(nn.Parameter(a.to(device)))

    @property
    def order(self) -> int:
        return len(self.shape)

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        """Entries at ``indices`` ([B, N] int64) -> [B], differentiable in every factor."""
        return cp_eval(list(self.factors), indices)

    def tensor(self) -> torch.Tensor:
        """The full tensor [d_1, ..., d_N] (differentiable). Only for small shapes."""
        entries = math.prod(self.shape)
        if entries * self.rank > MAX_FULL_ENTRIES:
            raise ValueError(f"CPFactorization.tensor: {entries} entries x rank {self.rank} is too large to "
                             f"materialise (limit {MAX_FULL_ENTRIES}); evaluate entries with forward(indices)")
        full = self.factors[0]
        for a in list(self.factors)[1:]:
            full = (full.unsqueeze(-2) * a).reshape(-1, self.rank)
        return full.sum(dim=-1).reshape(self.shape)

    def component_norms(self) -> torch.Tensor:
        """[R]: component r's norm prod_n ||A_n[:, r]|| (no gradient)."""
        with torch.no_grad():
            # Sum of logs: a product of hundreds of column norms would under/overflow directly.
            logs = torch.stack([a.norm(dim=0).log() for a in self.factors]).sum(dim=0)
            return logs.exp()
