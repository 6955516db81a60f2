"""What the commands share: the one-line error and the partitions shown when none is given."""

from __future__ import annotations

import torch


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def default_partitions(n: int, default_part, random_half: bool) -> tuple[list, list[str]]:
    """The partitions shown when none is given: the dataset's communities (if any), the first half of
    the ids and, optionally, a random half (seed 0)."""
    parts, labels = [], []
    if default_part is not None:
        parts.append(default_part)
        labels.append("communities")
    parts.append(torch.arange(n) < n // 2)
    labels.append("first half of the ids")
    if random_half:
        parts.append(torch.rand(n, generator=torch.Generator().manual_seed(0)) < 0.5)
        labels.append("random half (seed 0)")
    return parts, labels
