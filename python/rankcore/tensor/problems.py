"""Learning problems for tensor factorizations: completion and sensing of a low-rank ground truth."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..graph.arguments import check_int


def random_cp_tensor(shape: Sequence[int], rank: int, *, generator: torch.Generator | None = None,
                     dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A rank-``rank`` tensor (sum of outer products of Gaussian vectors), scaled to unit Frobenius norm."""
    shape = tuple(shape)
    # >= 1: rank 0 is the zero tensor, which has no unit norm; check_int: a float or bool rank is a TypeError
    rank = check_int("random_cp_tensor: rank", rank, 1)
    full = torch.zeros(shape, dtype=torch.float64)
    for _ in range(rank):
        comp = torch.ones((), dtype=torch.float64)
        for d in shape:
            comp = comp.unsqueeze(-1) * torch.randn(d, generator=generator, dtype=torch.float64)
        full += comp
    return (full / full.norm()).to(dtype)


def all_indices(shape: Sequence[int]) -> torch.Tensor:
    """Every multi-index of ``shape`` in row-major order: [prod(shape), N] int64."""
    grids = torch.meshgrid(*[torch.arange(d) for d in shape], indexing="ij")
    return torch.stack([g.reshape(-1) for g in grids], dim=1)


class Problem:
    """Base: ``loss(model)`` (differentiable MSE) and the target tensor for reconstruction errors."""

    target: torch.Tensor

    def loss(self, model) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def reconstruction_error(self, model) -> float:
        """||W - W*|| / ||W*|| over the full tensor."""
        with torch.no_grad():
            w = model.tensor().to(self.target.dtype)
            if w.shape != self.target.shape:  # a (3, 4) model against a (3, 1) target broadcast silently
                raise ValueError(f"reconstruction_error: the model's tensor has shape {tuple(w.shape)}, the "
                                 f"target {tuple(self.target.shape)}")
            return float((w - self.target).norm() / self.target.norm())


@dataclass
class CompletionProblem(Problem):
    """Observed entries ``values`` of ``target`` at ``indices`` ([M, N]); loss = mean squared error."""

    target: torch.Tensor
    indices: torch.Tensor
    values: torch.Tensor

    @classmethod
    def random(cls, shape: Sequence[int], rank: int, num_observed: int, *, seed: int = 0,
               dtype: torch.dtype = torch.float32) -> "CompletionProblem":
        """Rank-``rank`` ground truth of unit norm; ``num_observed`` distinct entries, uniformly at random."""
        total = math.prod(shape)
        # check_int: 2.5 got past the range check and failed in the slice below
        num_observed = check_int("num_observed", num_observed, 1, total)
        gen = torch.Generator().manual_seed(seed)
        target = random_cp_tensor(shape, rank, generator=gen, dtype=dtype)
        flat = torch.randperm(total, generator=gen)[:num_observed]
        indices = all_indices(shape)[flat]
        return cls(target=target, indices=indices, values=target.reshape(-1)[flat])

    def to(self, device) -> "CompletionProblem":
        return CompletionProblem(self.target.to(device), self.indices.to(device), self.values.to(device))

    def loss(self, model) -> torch.Tensor:
        return ((model(self.indices) - self.values) ** 2).mean()


@dataclass
class SensingProblem(Problem):
    """Measurements y_k = <X_k, W*>; loss = mean_k (<X_k, W> - y_k)^2.

    ``kind="gaussian"``: X_k dense i.i.d. N(0, 1) / sqrt(#entries) (``measurements`` is [K, *shape]).
    ``kind="rank_one"``: X_k = x_k1 ⊗ ... ⊗ x_kN with x_kn ~ N(0, I / d_n) (``measurements`` is the
    list of N [K, d_n] matrices); <X_k, W> for a CP model is then sum_r prod_n <x_kn, A_n[:, r]>, with
    no full tensor.
    """

    target: torch.Tensor
    kind: str
    measurements: object
    values: torch.Tensor

    @classmethod
    def random(cls, shape: Sequence[int], rank: int, num_measurements: int, *, kind: str = "gaussian",
               seed: int = 0, dtype: torch.dtype = torch.float32) -> "SensingProblem":
        if kind not in ("gaussian", "rank_one"):
            raise ValueError(f"kind must be 'gaussian' or 'rank_one', got {kind!r}")
        # check_int: 2.5 got past the range check and failed in torch.randn
        num_measurements = check_int("num_measurements", num_measurements, 1)
        gen = torch.Generator().manual_seed(seed)
        target = random_cp_tensor(shape, rank, generator=gen, dtype=dtype)
        if kind == "gaussian":
            x = torch.randn(num_measurements, *shape, generator=gen, dtype=dtype) / math.sqrt(target.numel())
            values = (x.reshape(num_measurements, -1) @ target.reshape(-1))
        else:
            x = [torch.randn(num_measurements, d, generator=gen, dtype=dtype) / math.sqrt(d) for d in shape]
            values = _rank_one_inner(x, target)
        return cls(target=target, kind=kind, measurements=x, values=values)

    def predict(self, model) -> torch.Tensor:
        # The model's shape must be the target's: zip() cut an order-4 problem to an order-2 model's two modes
        # (a loss, no error), and a reshape(-1) took any tensor with as many entries.
        if self.kind == "gaussian":
            w = model.tensor()
            self._check_shape(tuple(w.shape))
            k = self.values.shape[0]
            return self.measurements.reshape(k, -1).to(w.dtype) @ w.reshape(-1)
        factors = getattr(model, "factors", None)
        if factors is None:
            raise TypeError(f"rank_one sensing evaluates <X_k, W> from CP factors: the model needs .factors "
                            f"(CPFactorization), got {type(model).__name__}; use kind='gaussian' for other models")
        self._check_shape(tuple(a.shape[0] for a in factors))
        proj = [x.to(a.dtype) @ a for x, a in zip(self.measurements, factors)]  # N x [K, R]
        out = proj[0]
        for p in proj[1:]:
            out = out * p
        return out.sum(dim=1)

    def loss(self, model) -> torch.Tensor:
        return ((self.predict(model) - self.values) ** 2).mean()

    def _check_shape(self, shape: tuple) -> None:
        if shape != tuple(self.target.shape):
            raise ValueError(f"SensingProblem: the model's tensor has shape {shape}, the problem's target "
                             f"{tuple(self.target.shape)}")


def _rank_one_inner(xs, tensor: torch.Tensor) -> torch.Tensor:
    """<x_k1 ⊗ ... ⊗ x_kN, T> for every k: contract one mode at a time."""
    out = tensor.unsqueeze(0).expand(xs[0].shape[0], *tensor.shape)
    for x in xs:
        out = torch.einsum("kd,kd...->k...", x, out)
    return out
