"""Graph half of rankcore: the :class:`Graph` container, walk counting, boundary and walk index."""

from .container import Graph
from .walks import boundary, count_walks, walk_index
from .structure import closed_walk_counts, edge_common_neighbors, singleton_scores
from .guards import GuardShortfallWarning
from .result import SparsifyResult
from .wis import wis
from .sparsify import sparsify

__all__ = ["Graph", "GuardShortfallWarning", "SparsifyResult", "boundary", "closed_walk_counts", "count_walks", "edge_common_neighbors",
           "singleton_scores", "sparsify", "walk_index", "wis"]
