"""Writing graph files safely: what the rankcore command and the distributed launcher share.

* :func:`atomic_output`: a file is written to a temporary file beside the target and renamed over it
  only once complete, so a full disk, Ctrl-C or a crash never leaves a truncated file under a header that
  claims the full count, and an existing file is never half-overwritten.
* :func:`format_pairs`: "u<sep>v" lines of an int64 ``[2, m]`` tensor (any int64, negative ids included),
  vectorised.
* :func:`write_npz`: the scipy sparse adjacency of a column list, multiplicities as int64 counts (a
  column listed 256 times is a count of 256, never an int8 that wraps to 0).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

__all__ = ["AtomicFile", "atomic_output", "format_pairs", "write_npz", "same_file"]


def same_file(a, b) -> bool:
    """True when paths ``a`` and ``b`` name the same existing file (also through links)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _new_file_mode(target: Path) -> int:
    """The permissions the target would get from a plain ``open``: its own when it exists, else 0666 less
    the umask (``mkstemp`` creates 0600)."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


class AtomicFile:
    """A temporary file beside ``path`` (same folder, same suffix, so writers that append a suffix keep it):
    write it through ``.tmp``, then :meth:`commit` renames it over ``path`` in one step, or :meth:`discard`
    removes it and leaves ``path`` untouched. For writes that cannot sit in one ``with`` block (the
    distributed writer agrees on errors between its steps); :func:`atomic_output` otherwise."""

    def __init__(self, path):
        self.target = Path(path)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=f".tmp{self.target.suffix}",
                                        dir=self.target.parent)
        os.close(fd)

    def commit(self) -> None:
        try:
            os.chmod(self.tmp, _new_file_mode(self.target))
            os.replace(self.tmp, self.target)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)


@contextlib.contextmanager
def atomic_output(path):
    """``with atomic_output(path) as tmp:`` write the whole file to ``tmp``; on a clean exit it replaces
    ``path`` in one rename, on any exception (KeyboardInterrupt included) it is removed and ``path`` is
    untouched."""
    out = AtomicFile(path)
    try:
        yield out.tmp
    except BaseException:
        out.discard()
        raise
    out.commit()


def format_pairs(a: torch.Tensor, sep: bytes, block: int = 1 << 20) -> bytes:
    """Lines "u<sep>v\\n" for the columns of an int64 ``[2, m]`` tensor, vectorised in blocks (numpy digit
    arithmetic on the magnitudes + a mask over a fixed-width byte matrix; no per-edge Python)."""
    arr = a.numpy()
    m = arr.shape[1]
    if m == 0:
        return b""
    signed = bool((arr < 0).any())
    if signed:  # magnitudes as uint64 (|-2^63| does not fit int64) and a sign column before the digits
        neg = arr < 0
        mag = np.where(neg, (~arr.astype(np.uint64)) + np.uint64(1), arr.astype(np.uint64))
    else:  # the common case stays in int64 arithmetic, which numpy divides faster
        mag = arr
    width = max(1, len(str(int(mag.max()))))
    pow10 = np.array([10**e for e in range(width - 1, -1, -1)], dtype=mag.dtype)
    field = width + signed
    out = []
    for lo in range(0, m, block):
        k = min(block, m - lo)
        mat = np.empty((k, 2 * field + 2), dtype=np.uint8)
        keep = np.ones(mat.shape, dtype=bool)
        for r, off in ((0, 0), (1, field + 1)):
            x = mag[r, lo:lo + k][:, None]
            if signed:
                mat[:, off] = ord("-")
                keep[:, off] = neg[r, lo:lo + k]
            digits = slice(off + signed, off + field)
            mat[:, digits] = (x // pow10) % 10 + 48
            keep[:, digits] = ~((x < pow10) & (pow10 > 1))  # leading zeros dropped
        mat[:, field] = sep[0]
        mat[:, -1] = 10
        out.append(mat[keep].tobytes())
    return b"".join(out)


def write_npz(path, edge_index: torch.Tensor, num_nodes: int) -> None:
    """``scipy.sparse.save_npz(path, ...)`` of the ``num_nodes``-square adjacency of the columns of
    ``edge_index`` (int64 values: how often each column appears). Writes ``path`` directly: callers pass
    the temporary file of :func:`atomic_output` / :class:`AtomicFile`."""
    import scipy.sparse

    counts = np.ones(edge_index.shape[1], dtype=np.int64)
    mat = scipy.sparse.coo_matrix((counts, (edge_index[0].numpy(), edge_index[1].numpy())),
                                  shape=(num_nodes, num_nodes)).tocsr()
    scipy.sparse.save_npz(path, mat)
