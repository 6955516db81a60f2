"""Typed wrappers over ``torch.ops.rankcore.*`` plus their fake (meta) implementations.

The wrappers are the only place that calls the native ops directly. They translate the native
overflow error into :class:`OverflowError`; everything else (argument validation with friendly
messages) happens one level up, in :mod:`rankcore.graph`.
"""

from __future__ import annotations

import torch

from . import _C  # noqa: F401  (loads the shared library, which registers the ops)

_OVERFLOW_PREFIX = "rankcore overflow:"


def _raise_overflow_from(err: RuntimeError) -> None:
    msg = str(err)
    if _OVERFLOW_PREFIX in msg:
        detail = msg.split(_OVERFLOW_PREFIX, 1)[1].strip().splitlines()[0]
        raise OverflowError(detail) from None


def walk_count(rowptr: torch.Tensor, col: torch.Tensor, start: torch.Tensor, length: int) -> torch.Tensor:
    """``length`` steps of walk counting through Â = A + I on the in-neighbour CSR ``(rowptr, col)``.

    ``start`` is ``[n, k]`` (int64, exact, non-negative; or float64). Returns ``[n, k]`` with
    ``out[j, c] = sum_i start[i, c] * (Â^length)[i, j]``. Raises :class:`OverflowError` naming the walk
    length whose int64 counts overflowed.
    """
    try:
        return torch.ops.rankcore.walk_count.default(rowptr, col, start, length)
    except RuntimeError as err:
        _raise_overflow_from(err)
        raise


@torch.library.register_fake("rankcore::walk_count")
def _walk_count_fake(rowptr, col, start, length):
    torch._check(start.dim() == 2)
    torch._check(rowptr.dim() == 1 and rowptr.shape[0] == start.shape[0] + 1)
    return torch.empty_like(start, memory_format=torch.contiguous_format)


def wis_degree_greedy(rowptr: torch.Tensor, col: torch.Tensor, num_remove: int) -> torch.Tensor:
    """Exact 1-WIS (depth 2) removal order on a symmetric CSR: ``[num_remove, 2]`` int64, u < v."""
    return torch.ops.rankcore.wis_degree_greedy.default(rowptr, col, num_remove)


@torch.library.register_fake("rankcore::wis_degree_greedy")
def _wis_degree_greedy_fake(rowptr, col, num_remove):
    return rowptr.new_empty((num_remove, 2), dtype=torch.int64)
