"""The round protocol of distributed WIS (definitions §2, §5): the exact sequential greedy of
``rankcore.sparsify(..., "wis")`` on a :class:`~rankcore.distributed.graph.DistGraph`, one collective per round;
:func:`rankcore.distributed.sparsify` calls it. 1-WIS runs every round's work in native code
(:func:`run_wis_l2`: csrc/ops/wis_rounds.cpp); 2-WIS runs it in Python (:class:`WisRank`). :func:`_simulate` is
the Python statement of a round for both depths (tests/ops/test_wis_rounds.py compares the native round with it).

For depth 2 (1-WIS) and depth 3 (2-WIS) the greedy is sequential, so it runs in **rounds** that each commit a
batch of removals that provably equals the next steps of the sequential greedy:

1. every rank proposes its ``batch`` best own candidates, each with its exact key (the signed multiset
   D_e of score changes of definitions §2, ties by (u, v)) and what is needed to re-key it (the degree
   and triangle count of its endpoints and common neighbours, and its common neighbours), plus the key
   of its next-best candidate, the *sentinel*;
2. one ``all_gather`` gives every rank every proposal; every rank runs the same deterministic
   simulation: take the best proposed candidate, update the degrees / triangle counts it changes,
   re-key the proposed candidates it touched, repeat;
3. the simulation stops before a candidate that is not better than every rank's sentinel, or (2-WIS)
   right after a removal that changes the common neighbours of an edge that was not proposed.

Why that is exact: a removal only lowers scores, and lowering the scores of a candidate's changed
vertices makes its key strictly worse (csrc/ops/cpu/wis_walk_engine.h), except for the 2c edges
{u, w}, {v, w} (w a common neighbour of the removed {u, v}) whose common-neighbour sets shrink. So an
unproposed candidate is, all round long, at most as good as its rank's sentinel, unless it is one of
those 2c edges, after which the round stops. Each rank then applies the committed removals to its own
state (lazily re-keying, as the native engine does). One collective per round; the number of rounds is
reported in ``stats``.
"""

from __future__ import annotations

import bisect
import heapq
from collections import defaultdict

import torch
import torch.distributed as dist

from .. import ops
from .graph import DistGraph, all_gather_objects

__all__ = ["WisRank", "run_wis_l2"]


# --- WIS: the round protocol -----------------------------------------------------------------------------

_END = (1,)  # sorts between "a negative count" (0, ...) and "a positive count" (2, ...) entries


_removal_key = torch.ops.rankcore.wis_removal_key.default  # csrc/ops/wis_key.cpp, from cpu/wis_score.h


def _key(depth: int, state, u: int, v: int, common) -> tuple:
    """The candidate {u, v}'s sort key, smaller = removed first: its signed multiset D_e = A_e - R_e of score
    changes as (tag, value, count) triples whose tuple order is the engine's comparison (the native op
    ``rankcore::wis_removal_key``: the same source as the native greedy's keys), then ``_END``, then (u, v) for
    ties. ``state[x]`` is (deg, tri) of x."""
    if depth == 2:
        flat = _removal_key(2, [state[u][0], state[v][0]], [])
    else:
        values = [state[x] for x in (u, v, *common)]
        flat = _removal_key(3, [d for d, _ in values], [t for _, t in values])
    entries = iter(flat)
    return (tuple(zip(entries, entries, entries)) + (_END,), u, v)


def _apply_removal(depth: int, state, u: int, v: int, common) -> None:
    """Update (deg, tri) of the tracked vertices for the removal of {u, v} (common: its common neighbours)."""
    for x in (u, v):
        if x in state:
            state[x] = (state[x][0] - 1, state[x][1] - len(common))
    if depth == 3:
        for w in common:
            if w in state:
                state[w] = (state[w][0], state[w][1] - 1)


def _shrinking(u: int, v: int, common):
    """The 2c edges whose common-neighbour sets lose a vertex when {u, v} (with common neighbours
    ``common``) is removed: ((min, max) of {x, w}, the vertex it loses) for x in {u, v}, w in common. The
    only keys a removal can improve (module docstring)."""
    for w in common:
        for x, other in ((u, v), (v, u)):
            yield (min(x, w), max(x, w)), other


def run_wis_l2(dg: DistGraph, edges: torch.Tensor, num_remove: int, batch: int) -> tuple[torch.Tensor, int]:
    """1-WIS (depth 2) by the round protocol with every round's work native (csrc/ops/wis_rounds.cpp): the
    rank's candidates and their lazy queue live in a ``rankcore.WisRankL2``; one ``all_gather`` of a fixed
    ``[batch + 1, 4]`` int64 block per round; ``rankcore::wis_round_commits`` turns the gathered blocks into the
    round's removals (the same on every rank). Returns the removals ``[num_remove, 2]`` and the rounds."""
    # a round's block is [batch + 1, 4] int64 per rank: more rows than edges left only cost memory
    batch = max(1, min(batch, num_remove, _MAX_ROUND_BATCH))
    deg_ext = dg.exchange(dg.degree().unsqueeze(1))[:, 0].contiguous()
    engine = torch.classes.rankcore.WisRankL2(edges.contiguous(), dg.halo().halo_ids, dg.lo, dg.hi, deg_ext)
    world = dg.world_size
    parts, done, rounds = [], 0, 0
    while done < num_remove:
        rows = engine.propose(batch)
        if world > 1:
            blocks = [torch.empty_like(rows) for _ in range(world)]
            dist.all_gather(blocks, rows, group=dg.group)
            gathered = torch.stack(blocks)
        else:
            gathered = rows.unsqueeze(0)
        commits = _round_commits(gathered, num_remove - done)
        if commits.shape[0] == 0:  # cannot happen: the best proposal beats every sentinel
            raise RuntimeError("distributed 1-WIS: a round committed no removal (internal error)")
        engine.apply(commits)
        parts.append(commits)
        done += commits.shape[0]
        rounds += 1
    removed = torch.cat(parts) if parts else torch.zeros(0, 2, dtype=torch.int64)
    return removed, rounds


_round_commits = torch.ops.rankcore.wis_round_commits.default
_MAX_ROUND_BATCH = 1 << 20  # 32 MiB per rank and round: far past the measured optimum (4096)


class _ExtState:
    """(deg, tri) of the own and halo vertices of a rank, in arrays indexed by extended position, with
    the dict-like access the key function uses (global id -> (deg, tri))."""

    def __init__(self, dg: DistGraph, deg_tri_ext: torch.Tensor):
        self.lo, self.hi = dg.lo, dg.hi
        # halo id -> extended position: a dict, not a binary search (the keys read a state per vertex, and a
        # 2-WIS key reads its endpoints' and every common neighbour's)
        n_local = self.hi - self.lo
        self.halo_pos = {x: n_local + i for i, x in enumerate(dg.halo().halo_ids.tolist())}
        self.deg = deg_tri_ext[:, 0].tolist()
        self.tri = deg_tri_ext[:, 1].tolist()

    def _pos(self, x: int) -> int | None:
        return x - self.lo if self.lo <= x < self.hi else self.halo_pos.get(x)

    def __contains__(self, x: int) -> bool:
        return self.lo <= x < self.hi or x in self.halo_pos

    def __getitem__(self, x: int) -> tuple[int, int]:
        p = x - self.lo if self.lo <= x < self.hi else self.halo_pos[x]
        return self.deg[p], self.tri[p]

    def __setitem__(self, x: int, value: tuple[int, int]) -> None:
        p = self._pos(x)
        self.deg[p], self.tri[p] = value


class _EdgeList:
    """The own edges (u, v), u < v, sorted: ``edges[i]`` is a tuple and ``id_of((u, v))`` a binary search
    (no Python object per edge until it is asked for: ranks hold millions of edges)."""

    def __init__(self, edges: torch.Tensor, n: int):
        self.u = edges[:, 0].tolist()
        self.v = edges[:, 1].tolist()
        self.n = max(n, 1)
        self.keys = (edges[:, 0] * self.n + edges[:, 1]).tolist()  # ascending

    def __len__(self) -> int:
        return len(self.u)

    def __getitem__(self, i: int) -> tuple[int, int]:
        return self.u[i], self.v[i]

    def id_of(self, edge: tuple[int, int]) -> int | None:
        key = edge[0] * self.n + edge[1]
        i = bisect.bisect_left(self.keys, key)
        return i if i < len(self.keys) and self.keys[i] == key else None


class WisRank:
    """One rank's part of distributed 2-WIS (depth 3; 1-WIS runs natively: :func:`run_wis_l2`): its own
    candidates (edges {u, v}, u < v, u own), the degree / triangle state of every vertex within distance 1
    of its range, and the adjacency of that ball for common neighbours.

    Candidates sit in a lazy priority queue, as in the native engine: stored keys are exact or
    optimistic (removals only make keys worse, except the 2c edges re-keyed at once), and a popped
    candidate whose key changed goes back with its current key. The queue is a sorted array of
    optimistic initial keys (computed in torch, no Python key per edge) with a cursor, plus a heap for
    re-keyed candidates."""

    def __init__(self, dg: DistGraph, edges: torch.Tensor):
        from .structure import edge_common_neighbors

        self.dg = dg
        self.depth = 3
        plan = dg.halo()
        deg_own = dg.degree()
        per_slot = edge_common_neighbors(dg)
        src, dst = dg.local_edge_index()
        tri_own = torch.zeros_like(deg_own).index_add_(0, dst - dg.lo, per_slot) // 2
        common_count = per_slot[src > dst]  # the own edges (u = dst < v = src), in (u, v) order
        self.ball = dg._ball(1)
        ext = dg.exchange(torch.stack([deg_own, tri_own], dim=1))
        self.state = _ExtState(dg, ext)
        self.edges = _EdgeList(edges, dg.num_nodes)
        self.alive = bytearray([1]) * len(self.edges)
        self.id_of = self.edges.id_of
        self.adj: dict[int, set] = {}          # current neighbours in the ball, built on demand
        self.cut: dict[int, set] = defaultdict(set)  # removed neighbours of every vertex
        self.common: dict[int, frozenset] = {}  # common neighbours of own edges, built on demand
        pos_u = plan.position(edges[:, 0], dg.lo, dg.hi)
        pos_v = plan.position(edges[:, 1], dg.lo, dg.hi)
        du, dv = ext[pos_u, 0], ext[pos_v, 0]
        # An optimistic stored key per edge, in torch: the smallest value of D_e is always the
        # smallest new score on Δ_e (every vertex's new score is below its old one), counted +1 per
        # vertex that has it. Its endpoints' part, (smallest new endpoint score m, its count c),
        # gives the key prefix ((2, -m, c),), which sorts before (is at least as good as) the true
        # key: the common neighbours can only add a smaller value or to the count.
        su = ops.wis_singleton_scores(du - 1, ext[pos_u, 1] - common_count, 3)
        sv = ops.wis_singleton_scores(dv - 1, ext[pos_v, 1] - common_count, 3)
        m = torch.minimum(su, sv)
        c = (su == m).to(torch.int64) + (sv == m).to(torch.int64)
        perm = torch.argsort(c, stable=True)
        perm = perm[torch.argsort(m[perm], descending=True, stable=True)]
        m0, c0 = m.tolist(), c.tolist()
        self.initial = lambda i: ((((2, -m0[i], c0[i]),)), self.edges[i][0], self.edges[i][1])
        self.order = perm.tolist()
        self.cursor = 0
        self.heap: list = []
        self.latest: dict[int, tuple] = {}  # candidates in the heap -> their newest stored key

    def _neighbours(self, x: int) -> set:
        """Current neighbours of a ball vertex x (its row in the ball, minus removed edges)."""
        if x not in self.adj:
            p = int(torch.searchsorted(self.ball.ids, torch.tensor(x)))
            a, b = int(self.ball.rowptr[p]), int(self.ball.rowptr[p + 1])
            self.adj[x] = set(self.ball.ids[self.ball.col[a:b].to(torch.int64)].tolist()) - self.cut[x]
        return self.adj[x]

    def _cn(self, i: int) -> frozenset:
        """Current common neighbours of own edge i."""
        if i not in self.common:
            u, v = self.edges[i]
            self.common[i] = frozenset(self._neighbours(u) & self._neighbours(v))
        return self.common[i]

    def _key(self, i: int) -> tuple:
        u, v = self.edges[i]
        return _key(self.depth, self.state, u, v, self._cn(i))

    def _next_stored(self):
        """Pop the candidate with the smallest stored key (heap or array): (key, id) or None."""
        while True:
            while self.cursor < len(self.order) and (self.order[self.cursor] in self.latest
                                                      or not self.alive[self.order[self.cursor]]):
                self.cursor += 1  # re-keyed into the heap already, or removed
            array_key = self.initial(self.order[self.cursor]) if self.cursor < len(self.order) else None
            if self.heap and (array_key is None or self.heap[0][0] < array_key):
                key, i = heapq.heappop(self.heap)
                if not self.alive[i] or self.latest.get(i) != key:
                    continue  # removed, or a stale duplicate of a re-keyed entry
                return key, i
            if array_key is None:
                return None
            i = self.order[self.cursor]
            self.cursor += 1
            return array_key, i

    def _propose(self, batch: int):
        """The ``batch`` best alive own candidates with exact keys, and the sentinel key (or None)."""
        chosen = []
        while len(chosen) <= batch:
            popped = self._next_stored()
            if popped is None:
                break
            key, i = popped
            current = self._key(i)
            self.latest[i] = current
            if current != key:  # stored keys are optimistic: this one got worse; requeue it
                heapq.heappush(self.heap, (current, i))
                continue
            chosen.append((key, i))
        for entry in chosen:
            heapq.heappush(self.heap, entry)
        sentinel = chosen[batch][0] if len(chosen) > batch else None
        proposals = []
        for key, i in chosen[:batch]:
            u, v = self.edges[i]
            common = self._cn(i)
            proposals.append((u, v, tuple(sorted(common)), {x: tuple(self.state[x]) for x in (u, v, *common)}))
        return proposals, sentinel

    def _commit(self, u: int, v: int, common) -> None:
        _apply_removal(self.depth, self.state, u, v, common)
        i = self.id_of((u, v))
        if i is not None:
            self.alive[i] = 0
        for x, y in ((u, v), (v, u)):
            self.cut[x].add(y)
            if x in self.adj:
                self.adj[x].discard(y)
        # the 2c edges whose common neighbours shrink may get better: re-key them now
        for f, _ in _shrinking(u, v, common):
            j = self.id_of(f)
            if j is not None and self.alive[j]:
                self.common.pop(j, None)  # rebuilt from the current rows
                key = self._key(j)
                self.latest[j] = key
                heapq.heappush(self.heap, (key, j))

    def _first_beaten(self, commits, keys, proposed) -> int:
        """2-WIS: the number of speculative commits that stand against this rank's unproposed edges.

        Replays the commits on a tentative copy of the state. When a commit shrinks the common
        neighbours of an own, unproposed edge f, f gets its exact key then; keys only get worse after
        that (until f shrinks again, which gives a new key), so a later commit t stands iff every such
        key recorded before t is worse than commit t's key. Returns the first t that does not stand."""
        state = _Overlay(self.state)
        shrunk: dict[int, frozenset] = {}
        best = None  # the best key an unproposed own edge has got so far
        for t, (u, v, cn) in enumerate(commits):
            if best is not None and best < keys[t]:
                return t
            _apply_removal(3, state, u, v, cn)
            for f, other in _shrinking(u, v, cn):
                j = self.id_of(f)
                if j is None or not self.alive[j] or f in proposed:
                    continue
                shrunk[j] = shrunk.get(j, self._cn(j)) - {other}
                key = _key(3, state, f[0], f[1], shrunk[j])
                if best is None or key < best:
                    best = key
        return len(commits)

    def run(self, num_remove: int, batch: int) -> tuple[torch.Tensor, int]:
        removed: list[tuple[int, int]] = []
        rounds = 0
        world = self.dg.world_size
        while len(removed) < num_remove:
            everyone = all_gather_objects(self._propose(batch), self.dg.group)
            rounds += 1
            commits, keys, proposed = _simulate(self.depth, everyone, num_remove - len(removed))
            stand = torch.tensor([self._first_beaten(commits, keys, proposed)])
            if world > 1:
                dist.all_reduce(stand, op=dist.ReduceOp.MIN, group=self.dg.group)
            commits = commits[:max(int(stand), 1)]  # the first commit always stands
            for u, v, common in commits:
                self._commit(u, v, common)
                removed.append((u, v))
        return torch.tensor(removed, dtype=torch.int64).reshape(-1, 2), rounds


def _simulate(depth: int, everyone, want: int):
    """The speculative removals of one round (module docstring), the same on every rank: a pure function
    of the gathered proposals. Returns ``(commits, keys, proposed)``: the removals (u, v, common
    neighbours), each one's key when it was taken, and the set of proposed edges. Only the sentinels stop
    it; for 2-WIS the ranks then check the unproposed edges whose common neighbours shrank (verify)."""
    state: dict[int, tuple[int, int]] = {}
    common: dict[tuple[int, int], frozenset] = {}
    sentinels = []
    for proposals, sentinel in everyone:
        if sentinel is not None:
            sentinels.append(sentinel)
        for u, v, cn, values in proposals:
            common[(u, v)] = frozenset(cn)
            state.update(values)
    proposed = set(common)
    bound = min(sentinels) if sentinels else None
    heap = [(_key(depth, state, u, v, cn), (u, v)) for (u, v), cn in common.items()]
    heapq.heapify(heap)
    latest = {e: key for key, e in heap}
    commits, keys = [], []
    while heap and len(commits) < want:
        key, e = heapq.heappop(heap)
        if e not in common or latest[e] != key:
            continue
        if bound is not None and key >= bound:
            break  # an unproposed candidate may be better: the next round decides
        # Lazily, as the ranks' queues: stored keys are exact or optimistic (only the edges re-keyed
        # below can improve), so the top is re-keyed before it is taken and requeued if it got worse.
        current = _key(depth, state, e[0], e[1], common[e])
        if current != key:
            latest[e] = current
            heapq.heappush(heap, (current, e))
            continue
        u, v = e
        cn = common.pop(e)
        commits.append((u, v, tuple(sorted(cn))))
        keys.append(key)
        _apply_removal(depth, state, u, v, cn)
        for f, other in _shrinking(u, v, cn):  # 2-WIS: proposed edges that may get better: re-key now
            if f in common:
                common[f] = common[f] - {other}
                latest[f] = _key(depth, state, f[0], f[1], common[f])
                heapq.heappush(heap, (latest[f], f))
    return commits, keys, proposed


class _Overlay:
    """Tentative (deg, tri) values over a rank's state: reads fall through, writes stay here."""

    def __init__(self, base):
        self.base = base
        self.changed: dict[int, tuple[int, int]] = {}

    def __contains__(self, x):
        return x in self.changed or x in self.base

    def __getitem__(self, x):
        return self.changed[x] if x in self.changed else self.base[x]

    def __setitem__(self, x, value):
        self.changed[x] = value
