"""Shared output helpers: JSON always, PNG through matplotlib (a clear error if it is missing)."""

from __future__ import annotations

import json
from pathlib import Path


def write_json(path: Path, data: dict) -> Path:
    """Writes ``data`` as compact JSON (result files can be large), atomically: a run interrupted while writing
    leaves the previous result file whole, not a truncated one."""
    from ..io import atomic_output

    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, separators=(",", ":"))  # serialise first: a bad value fails before any file is touched
    with atomic_output(path) as tmp:
        Path(tmp).write_text(text)
    return path


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend, or a RuntimeError saying what to install."""
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError("the PNG needs matplotlib (pip install matplotlib); the JSON was written") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, dpi: int = 110) -> Path:
    """Lay out, write (creating the folder) and close a matplotlib figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
