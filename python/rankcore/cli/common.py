"""What the commands share: the one-line error and the partitions shown when none is given."""

from __future__ import annotations

import os
from pathlib import Path

import torch


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def check_out_dir(path: str, option: str = "--out") -> None:
    """An output folder that exists or can be created (its first existing ancestor a writable folder), checked
    before any work: a file there was a traceback at the first write, after the whole run, its results lost."""
    p = Path(path).absolute()
    first = next((a for a in (p, *p.parents) if a.exists()), None)
    if first is not None and not first.is_dir():
        raise CliError(f"{option} {path}: {first} is not a directory")
    if first is not None and not os.access(first, os.W_OK | os.X_OK):
        raise CliError(f"{option} {path}: cannot write into {first} (permission denied)")


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
