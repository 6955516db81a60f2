"""Argument checks shared by every graph entry point (one place, public names).

Each check raises ``TypeError`` for a value of the wrong kind and ``ValueError`` for one out of range,
with a message naming the argument, before anything reaches the native ops (whose int64 arguments
would otherwise fail with pybind's "Unable to cast").
"""

from __future__ import annotations

import math
import re

import numpy as np
import torch

INT64_MAX = 2**63 - 1
MAX_NODES = 2**31 - 1  # CSR columns are stored as int32


def check_int(name: str, value, minimum: int, maximum: int = INT64_MAX) -> int:
    """``value`` as a Python int in ``[minimum, maximum]``: accepts int, numpy integers and one-element
    integer tensors; rejects bool, floats and anything else."""
    if isinstance(value, bool) or isinstance(value, np.bool_):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if isinstance(value, torch.Tensor):
        if value.numel() != 1 or value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
            raise TypeError(f"{name} must be an int, got a tensor of shape {list(value.shape)} and dtype {value.dtype}")
        if value.device.type == "meta":
            raise TypeError(f"{name} must be an int, got a meta tensor (it has no value)")
        value = int(value)
    elif isinstance(value, np.integer):
        value = int(value)
    elif not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


# ASCII digits only: [0-9] in a str pattern is the ten code points, never other scripts' digits (as \d would be).
_PLAIN_INT = re.compile(r"-?[0-9]+")


def parse_int(text: str, name: str) -> int:
    """``text`` (a token of a user's file or command line) as an int, when it is a plain ASCII decimal integer:
    digits with an optional leading ``-``. ``int()`` also reads ``1_0`` as 10 and accepts ``' 1 '``, ``+1`` and
    other scripts' digits (``'١'``): in an id list those are typos or another format, silently misread."""
    if not isinstance(text, str) or _PLAIN_INT.fullmatch(text) is None:
        raise ValueError(f"{name} must be a plain decimal integer (ASCII digits, optionally a leading '-'), "
                         f"got {str(text)[:40]!r}")
    try:
        return int(text)
    except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits): far beyond int64 anyway
        raise ValueError(f"{name} is out of range: an integer of {len(text.lstrip('-'))} digits") from None


def check_num_nodes(num_nodes) -> int:
    """A vertex count in ``[0, 2^31 - 1]`` (the CSR stores int32 columns)."""
    n = check_int("num_nodes", num_nodes, 0)
    if n > MAX_NODES:
        raise ValueError(f"num_nodes must be at most 2^31 - 1 = {MAX_NODES} (int32 CSR columns), got {n}; "
                         f"vertex ids are array positions: relabel sparse ids densely 0..n-1 first (the "
                         f"rankcore command: --relabel)")
    return n


MAX_SEED = 2**63 - 2  # seed + 1 (an independent stream of the spectral sparsifier) still fits int64


def check_seed(seed, name: str = "seed") -> int:
    """One rule for every seeded method: an int in ``[0, 2^63 - 2]``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(seed).__name__}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"{name} must be in [0, 2^63 - 2], got {int(seed)}")
    return int(seed)


def removal_count(num_edges: int, ratio=None, num_remove=None) -> int:
    """The number of undirected edges to remove: exactly one of ``ratio`` (fraction in [0, 1], rounded
    half up: ratio 0.5 of 5 edges removes 3) and ``num_remove`` (at most ``num_edges``)."""
    if (ratio is None) == (num_remove is None):
        raise ValueError("pass exactly one of ratio (fraction of undirected edges to remove) and num_remove")
    if num_remove is not None:
        k = check_int("num_remove", num_remove, 0)
        if k > num_edges:
            raise ValueError(f"num_remove={k} exceeds the {num_edges} undirected edges of the graph")
        return k
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float, np.floating, np.integer)):
        raise TypeError(f"ratio must be a number in [0, 1], got {type(ratio).__name__}")
    ratio = float(ratio)
    if not 0.0 <= ratio <= 1.0:  # also rejects NaN
        raise ValueError(f"ratio must be in [0, 1] (fraction of undirected edges removed), got {ratio}")
    return min(num_edges, int(math.floor(ratio * num_edges + 0.5)))


def available_memory_bytes() -> int | None:
    """MemAvailable of /proc/meminfo (None where unknown: then no check is made)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_allocation(num_bytes: int, what: str, hint: str = "") -> None:
    """Raise ``MemoryError`` up front, with the size and what it is for, when an op would allocate more
    than the machine has available (instead of dying later inside torch's allocator)."""
    available = available_memory_bytes()
    if available is not None and num_bytes > available:
        raise MemoryError(f"{what} needs about {num_bytes / 2**30:.1f} GiB but only {available / 2**30:.1f} GiB "
                          f"of memory is available{'; ' + hint if hint else ''}")
