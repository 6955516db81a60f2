"""The range check of a batch of multi-indices, shared by the factorizations that index their own tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def check_indices_in_range(indices: torch.Tensor, shape: Sequence[int], owner: str,
                           axis: Callable[[int], str]) -> None:
    """IndexError naming the first entry of ``indices`` ([B, N] int64) outside ``[0, shape[n])``: a negative index
    would otherwise read from the end of a table, a too-large one from a wrong entry. ``axis(n)`` describes mode n
    for the message."""
    bad = (indices < 0) | (indices >= torch.tensor(shape, device=indices.device))
    if bool(bad.any()):
        b, n = (int(v) for v in bad.nonzero()[0])
        raise IndexError(f"{owner}: indices[{b}, {n}] = {int(indices[b, n])} is out of range for {axis(n)}")
