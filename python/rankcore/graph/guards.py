"""The guards every sparsifier takes (definitions §2): argument checks and the shortfall warning. The work is
native (csrc/ops/cpu/removal_guards.h, through ops.wis_greedy and ops.guarded_removal)."""

from __future__ import annotations

import warnings

import numpy as np

from .arguments import check_int


class GuardShortfallWarning(UserWarning):
    """The guards (``min_degree``, ``keep_connected``) forbid some of the requested removals: fewer edges were
    removed than asked for."""


def check_guards(min_degree, keep_connected) -> tuple[int, bool]:
    """``min_degree`` an int >= 0 (0: no degree guard), ``keep_connected`` a bool."""
    min_degree = check_int("min_degree", min_degree, 0)
    if isinstance(keep_connected, np.bool_):  # numpy's bool (as numpy ints pass check_int); it was refused as
        keep_connected = bool(keep_connected)  # "must be a bool, got bool"
    if not isinstance(keep_connected, bool):
        raise TypeError(f"keep_connected must be a bool, got {type(keep_connected).__name__}")
    return min_degree, keep_connected


def warn_shortfall(method: str, requested: int, removed: int, min_degree: int, keep_connected: bool) -> None:
    """One :class:`GuardShortfallWarning` when the guards allowed fewer than ``requested`` removals."""
    if removed < requested:
        guards = ", ".join(([f"min_degree={min_degree}"] if min_degree else [])
                           + (["keep_connected=True"] if keep_connected else []))
        warnings.warn(f"sparsify(method={method!r}): the guards ({guards}) allow only {removed} of the {requested} "
                      f"requested removals; removed {removed}", GuardShortfallWarning, stacklevel=3)
