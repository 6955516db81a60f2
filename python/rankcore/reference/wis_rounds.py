"""The round of the distributed WIS protocol (docs/definitions.md §5; python/rankcore/distributed/protocol.py) in
plain Python, from the definitions: the reference of the native rounds (``rankcore::wis_round_commits`` and
``rankcore::wis_round_commits_l3``, csrc/ops/wis_rounds*.cpp; tests/ops/test_wis_rounds.py).

A candidate's key is D_e of docs/definitions.md §2 at L = 2 or 3 (the signed multiset of score changes its removal
makes), as (tag, value, count) triples in ascending value, each encoded so that tuple order is the greedy's order
(tag 0: a negative count at ``value``; tag 2: a positive count, value negated; an ended key sorts as ``END``), then
(u, v) for ties: smaller = removed first.
"""

from __future__ import annotations

import heapq
from collections import Counter

END = (1,)  # sorts between "a negative count" (0, ...) and "a positive count" (2, ...) entries


def _score(depth: int, deg: int, tri: int) -> int:
    """s_t: (Â^2)_tt = deg + 1, (Â^3)_tt = 2 tri + 3 deg + 1; 0 for an isolated vertex."""
    if deg == 0:
        return 0
    return deg + 1 if depth == 2 else 2 * tri + 3 * deg + 1


def round_key(depth: int, state, u: int, v: int, common) -> tuple:
    """The candidate {u, v}'s key from ``state[x] = (deg, tri)`` of u, v and (depth 3) its common neighbours
    ``common``: each endpoint loses the edge and (depth 3) the c triangles through it, each common neighbour loses
    one triangle; D_e counts +1 at every new score and -1 at every old one."""
    delta: Counter = Counter()
    c = len(common) if depth == 3 else 0
    for x in (u, v):
        d, t = state[x]
        delta[_score(depth, d - 1, t - c)] += 1
        delta[_score(depth, d, t)] -= 1
    if depth == 3:
        for w in common:
            d, t = state[w]
            delta[_score(3, d, t - 1)] += 1
            delta[_score(3, d, t)] -= 1
    entries = tuple((0, value, n) if n < 0 else (2, -value, n) for value, n in sorted(delta.items()) if n != 0)
    return (entries + (END,), u, v)


def apply_removal(depth: int, state, u: int, v: int, common) -> None:
    """Update (deg, tri) of the tracked vertices for the removal of {u, v} (common: its common neighbours)."""
    for x in (u, v):
        if x in state:
            state[x] = (state[x][0] - 1, state[x][1] - len(common))
    if depth == 3:
        for w in common:
            if w in state:
                state[w] = (state[w][0], state[w][1] - 1)


def shrinking(u: int, v: int, common):
    """The 2c edges whose common-neighbour sets lose a vertex when {u, v} (with common neighbours ``common``) is
    removed: ((min, max) of {x, w}, the vertex it loses) for x in {u, v}, w in common. The only keys a removal
    can improve."""
    for w in common:
        for x, other in ((u, v), (v, u)):
            yield (min(x, w), max(x, w)), other


def simulate_round(depth: int, everyone, want: int):
    """The speculative removals of one round, the same on every rank: a pure function of the gathered proposals
    ``everyone`` (per rank: (proposals, sentinel key or None); a proposal is (u, v, its common neighbours,
    {x: (deg, tri)} of u, v and them)). Returns ``(commits, keys, proposed)``: the removals (u, v, common
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
    heap = [(round_key(depth, state, u, v, cn), (u, v)) for (u, v), cn in common.items()]
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
        current = round_key(depth, state, e[0], e[1], common[e])
        if current != key:
            latest[e] = current
            heapq.heappush(heap, (current, e))
            continue
        u, v = e
        cn = common.pop(e)
        commits.append((u, v, tuple(sorted(cn))))
        keys.append(key)
        apply_removal(depth, state, u, v, cn)
        for f, other in shrinking(u, v, cn):  # 2-WIS: proposed edges that may get better: re-key now
            if f in common:
                common[f] = common[f] - {other}
                latest[f] = round_key(depth, state, f[0], f[1], common[f])
                heapq.heappush(heap, (latest[f], f))
    return commits, keys, proposed
