"""The round protocol of distributed WIS (definitions §2, §5): the exact sequential greedy of
``rankcore.sparsify(..., "wis")`` on a :class:`~rankcore.distributed.graph.DistGraph`, in rounds of one (1-WIS)
or three (2-WIS) collectives; :func:`rankcore.distributed.sparsify` calls it. Every round's work runs in native
code: 1-WIS in
:func:`run_wis_l2` (csrc/ops/wis_rounds.cpp), 2-WIS in :func:`run_wis_l3` (csrc/ops/wis_rounds_l3.cpp).
:mod:`rankcore.reference.wis_rounds` states a round in plain Python; tests/ops/test_wis_rounds.py checks the native
rounds against it and the whole protocol against the single-process greedy.

For depth 2 (1-WIS) and depth 3 (2-WIS) the greedy is sequential, so it runs in **rounds** that each commit a
batch of removals that provably equals the next steps of the sequential greedy:

1. every rank proposes its ``batch`` best own candidates, each with its exact key (the signed multiset
   D_e of score changes of definitions §2, ties by (u, v)) and what is needed to re-key it (the degree
   and triangle count of its endpoints and common neighbours, and its common neighbours), plus the key
   of its next-best candidate, the *sentinel*;
2. one ``all_gather`` gives every rank every proposal; every rank runs the same deterministic
   simulation: take the best proposed candidate, update the degrees / triangle counts it changes,
   re-key the proposed candidates it touched, repeat;
3. the simulation stops before a candidate that is not better than every rank's sentinel;
4. (2-WIS) every rank replays the round's removals and gives each of its unproposed edges whose common
   neighbours a removal shrinks its exact key at that point; the round keeps its removals up to the first
   one such an edge would beat (one ``all_reduce`` MIN over the ranks; the first removal always stands).

Why that is exact: a removal only lowers scores, and lowering the scores of a candidate's changed
vertices makes its key strictly worse (csrc/ops/cpu/wis_walk_engine.h), except for the 2c edges
{u, w}, {v, w} (w a common neighbour of the removed {u, v}) whose common-neighbour sets shrink. So an
unproposed candidate is, all round long, at most as good as its rank's sentinel, unless it is one of
those 2c edges, which step 4 checks. Each rank then applies the committed removals to its own state
(lazily re-keying, as the single-process engine does). The number of rounds is reported in ``stats``.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from .graph import DistGraph

__all__ = ["run_wis_l2", "run_wis_l3"]


# --- WIS: the round protocol -----------------------------------------------------------------------------

def run_wis_l2(dg: DistGraph, num_remove: int, batch: int) -> tuple[torch.Tensor, int]:
    """1-WIS (depth 2) by the round protocol with every round's work native (csrc/ops/wis_rounds.cpp): the
    rank's candidates and their lazy queue live in a ``rankcore.WisRankL2``; one ``all_gather`` of a fixed
    ``[batch + 1, 4]`` int64 block per round; ``rankcore::wis_round_commits`` turns the gathered blocks into the
    round's removals (the same on every rank). A rank holds the edges inside its range and about half of those
    to other ranks (:func:`_split_cross_edges`). Returns the removals ``[num_remove, 2]`` and the rounds."""
    # a round's block is [batch + 1, 4] int64 per rank: more rows than edges left only cost memory
    batch = max(1, min(batch, num_remove, _MAX_ROUND_BATCH))
    deg_ext = dg.exchange(dg.degree().unsqueeze(1))[:, 0].contiguous()
    engine = torch.classes.rankcore.WisRankL2(_split_cross_edges(dg), dg.halo().halo_ids, dg.lo, dg.hi, deg_ext)

    def one_round(want: int) -> torch.Tensor:
        commits = _round_commits(_gather_blocks(engine.propose(batch), dg, same_length=True), want)
        if commits.shape[0]:
            engine.apply(commits)
        return commits

    return _run_rounds(one_round, num_remove, "1-WIS")


def _split_cross_edges(dg: DistGraph) -> torch.Tensor:
    """The rank's 1-WIS edges ``[m_r, 2]`` (u, v), u < v, sorted by (u, v): the edges inside its range, and of the
    edges to other ranks, those with u own and u + v even or v own and u + v odd (cpu/rank_edges.h,
    ``cross_edge_owned_by_smaller``; WisRankL2 checks every edge against it). Every edge has one owner, and the
    edges between two ranks split about evenly between them, where the smaller-endpoint rule gave them all to the
    rank of the smaller ids (on power-law graphs whose hubs have small ids, most of the work)."""
    src, dst = dg.local_edge_index()  # row dst (own) lists its neighbours src
    inside = (src >= dg.lo) & (src < dg.hi)
    smaller_owns = ((src + dst) % 2) == 0
    keep = torch.where(inside, src > dst, (dst < src) == smaller_owns)
    u, v = torch.minimum(src, dst)[keep], torch.maximum(src, dst)[keep]
    order = torch.argsort(v, stable=True)
    order = order[torch.argsort(u[order], stable=True)]
    return torch.stack([u[order], v[order]], dim=1).contiguous()


def run_wis_l3(dg: DistGraph, edges: torch.Tensor, num_remove: int, batch: int) -> tuple[torch.Tensor, int]:
    """2-WIS (depth 3) by the round protocol with every round's work native (csrc/ops/wis_rounds_l3.cpp): the
    rank's candidates, their lazy queue, the degree / triangle state of its ball and the ball's rows live in a
    ``rankcore.WisRankL3``; per round one ``all_gather`` of the blocks of proposals (variable length: their sizes
    first), the simulation and the verification of the unproposed edges in native code, one ``all_reduce``.
    Returns the removals ``[num_remove, 2]`` and the rounds."""
    from .structure import edge_common_neighbors

    batch = max(1, min(batch, num_remove, _MAX_ROUND_BATCH))
    deg_own = dg.degree()
    per_slot = edge_common_neighbors(dg)
    src, dst = dg.local_edge_index()
    tri_own = torch.zeros_like(deg_own).index_add_(0, dst - dg.lo, per_slot) // 2
    common_count = per_slot[src > dst]  # the own edges (u = dst < v = src), in (u, v) order
    ball = dg._ball(1)
    ext = dg.exchange(torch.stack([deg_own, tri_own], dim=1))
    engine = torch.classes.rankcore.WisRankL3(
        edges.contiguous(), dg.halo().halo_ids, dg.lo, dg.hi, ext[:, 0].contiguous(), ext[:, 1].contiguous(),
        common_count.to(torch.int64).contiguous(), ball.ids, ball.rowptr, ball.col)

    def one_round(want: int) -> torch.Tensor:
        stand = torch.tensor([engine.round(_gather_blocks(engine.propose(batch), dg, same_length=False), want)])
        if dg.world_size > 1:
            dist.all_reduce(stand, op=dist.ReduceOp.MIN, group=dg.group)
        return engine.apply(max(int(stand), 1))  # the first commit always stands

    return _run_rounds(one_round, num_remove, "2-WIS")


def _gather_blocks(block: torch.Tensor, dg: DistGraph, same_length: bool) -> torch.Tensor:
    """Every rank's block, stacked in rank order (collective). Blocks of different lengths (``same_length``
    False) are zero-padded to the longest, after one all_gather of their lengths."""
    world = dg.world_size
    if world == 1:
        return block.unsqueeze(0)
    if not same_length:
        sizes = [torch.zeros(1, dtype=torch.int64) for _ in range(world)]
        dist.all_gather(sizes, torch.tensor([block.numel()]), group=dg.group)
        padded = torch.zeros(max(int(x) for x in sizes), dtype=block.dtype)
        padded[:block.numel()] = block
        block = padded
    blocks = [torch.empty_like(block) for _ in range(world)]
    dist.all_gather(blocks, block, group=dg.group)
    return torch.stack(blocks)


def _run_rounds(one_round, num_remove: int, what: str) -> tuple[torch.Tensor, int]:
    """Rounds until ``num_remove`` removals: ``one_round(want)`` commits and returns the next ``[c, 2]``, c <= want.
    Returns the removals in order and the number of rounds."""
    parts, done = [], 0
    while done < num_remove:
        commits = one_round(num_remove - done)
        if commits.shape[0] == 0:  # cannot happen: the round's best proposal beats every sentinel
            raise RuntimeError(f"distributed {what}: a round committed no removal (internal error)")
        parts.append(commits)
        done += commits.shape[0]
    removed = torch.cat(parts) if parts else torch.zeros(0, 2, dtype=torch.int64)
    return removed, len(parts)


_round_commits = torch.ops.rankcore.wis_round_commits.default
_MAX_ROUND_BATCH = 1 << 20  # 32 MiB per rank and round: far past the measured optimum (8192)
