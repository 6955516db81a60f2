"""Deep matrix factorization W = W_1 W_2 ... W_depth (definitions §3; Razin & Cohen, NeurIPS 2020)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..graph.arguments import check_int
from ._indices import check_indices_in_range


class DeepMatrixFactorization(nn.Module):
    """W = W_1 ... W_depth for a ``shape = (m, n)`` matrix; hidden widths ``width`` (default min(m, n),
    enough to express every matrix). ``init="gaussian"``: layers i.i.d. N(0, init_std^2);
    ``init="balanced"``: init_std times random orthogonal matrices. ``forward(indices)`` takes
    [B, 2] (row, column) int64 pairs, so :class:`~rankcore.tensor.CompletionProblem` and
    :func:`~rankcore.tensor.train` work unchanged.
    """

    def __init__(self, shape: Sequence[int], depth: int, init_std: float, *, init: str = "gaussian",
                 width: int | None = None,
                 dtype: torch.dtype = torch.float64, device=None, generator: torch.Generator | None = None):
        super().__init__()
        # check_int, not int(): a depth of 2.5 or a width of 1.5 was silently truncated
        shape = tuple(check_int("DeepMatrixFactorization: shape entries", d, 1) for d in shape)
        if len(shape) != 2:
            raise ValueError(f"DeepMatrixFactorization: shape must be (m, n) with m, n >= 1, got {shape}")
        depth = check_int("DeepMatrixFactorization: depth", depth, 1)
        if not 0 <= init_std < math.inf:
            raise ValueError(f"DeepMatrixFactorization: init_std must be finite and >= 0, got {init_std}")
        width = min(shape) if width is None else check_int("DeepMatrixFactorization: width", width, 1)
        if init not in ("gaussian", "balanced"):
            raise ValueError(f"DeepMatrixFactorization: init must be 'gaussian' or 'balanced', got {init!r}")
        self.shape, self.depth = shape, int(depth)
        dims = [shape[0]] + [width] * (self.depth - 1) + [shape[1]]
        self.layers = nn.ParameterList(
            nn.Parameter((torch.randn(dims[k], dims[k + 1], generator=generator, dtype=dtype) * init_std).to(device))
            for k in range(self.depth))
        if init == "balanced":
            # init_std times a random orthogonal (semi-orthogonal) matrix per layer: W_{j+1}^T W_{j+1} =
            # W_j W_j^T exactly, the balancedness that gradient flow conserves and the theory assumes.
            with torch.no_grad():
                for w in self.layers:
                    q, _ = torch.linalg.qr(w if w.shape[0] >= w.shape[1] else w.T)
                    w.copy_((q if w.shape[0] >= w.shape[1] else q.T) * init_std)

    def matrix(self) -> torch.Tensor:
        """The end-to-end matrix W_1 ... W_depth (differentiable)."""
        w = self.layers[0]
        for layer in list(self.layers)[1:]:
            w = w @ layer
        return w

    tensor = matrix  # what Problem.reconstruction_error calls

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        if not isinstance(indices, torch.Tensor) or indices.dtype != torch.int64:
            raise TypeError("DeepMatrixFactorization: indices must be an int64 tensor [B, 2]")
        if indices.dim() != 2 or indices.shape[1] != 2:
            raise ValueError(f"DeepMatrixFactorization: indices must be [B, 2], got {tuple(indices.shape)}")
        check_indices_in_range(indices, self.shape, "DeepMatrixFactorization", lambda n: f"dimension {self.shape[n]}")
        w = self.matrix()
        return w[indices[:, 0], indices[:, 1]]


@dataclass
class MatrixCompletion:
    """Observed entries ``values`` at ``indices`` ([M, 2]); loss = 1/2 sum of squared errors (the paper's)."""

    indices: torch.Tensor
    values: torch.Tensor

    @classmethod
    def counterexample(cls, dtype: torch.dtype = torch.float64) -> "MatrixCompletion":
        """The 2x2 problem of Razin & Cohen (2020): w12 = 1, w21 = 1, w22 = 0 observed, w11 not.

        Every solution has det W = -w12 w21 = -1 (whatever w11 is).
        """
        return cls(torch.tensor([[0, 1], [1, 0], [1, 1]]), torch.tensor([1.0, 1.0, 0.0], dtype=dtype))

    def loss(self, model) -> torch.Tensor:
        return 0.5 * ((model(self.indices) - self.values) ** 2).sum()


def positive_determinant_(model: DeepMatrixFactorization) -> DeepMatrixFactorization:
    """Flip the sign of W_1's first row if det(W) < 0 (square end-to-end matrix), in place.

    Gradient flow keeps the sign of det W for depth >= 2, so an init with det W > 0 can never reach a
    solution of the 2x2 counterexample (det = -1) at finite norm.
    """
    if model.shape[0] != model.shape[1]:
        raise ValueError("positive_determinant_: needs a square matrix")
    with torch.no_grad():
        if float(torch.linalg.det(model.matrix())) < 0:
            model.layers[0][0].neg_()
    return model


def matrix_norms(w: torch.Tensor) -> dict:
    """Frobenius, nuclear and spectral norms and sigma_min / sigma_max of a matrix."""
    s = torch.linalg.svdvals(w.detach().double())
    return {"frobenius": float(s.norm()), "nuclear": float(s.sum()), "spectral": float(s[0]),
            "sigma_ratio": float(s[-1] / s[0]) if s[0] > 0 else 0.0}
