"""Brute-force references for the baseline sparsifiers, written from their definitions (small graphs only).

* Effective resistance of {u, v}: R_uv = (e_u - e_v)^T L^+ (e_u - e_v) with L^+ the dense Moore–Penrose
  pseudo-inverse of the graph Laplacian (infinite for vertices in different components; never asked).
* Its JL sketch (Spielman & Srivastava 2008): Z = Q B L^+ with Q a k x m matrix of ±1/sqrt(k), drawn as
  ``numpy.random.default_rng(seed).integers(0, 2, size=(k, m))`` over the edges u < v in (u, v) order,
  B the m x n incidence matrix (row e = e_u - e_v); R_uv ≈ ||Z[:, u] - Z[:, v]||².
* Local Degree score (Lindner, Staudt & Hamann 2015; NetworKit LocalDegreeScore): vertex i of degree d
  lists its neighbours of strictly larger degree, by degree descending (equal degrees: smaller id first);
  the neighbour at position r (1-based) gets exponent 1 - log(r) / log(d), or 1 when d = 1; the edge
  score is the largest exponent it received from either endpoint, 0 if none.
* K-neighbour sparsifier (rankcore.graph.baselines): every vertex lists its incident edges by preference,
  ``"random"``: by priority P[slot] with P = torch.randperm(2M) from ``torch.Generator().manual_seed(seed)``
  (slot e: edge e's entry at its u, slot M + e: at its v; edges numbered in (u, v) order), ascending;
  ``"degree"``: by the neighbour's degree descending, then the neighbour's id. Budget k keeps every edge
  that some endpoint lists among its first k. Removal order: by (best rank, worst rank) over the two
  endpoints, both descending, then (u, v) (``"degree"``) or T[e] ascending with T = torch.randperm(M) drawn
  next from the same generator (``"random"``).
* Degree score: 1/d_u + 1/d_v as an exact fraction; removal order: score ascending, then (u, v).
* Guards: a fixed order walked edge by edge, each removed when the guards allow it at that moment.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import torch


def _simple_edges(edge_index, num_nodes) -> tuple[np.ndarray, list[tuple[int, int]]]:
    adjacency = np.zeros((num_nodes, num_nodes), dtype=np.int64)
    for s, t in zip(*[row.tolist() for row in edge_index]):
        if s != t:
            adjacency[s, t] = adjacency[t, s] = 1
    edges = [(u, v) for u in range(num_nodes) for v in range(u + 1, num_nodes) if adjacency[u, v]]
    return adjacency, edges


def effective_resistance_reference(edge_index, num_nodes) -> dict[tuple[int, int], float]:
    """{(u, v): R_uv} for every undirected edge u < v, from the dense pseudo-inverse."""
    adjacency, edges = _simple_edges(edge_index, num_nodes)
    laplacian = np.diag(adjacency.sum(axis=1)) - adjacency
    pinv = np.linalg.pinv(laplacian.astype(np.float64))
    return {(u, v): float(pinv[u, u] + pinv[v, v] - 2 * pinv[u, v]) for u, v in edges}


def effective_resistance_sketch_reference(edge_index, num_nodes, sketch_dim: int, seed: int = 0
                                          ) -> dict[tuple[int, int], float]:
    """{(u, v): ||Z[:, u] - Z[:, v]||²} for every undirected edge u < v, Z = Q B L^+ formed densely."""
    adjacency, edges = _simple_edges(edge_index, num_nodes)
    laplacian = np.diag(adjacency.sum(axis=1)) - adjacency
    pinv = np.linalg.pinv(laplacian.astype(np.float64))
    incidence = np.zeros((len(edges), num_nodes))
    for e, (u, v) in enumerate(edges):
        incidence[e, u], incidence[e, v] = 1.0, -1.0
    q = (np.random.default_rng(seed).integers(0, 2, size=(sketch_dim, len(edges))) * 2 - 1) / math.sqrt(sketch_dim)
    z = q @ incidence @ pinv
    return {(u, v): float(((z[:, u] - z[:, v]) ** 2).sum()) for u, v in edges}


def local_degree_reference(edge_index, num_nodes) -> dict[tuple[int, int], float]:
    """{(u, v): Local Degree score} for every undirected edge u < v."""
    adjacency, edges = _simple_edges(edge_index, num_nodes)
    degree = adjacency.sum(axis=1)
    score = {e: 0.0 for e in edges}
    for i in range(num_nodes):
        d = int(degree[i])
        higher = [j for j in range(num_nodes) if adjacency[i, j] and degree[j] > d]
        higher.sort(key=lambda j: (-degree[j], j))
        for rank, j in enumerate(higher, 1):
            e = 1.0 if d <= 1 else 1.0 - math.log(rank) / math.log(d)
            key = (min(i, j), max(i, j))
            score[key] = max(score[key], e)
    return score


def k_neighbor_preferences(edge_index, num_nodes, seed: int = 0, score: str = "random"
                           ) -> tuple[dict[int, list[tuple[int, int]]], dict[tuple[int, int], int]]:
    """({vertex: its incident edges (u, v), most wanted first}, {edge: random tie key, or 0 for "degree"})."""
    adjacency, edges = _simple_edges(edge_index, num_nodes)
    degree = adjacency.sum(axis=1)
    m = len(edges)
    incident = {i: [e for e in edges if i in e] for i in range(num_nodes)}
    if score == "random":
        gen = torch.Generator().manual_seed(seed)
        p = torch.randperm(2 * m, generator=gen).tolist()
        t = torch.randperm(m, generator=gen).tolist()
        priority = {}
        for e, (u, v) in enumerate(edges):
            priority[u, (u, v)] = p[e]
            priority[v, (u, v)] = p[m + e]
        prefs = {i: sorted(incident[i], key=lambda e, i=i: priority[i, e]) for i in incident}
        tie = {e: t[j] for j, e in enumerate(edges)}
    else:
        def neighbour(i, e):
            return e[1] if e[0] == i else e[0]
        prefs = {i: sorted(incident[i], key=lambda e, i=i: (-degree[neighbour(i, e)], neighbour(i, e)))
                 for i in incident}
        tie = {e: 0 for e in edges}
    return prefs, tie


def k_neighbor_kept_reference(edge_index, num_nodes, k: int, seed: int = 0, score: str = "random"
                              ) -> set[tuple[int, int]]:
    """The edges budget k keeps: the union over vertices of their first k preferred edges."""
    prefs, _ = k_neighbor_preferences(edge_index, num_nodes, seed, score)
    return {e for listed in prefs.values() for e in listed[:k]}


def k_neighbor_order_reference(edge_index, num_nodes, seed: int = 0, score: str = "random") -> list[tuple[int, int]]:
    """The K-neighbour removal order over all edges (u < v)."""
    prefs, tie = k_neighbor_preferences(edge_index, num_nodes, seed, score)
    ranks = {}
    for listed in prefs.values():
        for r, e in enumerate(listed, 1):
            ranks.setdefault(e, []).append(r)
    return sorted(tie, key=lambda e: (-min(ranks[e]), -max(ranks[e]), tie[e], e))


def degree_order_reference(edge_index, num_nodes) -> list[tuple[int, int]]:
    """The degree-score removal order: 1/d_u + 1/d_v (exact fractions) ascending, then (u, v)."""
    adjacency, edges = _simple_edges(edge_index, num_nodes)
    degree = adjacency.sum(axis=1)
    return sorted(edges, key=lambda e: (Fraction(1, int(degree[e[0]])) + Fraction(1, int(degree[e[1]])), e))


def guarded_order_reference(edge_index, num_nodes, order: list[tuple[int, int]], num_remove: int,
                            min_degree: int = 0, keep_connected: bool = False) -> list[tuple[int, int]]:
    """A fixed removal order under the guards (definitions §2): walk ``order`` and remove each edge the guards
    allow at that moment (:func:`rankcore.reference.wis.guards_allow`), until ``num_remove`` are removed."""
    from .wis import guards_allow

    adjacency, _ = _simple_edges(edge_index, num_nodes)
    initial_degree = adjacency.sum(axis=1)
    removed = []
    for u, v in order:
        if len(removed) == num_remove:
            break
        if guards_allow(adjacency, initial_degree, u, v, min_degree, keep_connected):
            adjacency[u, v] = adjacency[v, u] = 0
            removed.append((u, v))
    return removed
