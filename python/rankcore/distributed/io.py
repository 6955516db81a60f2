"""Reading one rank's share of an edge-list file: no rank ever holds the whole edge list.

``read_edge_list_shard(path, rank, world_size)`` parses the lines whose first byte lies in the rank's
byte range ``[size * rank // world_size, size * (rank + 1) // world_size)`` with the native reader
(:func:`rankcore.ops.read_edge_list`: same format, same parallel chunks, same ``"path:line: ..."``
errors with the file's own line numbers). Every line starts in exactly one range, so the shards of
ranks 0..W-1 concatenated in rank order are the edges of the whole file in file order.
"""

from __future__ import annotations

import os

import torch

__all__ = ["shard_byte_range", "read_edge_list_shard"]


def shard_byte_range(size: int, rank: int, world_size: int) -> tuple[int, int]:
    """``(begin, end)``: rank ``rank``'s part ``[size*rank//W, size*(rank+1)//W)`` of ``size`` bytes."""
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
    return size * rank // world_size, size * (rank + 1) // world_size


def read_edge_list_shard(path, rank: int, world_size: int, max_id: int | None = None) -> torch.Tensor:
    """int64 ``[2, m_r]``: the edges of the lines of ``path`` that start in rank ``rank``'s byte range.

    Same format as :func:`rankcore.ops.read_edge_list` (one "u v" per line, whitespace and/or commas,
    '#' comments, an optional non-numeric header as the file's first data line). A malformed line
    raises ``ValueError("path:line: ...")`` on the rank that owns it, with the file's line number.
    ``max_id``: every id must lie in ``[0, max_id]`` (None: any int64), as in ``read_edge_list``.
    """
    from .. import ops

    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise ValueError(f"{path}: cannot open: {err.strerror or err}") from None
    begin, end = shard_byte_range(size, rank, world_size)
    return ops.read_edge_list(path, begin=begin, end=end, max_id=max_id)
