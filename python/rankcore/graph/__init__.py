"""Graph half of rankcore: the :class:`Graph` container, walk counting, boundary and walk index."""

from .container import Graph
from .walks import boundary, count_walks, walk_index

__all__ = ["Graph", "boundary", "count_walks", "walk_index"]
