"""Graph half of rankcore: the :class:`Graph` container, walk counting, boundary and walk index."""

from .container import Graph
from .walks import boundary, count_walks, walk_index
from .wis import SparsifyResult, wis

__all__ = ["Graph", "SparsifyResult", "boundary", "count_walks", "walk_index", "wis"]
