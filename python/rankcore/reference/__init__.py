"""Pure-PyTorch / Python reference implementations written straight from the definitions in docs/definitions.md.

They favour obviousness over speed (dense matrices, Python integers) and are meant for small test
graphs only. Tests compare every fast path against them.
"""

from .walks import (
    boundary_reference,
    closed_adjacency_hat,
    count_walks_reference,
    walk_index_reference,
)
from .structure import closed_walk_counts_reference, edge_common_neighbors_reference
from .sparsify import effective_resistance_reference, effective_resistance_sketch_reference, local_degree_reference
from .wis import singleton_scores, wis_reference
from .wis_rounds import round_key, simulate_round

__all__ = [
    "boundary_reference",
    "closed_adjacency_hat",
    "closed_walk_counts_reference",
    "count_walks_reference",
    "edge_common_neighbors_reference",
    "effective_resistance_reference",
    "effective_resistance_sketch_reference",
    "local_degree_reference",
    "round_key",
    "simulate_round",
    "singleton_scores",
    "walk_index_reference",
    "wis_reference",
]
