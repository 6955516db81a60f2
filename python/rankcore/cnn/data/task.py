"""What both generators return (:class:`TaskData`), their version strings and argument checks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..regions import Region

IS_SAME_CLASS_VERSION = "is-same-class/2"  # 2: a validation part of the digits
PATHFINDER_VERSION = "pathfinder/1"


@dataclass
class TaskData:
    """A binary task: ``images`` float32 ``[N, 1, H, W]``, ``labels`` float32 ``[N]`` in {0, 1}.

    ``regions``: the two object slots (left, right) of :func:`is_same_class`, ``None`` for :func:`pathfinder`.
    ``masks`` (bool ``[N, H, W]``) and ``markers`` (int64 ``[N, 2, 2]``, (row, col)) for :func:`pathfinder`.
    ``meta``: the generating arguments and the generator's constants (normalisation, geometry).
    """

    images: torch.Tensor
    labels: torch.Tensor
    regions: tuple[Region, Region] | None = None
    masks: torch.Tensor | None = None
    markers: torch.Tensor | None = None
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def _int(name: str, value, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _even_count(name: str, value) -> int:
    value = _int(name, value, 2)
    if value % 2:
        raise ValueError(f"{name} must be even (labels are exactly balanced), got {value}")
    return value
