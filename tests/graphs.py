"""Random test graphs (hypothesis strategies and seeded generators) shared by the test files."""

from __future__ import annotations

import torch
from hypothesis import strategies as st


@st.composite
def edge_lists(draw, max_nodes: int = 12, max_edges: int = 40, undirected: bool | None = None,
               min_nodes: int = 0):
    """(edge_index [2, m] int64, num_nodes, undirected): duplicates, self-loops and isolated vertices
    all occur. When undirected, every edge is present in both directions (in shuffled column order)."""
    n = draw(st.integers(min_nodes, max_nodes))
    if undirected is None:
        undirected = draw(st.booleans())
    if n == 0:
        return torch.zeros(2, 0, dtype=torch.int64), 0, undirected
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=max_edges))
    if undirected:
        pairs = pairs + [(v, u) for u, v in pairs]
        pairs = draw(st.permutations(pairs))
    edge_index = torch.tensor(pairs, dtype=torch.int64).reshape(-1, 2).t().contiguous()
    return edge_index, n, undirected


def masks(draw, k: int | None, n: int) -> torch.Tensor:
    """A bool mask [n] (k None) or a batch [k, n], drawn with hypothesis."""
    shape = (n,) if k is None else (k, n)
    bits = draw(st.lists(st.booleans(), min_size=n * (k or 1), max_size=n * (k or 1)))
    return torch.tensor(bits, dtype=torch.bool).reshape(shape)


def random_undirected(n: int, p: float, seed: int = 0) -> tuple[torch.Tensor, int]:
    """A seeded G(n, p) graph as an undirected edge_index (both directions, columns sorted), and n."""
    gen = torch.Generator().manual_seed(seed)
    upper = torch.triu(torch.rand(n, n, generator=gen) < p, diagonal=1)
    u, v = upper.nonzero().t()
    return torch.cat([torch.stack([u, v]), torch.stack([v, u])], dim=1), n


def path_between_cliques(length: int, clique: int):
    """A path p_0 .. p_length with a clique K_clique hung on each end (on p_0 and on p_length): undirected."""
    edges = [(i, i + 1) for i in range(length)]
    first, second = length + 1, length + 1 + clique
    for base, end in ((first, 0), (second, length)):
        edges += [(base + a, base + b) for a in range(clique) for b in range(a + 1, clique)] + [(end, base)]
    ei = torch.tensor(edges).t()
    return torch.cat([ei, ei.flip(0)], dim=1), length + 1 + 2 * clique
