"""Built-in graphs that need no download.

``karate_club()`` is Zachary's karate club (34 members, 78 friendships; W. W. Zachary, 1977), the
graph the quick start runs on. Its ``club`` mask marks the members who stayed with Mr. Hi (vertex 0)
after the split, the classic two-community partition.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

_KARATE_EDGES = [
    (0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (0, 6), (0, 7), (0, 8), (0, 10), (0, 11), (0, 12),
    (0, 13), (0, 17), (0, 19), (0, 21), (0, 31), (1, 2), (1, 3), (1, 7), (1, 13), (1, 17), (1, 19),
    (1, 21), (1, 30), (2, 3), (2, 7), (2, 8), (2, 9), (2, 13), (2, 27), (2, 28), (2, 32), (3, 7),
    (3, 12), (3, 13), (4, 6), (4, 10), (5, 6), (5, 10), (5, 16), (6, 16), (8, 30), (8, 32), (8, 33),
    (9, 33), (13, 33), (14, 32), (14, 33), (15, 32), (15, 33), (18, 32), (18, 33), (19, 33),
    (20, 32), (20, 33), (22, 32), (22, 33), (23, 25), (23, 27), (23, 29), (23, 32), (23, 33),
    (24, 25), (24, 27), (24, 31), (25, 31), (26, 29), (26, 33), (27, 33), (28, 31), (28, 33),
    (29, 32), (29, 33), (30, 32), (30, 33), (31, 32), (31, 33), (32, 33),
]
_KARATE_MR_HI = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 16, 17, 19, 21]


@dataclass(frozen=True)
class BuiltinGraph:
    name: str
    edge_index: torch.Tensor  # [2, m] int64, both directions of every undirected edge
    num_nodes: int
    communities: torch.Tensor  # bool [n]: a natural partition of the vertices


def karate_club() -> BuiltinGraph:
    """Zachary's karate club: 34 vertices, 78 undirected edges (156 edge_index columns)."""
    one_way = torch.tensor(_KARATE_EDGES, dtype=torch.int64).t()
    edge_index = torch.cat([one_way, one_way.flip(0)], dim=1)
    club = torch.zeros(34, dtype=torch.bool)
    club[_KARATE_MR_HI] = True
    return BuiltinGraph("karate", edge_index, 34, club)


BUILTIN = {"karate": karate_club}


def power_law_graph(num_nodes: int, num_edges: int, exponent: float = 2.5, seed: int = 0) -> torch.Tensor:
    """A seeded Chung–Lu random graph with a power-law degree sequence, for tests and benchmarks.

    Samples ``num_edges`` undirected edges whose endpoints are drawn with probability proportional to
    w_i = (i + 1)^(-1 / (exponent - 1)) (so degrees follow a power law with that exponent), then
    relabels the vertices with a random permutation so hubs are not clustered at low ids. Returns a
    ``[2, 2 * num_edges]`` int64 edge_index holding both directions; a few self-loops and duplicate
    edges occur, as in real edge lists (rankcore drops / merges them).
    """
    if num_nodes < 1 or num_edges < 0:
        raise ValueError(f"need num_nodes >= 1 and num_edges >= 0, got {num_nodes}, {num_edges}")
    if exponent <= 2:
        raise ValueError(f"exponent must be > 2, got {exponent}")
    gen = torch.Generator().manual_seed(seed)
    weights = torch.arange(1, num_nodes + 1, dtype=torch.float64).pow(-1.0 / (exponent - 1.0))
    cdf = weights.cumsum(0)
    cdf /= cdf[-1].clone()
    # Inverse-CDF sampling (torch.multinomial caps the number of categories at 2^24).
    ends = torch.searchsorted(cdf, torch.rand(2 * num_edges, generator=gen, dtype=torch.float64))
    ends = ends.clamp_(max=num_nodes - 1)
    relabel = torch.randperm(num_nodes, generator=gen)
    src, dst = relabel[ends[:num_edges]], relabel[ends[num_edges:]]
    return torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
