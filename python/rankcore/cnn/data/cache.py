"""The on-disk cache of the generated tasks (see the package docstring): keyed, checked on load, written atomically."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np

from ...io import atomic_output

class CacheWarning(RuntimeWarning):
    """A cache file was ignored (and regenerated) or could not be written; the data returned are right."""


def cache_dir() -> Path:
    """``$RANKCORE_CACHE/cnn_data`` (default ``~/.cache/rankcore/cnn_data``; an empty variable counts as unset).

    ValueError if that path, or the nearest of its parents that exists, is not a directory (say
    ``$RANKCORE_CACHE`` names a file): a cache that cannot be written is a setup error worth a clear message,
    not a silent half-hour of regenerating data on every run.
    """
    env = os.environ.get("RANKCORE_CACHE", "")
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "rankcore"
    path = root / "cnn_data"
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                origin = f"$RANKCORE_CACHE={env}" if env else "the default cache ~/.cache/rankcore"
                raise ValueError(f"{origin}: {p} is not a directory (point RANKCORE_CACHE at a directory)")
            break
    return path


def _cache_path(name: str, key: dict) -> tuple[Path, str]:
    text = json.dumps(key, sort_keys=True)
    return cache_dir() / f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:20]}.npz", text


def _cache_load(path: Path, key_text: str, spec: dict, check) -> dict | None:
    """The arrays stored at ``path``, or None (with a :class:`CacheWarning` saying why, unless the file is
    simply missing) when it does not load, holds another key, or its arrays differ from ``spec``
    (name -> (dtype, shape)) or fail ``check(arrays) -> reason or None`` (cheap, vectorised value checks)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as err:  # truncated zip, bad CRC, not a zip, unreadable...
        reason = f"it does not load ({type(err).__name__}: {err})"
    else:
        key = arrays.pop("key", None)
        if key is None:
            reason = "it has no key"
        elif key.shape != () or str(key) != key_text:
            reason = "its key is not this configuration's"
        elif set(arrays) != set(spec):
            reason = f"it holds the arrays {sorted(arrays)}, expected {sorted(spec)}"
        else:
            reason = next((f"{name} is {arrays[name].dtype} {arrays[name].shape}, expected {np.dtype(dtype)} {shape}"
                           for name, (dtype, shape) in spec.items()
                           if arrays[name].dtype != dtype or arrays[name].shape != shape), None)
            reason = reason or check(arrays)
        if reason is None:
            return arrays
    warnings.warn(f"rankcore.cnn.data: ignoring the cache file {path}: {reason}; regenerating it", CacheWarning,
                  stacklevel=3)
    return None


def _cache_store(path: Path, key_text: str, arrays: dict) -> None:
    """Write to a temporary file next to ``path``, then ``os.replace``: readers never see a partial file, and an
    interrupted write (Ctrl-C, a crash) leaves the previous file, or none. A failed write (read-only or full
    disk) only warns: the caller still returns the data."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # durable: the data reach the disk before the name does (the next run trusts the file)
        with atomic_output(path, durable=True) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, key=np.array(key_text), **arrays)
    except OSError as err:
        warnings.warn(f"rankcore.cnn.data: could not write the cache file {path} ({err}); the data are returned "
                      f"but not cached", CacheWarning, stacklevel=3)
