"""Two simple sparsifiers the literature compares WIS against, as removal orders (see graph.sparsify).

Both refer to the canonical undirected edge list (u < v, sorted by (u, v)) of the simple graph, and
degrees are those of the input simple graph (duplicates merged, self-loops ignored).

``"k_neighbor"``: the K-neighbour sparsifier (Sadhanala, Wang & Tibshirani, "Graph sparsification
approaches for Laplacian smoothing", AISTATS 2016; the K-Neighbor baseline of Chen et al., VLDB 2024):
every vertex keeps k of its incident edges and an edge survives when EITHER endpoint keeps it (the
union), so every vertex keeps at least min(k, deg) edges; a vertex may keep more than k when its
neighbours pick edges to it. As one order for every k:

* every vertex i ranks its incident edges 1..deg(i) by a preference (``score``):
  ``"random"`` (default, the published sparsifier: i keeps a uniform random k-subset): a seeded
  uniform permutation; ``"degree"`` (deterministic): the neighbour's degree, descending (i keeps its
  k best-connected neighbours, the ranking of NetworKit's Local Degree over ALL neighbours), equal
  degrees by the smaller neighbour id;
* edge {u, v} gets best = min(rank_u, rank_v) and worst = max(rank_u, rank_v); the edges kept with
  budget k are exactly those with best <= k;
* removal order: best descending, then worst descending (among edges first kept at the same budget,
  the one the other endpoint wants least goes first), then ties: ``"degree"`` by (u, v);
  ``"random"`` by a seeded uniform permutation of the edges (so a ratio that cuts inside a level
  removes a uniform subset of it, not the low ids).

So removing every edge with best > k is a prefix of the order (``sparsify(..., k=k)`` removes exactly
that prefix), and ``ratio`` / ``num_remove`` cut the same order anywhere. Random stream:
``g = torch.Generator().manual_seed(seed)``; ``P = torch.randperm(2M, generator=g)`` gives slot s the
priority P[s], where slot e < M is (owner u_e, edge e) and slot M + e is (owner v_e, edge e), and each
vertex ranks its slots by priority ascending; then ``T = torch.randperm(M, generator=g)``, ties by
T[e] ascending.

``"degree"``: the degree-based one-shot score score(e) = 1/d_u + 1/d_v. Edges with the LOWEST score
(both endpoints high-degree) are removed first, ties by (u, v): edges between hubs go first, since a
hub loses a small fraction of its neighbourhood and keeps other paths, while low-degree vertices keep
their few edges (and stay connected) longest; the same intent as 1-WIS's maximisation of
(min deg, max deg), computed once instead of greedily. The score is compared exactly: it is sorted as
the correctly rounded float64 of (d_u + d_v) / (d_u d_v), and distinct scores with degrees below 2^17
differ by at least 1 / (d_u d_v d_u' d_v') > 2^-52 x score, so they never round to the same float
(rounding is monotone: never reordered either); above that degree two scores within one ulp tie.

All vectorised: a few stable sorts of the 2M edge slots, O(M log M) time, O(M) memory.
"""

from __future__ import annotations

import torch

from .container import Graph

K_NEIGHBOR_SCORES = ("random", "degree")


def _check_score(score) -> str:
    if not isinstance(score, str) or score not in K_NEIGHBOR_SCORES:
        raise ValueError(f"k_neighbor score must be one of {', '.join(K_NEIGHBOR_SCORES)}, got {score!r}")
    return score


def k_neighbor_ranks(graph: Graph, edges: torch.Tensor, seed: int = 0, score: str = "random"
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Generator]:
    """(rank_u, rank_v, generator): int64 [M] each, the 1-based rank of edge e = (u, v) in u's and in
    v's preference list (module docstring); the generator has drawn the slot priorities ("random")."""
    score = _check_score(score)
    m = edges.shape[0]
    u, v = edges[:, 0], edges[:, 1]
    owner = torch.cat([u, v])
    other = torch.cat([v, u])
    gen = torch.Generator().manual_seed(seed)
    # perm: the slots sorted by (owner, preference); stable sorts, least significant key first
    if score == "random":
        perm = torch.argsort(torch.randperm(2 * m, generator=gen))
    else:
        deg = graph.degree().cpu()
        perm = torch.argsort(other, stable=True)
        perm = perm[torch.argsort(deg[other[perm]], descending=True, stable=True)]
    perm = perm[torch.argsort(owner[perm], stable=True)]
    counts = torch.bincount(owner, minlength=graph.num_nodes)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty(2 * m, dtype=torch.int64)
    rank[perm] = torch.arange(2 * m) - starts[owner[perm]] + 1
    return rank[:m], rank[m:], gen


def k_neighbor_order(graph: Graph, edges: torch.Tensor, seed: int = 0, score: str = "random"
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """(order [M], best [M]): the K-neighbour removal order as edge ids (rows of ``edges``) and each ordered
    edge's best rank (non-increasing along the order: the edges removed under budget k are the prefix with
    best > k)."""
    rank_u, rank_v, gen = k_neighbor_ranks(graph, edges, seed, score)
    best, worst = torch.minimum(rank_u, rank_v), torch.maximum(rank_u, rank_v)
    if score == "random":
        idx = torch.argsort(torch.randperm(edges.shape[0], generator=gen))
    else:
        idx = torch.arange(edges.shape[0])  # edges are sorted by (u, v)
    idx = idx[torch.argsort(worst[idx], descending=True, stable=True)]
    idx = idx[torch.argsort(best[idx], descending=True, stable=True)]
    return idx, best[idx]


def k_neighbor_budget_count(best_in_order: torch.Tensor, k: int) -> int:
    """How many edges budget k removes: the leading run of the order with best rank > k."""
    return int((best_in_order > k).sum())


def degree_scores(graph: Graph, edges: torch.Tensor) -> torch.Tensor:
    """1/d_u + 1/d_v of every edge, float64 [M], as one correctly rounded division (module docstring)."""
    deg = graph.degree().cpu().to(torch.float64)
    du, dv = deg[edges[:, 0]], deg[edges[:, 1]]
    return (du + dv) / (du * dv)


def degree_order(graph: Graph, edges: torch.Tensor) -> torch.Tensor:
    """Edge ids (rows of ``edges``) in removal order: 1/d_u + 1/d_v ascending."""
    # edges are sorted by (u, v), so a stable sort breaks ties by (u, v)
    return torch.argsort(degree_scores(graph, edges), stable=True)
