"""Sparsification of a :class:`DistGraph` with the single-process removal orders (definitions §2, §5).

``sparsify(dg, method, ...)`` returns on every rank the removed edges ``[N, 2]`` (u < v, removal order),
identical to ``rankcore.sparsify(whole graph, method, ...).removed``. Rank r owns the undirected edges
{u, v}, u < v, with u in its range; they are numbered globally in (u, v) order, as the single-process
canonical edge list is.

* ``"random"``: every rank draws the same seeded permutation of the global edge ids (torch's stream, so
  the order is the single-process one; this costs 8 bytes per edge on every rank), keeps the positions of
  its own edges and one SUM all_reduce assembles the removed list.
* ``"local_degree"``: the owner of each vertex ranks its neighbours by degree (halo degrees from one
  exchange), sends each exponent to the owner of the edge, which takes the max; the removal order is a
  merge of every rank's first N edges by (score, edge id).
* ``"wis"`` (depth 2 = 1-WIS, depth 3 = 2-WIS): the greedy runs in rounds that each commit a batch of removals
  equal to the next steps of the sequential greedy (:mod:`rankcore.distributed.protocol`).
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from ..graph.arguments import check_int, check_seed, removal_count
from ..ops import local_degree_exponents
from .graph import DistGraph, _try, agree, all_gather_objects, all_to_all_rows, owner_of
from .protocol import run_wis_l2, run_wis_l3

__all__ = ["sparsify", "METHODS"]

METHODS = ("random", "local_degree", "wis")


def _own_edges(dg: DistGraph) -> torch.Tensor:
    """[m_r, 2] (u, v), u < v, u own, sorted by (u, v)."""
    src, dst = dg.local_edge_index()
    upper = src > dst  # row u = dst lists neighbours v = src; keep v > u
    return torch.stack([dst[upper], src[upper]], dim=1)


def sparsify(dg: DistGraph, method: str, *, ratio=None, num_remove=None, seed=0, depth=2, batch: int | None = None,
             stats: dict | None = None, min_degree: int = 0, keep_connected: bool = False) -> torch.Tensor:
    """The first N edges of ``method``'s removal order on the whole graph, on every rank (collective).

    Args:
        dg: an undirected :class:`DistGraph`.
        method: ``"random"``, ``"local_degree"`` or ``"wis"`` (module docstring).
        ratio / num_remove: exactly one, as in :func:`rankcore.sparsify`.
        seed: for ``"random"``.
        depth: for ``"wis"``: 2 (1-WIS) or 3 (2-WIS).
        batch: ``"wis"``: candidates each rank proposes per round; default 8192 for 1-WIS (a round costs about a
            millisecond of collective and call overhead, so fewer, larger rounds win: the sweep in
            docs/distributed.md) and 256 for 2-WIS (its rounds end at the first removal an unproposed edge whose
            common neighbours shrank would beat, so larger batches do not cut the rounds). Capped at the removals
            asked for and 2^20.
        stats: a dict filled with ``rounds`` (collective rounds of the WIS protocol) and ``removed``.
        min_degree, keep_connected: the guards of :func:`rankcore.sparsify` run on one process only; anything but
            their defaults raises ``ValueError`` (before any collective, the same on every rank).

    Returns:
        ``[N, 2]`` int64 (u < v) in removal order: ``rankcore.sparsify(...).removed`` of the whole graph.
    """
    if min_degree != 0 or keep_connected is not False:  # same arguments on every rank: no collective needed
        raise ValueError("min_degree / keep_connected run on one process only (rankcore.sparsify); the distributed "
                         "protocol has no guards")
    edges = _own_edges(dg)
    counts = all_gather_objects(int(edges.shape[0]), dg.group)
    m = sum(counts)

    def check():
        if not isinstance(method, str) or method not in METHODS:
            raise ValueError(f"unknown distributed sparsification method {method!r}; expected one of "
                             f"{', '.join(METHODS)} (spectral, k_neighbor and degree run on one process: "
                             f"rankcore.sparsify)")
        dg.require_undirected(f"sparsify(method={method!r})")
        k = removal_count(m, ratio, num_remove)
        s = check_seed(seed)
        d = check_int("depth", depth, 2)
        if method == "wis" and d not in (2, 3):
            raise ValueError(f"distributed WIS runs depth 2 (1-WIS) and 3 (2-WIS), got depth={d}")
        b = (8192 if d == 2 else 256) if batch is None else check_int("batch", batch, 1)
        return k, s, d, b
    checked, err = _try(check)
    agree(err, dg.group, {"method": method, "ratio": ratio, "num_remove": num_remove, "seed": seed, "depth": depth,
                          "batch": batch})
    k, s, d, b = checked
    offset = sum(counts[:dg.rank])
    if method == "random":
        removed = _random(dg, edges, offset, m, k, s)
        rounds = 1
    elif method == "local_degree":
        removed = _local_degree(dg, edges, offset, k)
        rounds = 2
    else:
        removed, rounds = run_wis_l2(dg, k, b) if d == 2 else run_wis_l3(dg, edges, k, b)
    if stats is not None:
        stats.update(rounds=rounds, removed=k)
    return removed


# --- random and local degree -----------------------------------------------------------------------------

def _random(dg: DistGraph, edges: torch.Tensor, offset: int, m: int, k: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    chosen = torch.randperm(m, generator=gen)[:k]  # the single-process stream: the same permutation
    mine = (chosen >= offset) & (chosen < offset + edges.shape[0])
    removed = torch.zeros(k, 2, dtype=torch.int64)
    removed[mine] = edges[chosen[mine] - offset]
    if dg.world_size > 1:
        dist.all_reduce(removed, group=dg.group)
    return removed


def _local_degree(dg: DistGraph, edges: torch.Tensor, offset: int, k: int) -> torch.Tensor:
    """NetworKit's Local Degree score (graph.sparsify.local_degree_scores), computed where the rows are."""

    plan = dg.halo()
    deg_own = dg.degree()
    deg_ext = dg.exchange(deg_own.unsqueeze(1))[:, 0]
    src, dst = dg.local_edge_index()  # row i = dst ranks its neighbour j = src
    pair, exponent = local_degree_exponents(dst, src, deg_own[dst - dg.lo], deg_ext[plan.ext_col.to(torch.int64)],
                                            dg.num_local_nodes, dg.lo)
    owner, other = dst[pair], src[pair]
    # each exponent goes to the owner of its edge {min, max}
    u, v = torch.minimum(owner, other), torch.maximum(owner, other)
    dest = owner_of(u, dg.ranges)
    order = torch.argsort(dest, stable=True)
    payload = torch.stack([u[order], v[order], exponent[order].view(torch.int64)], dim=1)
    got, _ = all_to_all_rows(payload, torch.bincount(dest, minlength=dg.world_size).tolist(), dg.group)
    n = max(dg.num_nodes, 1)
    own_keys = edges[:, 0] * n + edges[:, 1]
    scores = torch.zeros(edges.shape[0], dtype=torch.float64)
    if got.numel():
        pos = torch.searchsorted(own_keys, got[:, 0] * n + got[:, 1])
        scores.scatter_reduce_(0, pos, got[:, 2].contiguous().view(torch.float64), reduce="amax",
                               include_self=True)
    # the global order: (score, edge id) ascending; each rank's first k, merged
    local_order = torch.argsort(scores, stable=True)[:k]
    mine = (scores[local_order], local_order + offset, edges[local_order])
    parts = all_gather_objects(mine, dg.group)
    all_scores = torch.cat([p[0] for p in parts])
    all_ids = torch.cat([p[1] for p in parts])
    all_edges = torch.cat([p[2] for p in parts])
    perm = torch.argsort(all_ids, stable=True)
    perm = perm[torch.argsort(all_scores[perm], stable=True)]
    return all_edges[perm[:k]].reshape(-1, 2).contiguous()
