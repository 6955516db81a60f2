"""Brute-force WIS straight from the definition (definitions §2), for small test graphs.

Every step tries every remaining undirected edge, recomputes all singleton scores on H \\ e with a
dense matrix power, sorts them ascending and keeps the lexicographically largest vector; ties go to
the smallest (u, v) because candidates are tried in that order and only a strictly larger vector wins.
"""

from __future__ import annotations

import numpy as np
import torch


def singleton_scores(adjacency: np.ndarray, depth: int) -> np.ndarray:
    """s_t = (Â^L)_tt for non-isolated t, 0 for isolated t (Â = A + I), as Python ints.

    Entries of Â^L are at most (max degree + 1)^L; below 2^62 int64 arithmetic is exact and much faster,
    above it the product runs on Python ints.
    """
    n = adjacency.shape[0]
    max_row = int(adjacency.sum(axis=1).max()) + 1 if n else 1
    exact_dtype = np.int64 if max_row ** max(depth, 1) < 2**62 else object
    a_hat = adjacency.astype(exact_dtype) + np.identity(n, dtype=exact_dtype)
    power = np.identity(n, dtype=exact_dtype)
    for _ in range(depth):
        power = power.dot(a_hat)
    degree = adjacency.sum(axis=1)
    return np.array([int(power[t, t]) if degree[t] > 0 else 0 for t in range(n)], dtype=object)


def guards_allow(adjacency: np.ndarray, initial_degree: np.ndarray, u: int, v: int, min_degree: int = 0,
                 keep_connected: bool = False) -> bool:
    """Whether the guards (definitions §2) allow removing edge {u, v} from the graph ``adjacency`` now:
    min_degree = k keeps every vertex at or above min(k, its initial degree); keep_connected keeps u and v
    connected without the edge (a breadth-first search, straight from the definition)."""
    degree = adjacency.sum(axis=1)
    if min_degree > 0 and any(degree[x] - 1 < min(min_degree, initial_degree[x]) for x in (u, v)):
        return False
    if keep_connected:
        adjacency[u, v] = adjacency[v, u] = 0
        seen, frontier = {u}, [u]
        while frontier:
            frontier = [y for x in frontier for y in np.flatnonzero(adjacency[x]).tolist() if y not in seen]
            seen.update(frontier)
        adjacency[u, v] = adjacency[v, u] = 1
        if v not in seen:
            return False
    return True


def wis_reference(edge_index, num_nodes: int, num_remove: int, depth: int = 2, min_degree: int = 0,
                  keep_connected: bool = False) -> torch.Tensor:
    """Removal order ``[N, 2]`` (u < v) of the exact greedy (depth-1)-WIS. With guards, each step takes the
    best edge among those the guards allow at that step; N < num_remove when they allow none."""
    adjacency = np.zeros((num_nodes, num_nodes), dtype=np.int64)
    for u, v in torch.as_tensor(edge_index).t().tolist():
        if u != v:
            adjacency[u, v] = adjacency[v, u] = 1
    initial_degree = adjacency.sum(axis=1)
    removed = []
    for _ in range(num_remove):
        best, best_vector = None, None
        for u in range(num_nodes):
            for v in range(u + 1, num_nodes):
                if not adjacency[u, v]:
                    continue
                if not guards_allow(adjacency, initial_degree, u, v, min_degree, keep_connected):
                    continue
                adjacency[u, v] = adjacency[v, u] = 0
                vector = sorted(singleton_scores(adjacency, depth).tolist())
                adjacency[u, v] = adjacency[v, u] = 1
                if best_vector is None or vector > best_vector:
                    best, best_vector = (u, v), vector
        if best is None:
            if min_degree > 0 or keep_connected:
                break  # the guards allow no edge left
            raise ValueError("no edge left to remove")
        adjacency[best[0], best[1]] = adjacency[best[1], best[0]] = 0
        removed.append(best)
    return torch.tensor(removed, dtype=torch.int64).reshape(-1, 2)
