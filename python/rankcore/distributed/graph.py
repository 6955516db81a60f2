"""DistGraph: a graph row-partitioned over the ranks of a torch.distributed process group (definitions §5).

Rank r owns the vertices ``[ranges[r], ranges[r + 1])`` (contiguous, optionally balanced by rows +
entries) and the in-CSR rows of those vertices: row t lists the sources s of the edges s -> t, sorted,
as global ids, normalised exactly as :meth:`rankcore.Graph.from_input` does (input self-loops dropped,
duplicates merged). Nothing on a rank is O(n) except the ``[world_size + 1]`` range table.

Two derived structures are computed once, collectively, on first use and kept:
* the **halo plan** (:class:`HaloPlan`): which of its own entries every rank sends to every other rank
  per walk step (exactly the sources its rows do not own), and the local "extended" CSR on which the
  native walk kernel runs one step;
* **balls** (:meth:`DistGraph.ball`): the subgraph induced on the vertices within distance r of the own
  range, for the ops that need neighbours' rows (common neighbours, closed walks, WIS).

Every method that communicates is collective: all ranks of the group must call it, in the same order.
Argument errors are agreed on before anyone proceeds (:func:`agree`), so a bad input raises the same
error on every rank instead of leaving the others waiting in a collective; so are the arguments every
rank must pass alike (a method, a count, a seed, a depth, a mask shape, ...): ranks that differ raise the
same ValueError naming the argument and every rank's value, instead of computing different things.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from .. import ops
from ..graph.arguments import check_int, check_num_nodes
from ..graph.container import Graph, _as_edge_index

__all__ = ["DistGraph", "HaloPlan", "Ball", "agree", "error_message", "all_gather_objects", "all_sum_ints",
           "all_to_all_rows", "owner_of"]


# --- collective helpers ---------------------------------------------------------------------------------

def agree(error: BaseException | None, group=None, same: dict | None = None) -> None:
    """Raise the same error on every rank, or return on every rank (one small all_gather; none at world
    size 1). Every rank must call it at the same point, with the same names in ``same``.

    ``same`` maps argument names to this rank's values of the arguments a collective algorithm needs
    equal everywhere (method, counts, seeds, shapes, ...). The first that differs raises
    ``ValueError("NAME must be the same on every rank, got A on rank 0 and B on rank 1")``, before any
    local error: a mismatch is usually what made some rank's arguments invalid. Otherwise the first
    (lowest-rank) ``error`` any rank found is raised, as a class every rank can rebuild (:func:`_portable`)."""
    if dist.get_world_size(group) == 1:
        if error is not None:
            raise error
        return
    mine = [(name, _plain(value)) for name, value in (same or {}).items()]
    gathered = all_gather_objects((None if error is None else _portable(error), mine), group)
    for i, (name, _) in enumerate(mine):
        values = [theirs[i][1] for _, theirs in gathered]
        if any(v != values[0] for v in values):
            raise ValueError(f"{name} must be the same on every rank, got {_by_value(values)}")
    for item, _ in gathered:
        if item is not None:
            kind, message = item
            raise kind(message)


def _plain(value):
    """``value`` as something every rank can unpickle and compare: None, numbers, strings, dtypes and
    tuples of them as they are (numpy and one-element tensor numbers as Python numbers, paths as
    strings); anything else by its repr. Never raises: a rank that failed here would leave the others
    waiting."""
    try:
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if isinstance(value, np.generic) or (isinstance(value, torch.Tensor) and value.numel() == 1
                                              and value.device.type != "meta"):
            value = value.item()
        if value is None or isinstance(value, (bool, int, float, str, torch.dtype)):
            return value
        if isinstance(value, tuple):
            return tuple(_plain(v) for v in value)
        return repr(value)
    except Exception:  # noqa: BLE001 - an odd __repr__
        return f"<{type(value).__name__}>"


def _by_value(values: list) -> str:
    """"5 on rank 0 and 6 on ranks 1, 2": every rank's value, ranks with equal values together."""
    groups: list[tuple[object, list[int]]] = []
    for rank, value in enumerate(values):
        for seen, ranks in groups:
            if seen == value:
                ranks.append(rank)
                break
        else:
            groups.append((value, [rank]))
    parts = [f"{seen} on rank{'s' if len(ranks) > 1 else ''} {', '.join(map(str, ranks))}"
             for seen, ranks in groups]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def error_message(error: BaseException) -> str:
    """``str(error)``, or a stand-in when its ``__str__`` fails (it is reported, never re-raised)."""
    try:
        return str(error)
    except Exception:  # noqa: BLE001
        return f"<{type(error).__name__} with an unprintable message>"


def _portable(error: BaseException) -> tuple[type, str]:
    """(the first class of ``error``'s MRO that pickles and is built from one message, the message), so
    every rank can raise it: UnicodeDecodeError, say, takes five arguments (UnicodeError stands in), and
    a class defined in a function does not pickle."""
    message = error_message(error)
    for kind in type(error).__mro__:
        try:
            pickle.loads(pickle.dumps(kind))(message)
        except Exception:  # noqa: BLE001 - any class that fails is skipped; BaseException never does
            continue
        return kind, message
    return BaseException, message


def _try(fn, also: tuple = ()):
    """(result, None) or (None, the ValueError/TypeError/OverflowError, or ``also``, that fn raised)."""
    try:
        return fn(), None
    except (ValueError, TypeError, OverflowError, *also) as err:
        return None, err


def all_gather_objects(obj, group=None) -> list:
    """Every rank's ``obj`` (picklable), in rank order, on every rank (collective)."""
    world = dist.get_world_size(group)
    if world == 1:
        return [obj]
    out = [None] * world
    dist.all_gather_object(out, obj, group=group)
    return out


def all_sum_ints(values: list[int], group=None) -> list[int]:
    """The element-wise sum over the ranks of a list of ints, on every rank (one int64 all_reduce)."""
    t = torch.tensor(values, dtype=torch.int64)
    if dist.get_world_size(group) > 1:
        dist.all_reduce(t, group=group)
    return t.tolist()


def all_to_all_rows(send: torch.Tensor, send_counts: list[int], group=None) -> tuple[torch.Tensor, list[int]]:
    """all_to_all of the rows of ``send`` (rows for rank 0 first, then rank 1, ...; ``send_counts[r]`` of
    them for rank r); returns the received rows (rank order) and how many came from each rank."""
    world = dist.get_world_size(group)
    if world == 1:
        return send.clone(), list(send_counts)
    counts = torch.tensor(send_counts, dtype=torch.int64)
    recv_counts = torch.empty_like(counts)
    dist.all_to_all_single(recv_counts, counts, group=group)
    recv_counts = recv_counts.tolist()
    out = send.new_empty((sum(recv_counts),) + tuple(send.shape[1:]))
    dist.all_to_all_single(out, send.contiguous(), recv_counts, list(send_counts), group=group)
    return out, recv_counts


def owner_of(ids: torch.Tensor, ranges: torch.Tensor) -> torch.Tensor:
    """The rank owning each vertex id (ranges: ``[world + 1]`` boundaries)."""
    return torch.searchsorted(ranges, ids.contiguous(), right=True) - 1


# --- the partitioned graph ------------------------------------------------------------------------------

@dataclass
class HaloPlan:
    """The per-step exchange of a walk and the local extended CSR it runs on.

    Extended positions are the own vertices first (``[0, n_local)``), then the halo: the sources owned
    by other ranks, ascending by global id (``halo_ids``), which is the order they arrive in (grouped by
    owner, owners in rank order). Every row of the extended CSR lists its sources in the order of the
    single-process CSR (ascending global id), whatever their positions, so the kernel forms float64 sums
    in the same order and they are bit-for-bit equal.
    """

    send_index: torch.Tensor      # own local rows to send, grouped by destination rank
    send_counts: list[int]        # per destination rank
    recv_counts: list[int]        # per source rank
    halo_ids: torch.Tensor        # [num_halo] global ids of the halo positions n_local, n_local + 1, ...
    ext_rowptr: torch.Tensor      # [n_local + num_halo + 1] int64: halo rows are empty
    ext_col: torch.Tensor         # [nnz_local] int32 extended positions, in the order of DistGraph.col

    @property
    def num_halo(self) -> int:
        return int(self.halo_ids.numel())

    @property
    def bytes_per_column(self) -> int:
        """Bytes this rank sends per step and per walk column (int64 / float64 entries)."""
        return 8 * int(self.send_index.numel())

    def position(self, ids: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
        """Extended positions of global ids that are own or halo."""
        own = (ids >= lo) & (ids < hi)
        halo_pos = torch.searchsorted(self.halo_ids, ids.contiguous()) + (hi - lo)
        return torch.where(own, ids - lo, halo_pos)


@dataclass
class Ball:
    """The subgraph induced on ``ids`` (sorted global ids: the own range and every vertex within distance
    ``radius`` of it), as a symmetric CSR over positions in ``ids``; own rows are ``[own_start,
    own_start + n_local)`` and are complete, every other row is restricted to the ball."""

    radius: int
    ids: torch.Tensor
    rowptr: torch.Tensor
    col: torch.Tensor  # int32 positions
    own_start: int


class DistGraph:
    """A row-partitioned in-CSR over a process group. Build with :meth:`from_local_edges` (each rank
    passes its own shard of edges) or :meth:`scatter` (one rank passes a whole graph).

    Attributes:
        num_nodes: n, the same on every rank.
        ranges: int64 ``[world_size + 1]``; this rank owns ``[lo, hi) = [ranges[rank], ranges[rank + 1])``.
        rowptr: int64 ``[hi - lo + 1]``: own rows.
        col: int64 ``[nnz_local]``: sources (global ids), sorted within each row.
        undirected: True when every edge of the whole graph is present in both directions.
        group: the process group (None: the default group).
    """

    def __init__(self, num_nodes: int, ranges: torch.Tensor, rowptr: torch.Tensor, col: torch.Tensor,
                 undirected: bool, group=None):
        self.num_nodes = num_nodes
        self.ranges = ranges
        self.rowptr = rowptr
        self.col = col
        self.undirected = undirected
        self.group = group
        self.rank = dist.get_rank(group)
        self.world_size = dist.get_world_size(group)
        self.lo = int(ranges[self.rank])
        self.hi = int(ranges[self.rank + 1])
        self._halo: HaloPlan | None = None
        self._balls: dict[int, Ball] = {}

    # -- basic facts
    @property
    def num_local_nodes(self) -> int:
        return self.hi - self.lo

    @property
    def num_local_edges(self) -> int:
        """Directed edges stored on this rank (an undirected edge counts once per direction)."""
        return int(self.col.numel())

    def degree(self) -> torch.Tensor:
        """In-degree (the degree, when undirected) of the own vertices, int64 ``[n_local]``: a new tensor on every
        call (a cached one was shared: a caller's in-place change to it changed later results)."""
        return self.rowptr.diff()

    def local_edge_index(self) -> torch.Tensor:
        """The own rows' edges as a global-id ``[2, nnz_local]`` edge_index (sorted by target, source)."""
        target = torch.repeat_interleave(torch.arange(self.lo, self.hi), self.rowptr.diff())
        return torch.stack([self.col, target])

    def __repr__(self) -> str:
        return (f"DistGraph(rank {self.rank}/{self.world_size}, num_nodes={self.num_nodes}, own vertices "
                f"[{self.lo}, {self.hi}), local edges={self.num_local_edges}, undirected={self.undirected})")

    def require_undirected(self, what: str) -> None:
        """The same ValueError on every rank when the graph is directed (``undirected`` is global)."""
        if not self.undirected:
            raise ValueError(f"{what} needs an undirected graph (every edge in both directions); build the "
                             f"DistGraph with symmetrize=True to add the missing directions")

    # -- construction
    @staticmethod
    def from_local_edges(edge_index, num_nodes=None, group=None, *, symmetrize: bool = False,
                         require_undirected: bool = False, balance: bool = False) -> "DistGraph":
        """Build from each rank's own shard of edges (collective).

        Every rank passes its shard ``[2, m_r]`` (any m_r, 0 included) of one global edge list; edges
        are routed to the rank that owns their target and normalised there exactly as
        :meth:`rankcore.Graph.from_input` normalises the whole list. ``num_nodes`` must be the same on
        every rank (None on every rank: max id + 1 over all shards). ``balance=True`` chooses the
        contiguous ranges so that every rank holds about the same rows + entries (hub-heavy graphs).
        The undirected check is global; with ``require_undirected`` a missing reverse edge raises
        ``ValueError`` naming the smallest such edge, on every rank.
        """
        world = dist.get_world_size(group)
        rank = dist.get_rank(group)
        same = {"num_nodes": num_nodes, "symmetrize": symmetrize, "require_undirected": require_undirected,
                "balance": balance}
        edge_index, err = _try(lambda: _as_edge_index(edge_index))
        if err is None and edge_index.device.type != "cpu":
            err = ValueError(f"DistGraph is built from CPU shards, got edge_index on {edge_index.device}")
        if err is not None:
            kind, message = _portable(err)
            err = kind(f"rank {rank}: {message}")
        elif num_nodes is not None:
            num_nodes, err = _try(lambda: check_num_nodes(num_nodes))
        agree(err, group, same)  # num_nodes: the same everywhere, or None everywhere (inferred from every shard)
        if num_nodes is None:
            # at least 0: all-negative ids fail the range check below, naming the column (as Graph.from_input)
            local_max = torch.tensor([max(int(edge_index.max()) + 1, 0) if edge_index.numel() else 0])
            if world > 1:
                dist.all_reduce(local_max, op=dist.ReduceOp.MAX, group=group)
            num_nodes = int(local_max)
            _, err = _try(lambda: check_num_nodes(num_nodes))
            agree(err, group)
        n = num_nodes
        src, dst = edge_index[0], edge_index[1]
        err = None
        if src.numel():
            bad = (src < 0) | (src >= n) | (dst < 0) | (dst >= n)
            if bool(bad.any()):
                c = int(bad.nonzero()[0, 0])
                err = ValueError(f"rank {rank}: edge_index column {c} ({int(src[c])} -> {int(dst[c])}) has a "
                                 f"vertex index outside [0, {n}) (num_nodes={n})")
        agree(err, group)
        if symmetrize:  # self-loops and duplicates go where the rows are normalised (_route_rows)
            src, dst = torch.cat([src, dst]), torch.cat([dst, src])
        ranges = _uniform_ranges(n, world)
        rowptr, col = _route_rows(src, dst, n, ranges, rank, group)
        if balance and world > 1:
            # re-route the normalised rows to ranges balanced by rows + entries
            old_lo = int(ranges[rank])
            target = torch.repeat_interleave(torch.arange(old_lo, old_lo + rowptr.numel() - 1), rowptr.diff())
            ranges = _balanced_ranges(rowptr, n, ranges, rank, world, group)
            rowptr, col = _route_rows(col, target, n, ranges, rank, group)
        graph = DistGraph(n, ranges, rowptr, col, True, group)
        missing = graph._first_missing_reverse()
        if missing is not None:
            graph.undirected = False
            if require_undirected and not symmetrize:
                u, v = missing
                raise ValueError(f"the graph must be undirected, but edge {u} -> {v} has no reverse edge "
                                 f"({v} -> {u}); pass symmetrize=True to add the missing directions")
        return graph

    @staticmethod
    def scatter(graph, group=None, src: int = 0, *, num_nodes=None, symmetrize: bool = False,
                balance: bool = False) -> "DistGraph":
        """Split a whole graph held by rank ``src`` (any input :meth:`rankcore.Graph.from_input`
        accepts; None on the other ranks) into a DistGraph (collective)."""
        world = dist.get_world_size(group)
        rank = dist.get_rank(group)
        src_rank, err = _try(lambda: check_int("src", src, 0, world - 1))
        if err is None and rank == src_rank:
            g, err = _try(lambda: Graph.from_input(graph, num_nodes, symmetrize=symmetrize))
            if err is None:
                g = g.to("cpu")
                ranges = (_balanced_from_rowptr(g.rowptr, world) if balance else _uniform_ranges(g.num_nodes, world))
                parts = []
                for r in range(world):
                    a, b = int(ranges[r]), int(ranges[r + 1])
                    lo_e, hi_e = int(g.rowptr[a]), int(g.rowptr[b])
                    parts.append((g.num_nodes, ranges, g.undirected, g.rowptr[a:b + 1] - lo_e,
                                  g.col[lo_e:hi_e].to(torch.int64)))
        agree(err, group, {"src": src})  # num_nodes, symmetrize and balance are read on src only
        if world == 1:
            payload = parts[0]
        else:
            out = [None]
            dist.scatter_object_list(out, parts if rank == src_rank else None, src=src_rank, group=group)
            payload = out[0]
        n, ranges, undirected, rowptr, col = payload
        return DistGraph(n, ranges, rowptr, col, undirected, group)

    def _first_missing_reverse(self):
        """The smallest (u, v) (by (u, v)) of an edge u -> v whose reverse v -> u is absent, agreed on by
        every rank; None when the graph is undirected. Each edge s -> t (row t, here) asks the owner of s
        whether t is in row s: one round trip of all_to_all."""
        world = self.world_size
        src, dst = self.local_edge_index()
        owner = owner_of(src, self.ranges)
        order = torch.argsort(owner, stable=True)
        queries = torch.stack([src[order], dst[order]], dim=1)  # (s, t): is t in row s?
        counts = torch.bincount(owner, minlength=world).tolist()
        got, got_counts = all_to_all_rows(queries, counts, self.group)
        present = self._has_edge(got[:, 1], got[:, 0])  # edge t -> s is in row s
        answers, _ = all_to_all_rows(present.to(torch.int64).unsqueeze(1), got_counts, self.group)
        missing_local = torch.zeros(src.numel(), dtype=torch.bool)
        missing_local[order] = answers[:, 0] == 0
        best = None
        if bool(missing_local.any()):
            s, t = src[missing_local], dst[missing_local]
            i = int(torch.argmin(s * self.num_nodes + t))
            best = (int(s[i]), int(t[i]))
        found = [g for g in all_gather_objects(best, self.group) if g is not None]
        return min(found) if found else None

    def _has_edge(self, sources: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Whether each edge sources[i] -> targets[i] (targets own) is in the own rows."""
        if sources.numel() == 0:
            return torch.zeros(0, dtype=torch.bool)
        n = max(self.num_nodes, 1)
        src, dst = self.local_edge_index()
        keys = (dst - self.lo) * n + src  # ascending: rows by target, sources sorted
        query = (targets - self.lo) * n + sources
        pos = torch.searchsorted(keys, query).clamp_max(max(keys.numel() - 1, 0))
        return (keys[pos] == query) if keys.numel() else torch.zeros_like(query, dtype=torch.bool)

    # -- the halo plan and one walk step
    def halo(self) -> HaloPlan:
        """The halo plan (collective on first use; then cached)."""
        if self._halo is None:
            self._halo = self._make_halo()
        return self._halo

    def _make_halo(self) -> HaloPlan:
        lo, hi = self.lo, self.hi
        outside = (self.col < lo) | (self.col >= hi)
        halo_ids = torch.unique(self.col[outside])  # sorted, hence grouped by owner in rank order
        owners = owner_of(halo_ids, self.ranges)
        need_counts = torch.bincount(owners, minlength=self.world_size).tolist()
        requested, send_counts = all_to_all_rows(halo_ids.unsqueeze(1), need_counts, self.group)
        plan = HaloPlan(send_index=requested[:, 0] - lo, send_counts=send_counts, recv_counts=need_counts,
                        halo_ids=halo_ids, ext_rowptr=torch.zeros(0), ext_col=torch.zeros(0))
        plan.ext_col = plan.position(self.col, lo, hi).to(torch.int32)
        plan.ext_rowptr = torch.cat([self.rowptr, torch.full((plan.num_halo,), int(self.col.numel()),
                                                             dtype=torch.int64)])
        return plan

    def exchange(self, x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """Own rows ``[n_local, k]`` -> extended rows ``[n_local + num_halo, k]`` (own rows, then the halo
        rows received from their owners), sending every rank exactly the rows it needs (collective).
        ``out``: an extended buffer whose first n_local rows already hold ``x``; its halo rows are
        overwritten in place (the walk loop reuses the kernel's output this way: no copy)."""
        plan = self.halo()
        n_local = self.num_local_nodes
        if out is None:
            out = x.new_empty((n_local + plan.num_halo,) + tuple(x.shape[1:]))
            out[:n_local] = x
        if self.world_size > 1:
            recv = out[n_local:]
            dist.all_to_all_single(recv, x[plan.send_index].contiguous(), plan.recv_counts, plan.send_counts,
                                   group=self.group)
        return out

    # -- balls: the induced subgraph around the own range
    def ball(self, radius) -> Ball:
        """The subgraph induced on the vertices within ``radius`` of the own range (collective; built on
        first use per radius, then cached). Rows of other ranks' vertices are fetched from their owners,
        one round trip per distance."""
        r, err = _try(lambda: check_int("radius", radius, 0))
        agree(err, self.group, {"radius": radius})  # every call: a rank with it cached would not wait
        return self._ball(r)

    def _ball(self, radius: int) -> Ball:
        """:meth:`ball` for callers whose ranks have agreed on ``radius`` already."""
        if radius not in self._balls:
            self._balls[radius] = self._make_ball(radius)
        return self._balls[radius]

    def _fetch_rows(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows (global ids) of the sorted vertex ids ``ids`` owned elsewhere: (lengths [len(ids)], cols).
        Collective (every rank calls it, with its own ids)."""
        owners = owner_of(ids, self.ranges)
        counts = torch.bincount(owners, minlength=self.world_size).tolist()
        asked, asked_counts = all_to_all_rows(ids.unsqueeze(1), counts, self.group)
        local = asked[:, 0] - self.lo
        starts, ends = self.rowptr[local], self.rowptr[local + 1]
        lengths = ends - starts
        pieces = [self.col[int(a):int(b)] for a, b in zip(starts.tolist(), ends.tolist())]
        flat = torch.cat(pieces) if pieces else torch.zeros(0, dtype=torch.int64)
        # per destination rank: the total number of entries of the rows it asked for
        bounds = torch.tensor([0] + asked_counts).cumsum(0)
        entry_counts = [int(lengths[int(bounds[r]):int(bounds[r + 1])].sum()) for r in range(self.world_size)]
        got_lengths, _ = all_to_all_rows(lengths.unsqueeze(1), asked_counts, self.group)
        got_cols, _ = all_to_all_rows(flat.unsqueeze(1), entry_counts, self.group)
        return got_lengths[:, 0], got_cols[:, 0]

    def _make_ball(self, radius: int) -> Ball:
        lo, hi = self.lo, self.hi
        own = torch.arange(lo, hi)
        rows_ids = [own]
        rows_len = [self.rowptr.diff()]
        rows_col = [self.col]
        members = own
        neighbours = torch.unique(self.col)
        for _ in range(radius):
            # the vertices one step further out: neighbours of the last rows not yet in the ball
            frontier = neighbours[~torch.isin(neighbours, members)]
            members = torch.unique(torch.cat([members, frontier]))
            lengths, cols = self._fetch_rows(frontier)  # collective: every rank asks at every distance
            rows_ids.append(frontier)
            rows_len.append(lengths)
            rows_col.append(cols)
            neighbours = torch.unique(cols)
        # assemble the induced CSR over positions in `members` (sorted ids)
        row_of = torch.cat([torch.repeat_interleave(ids, lens) for ids, lens in zip(rows_ids, rows_len)])
        col_all = torch.cat(rows_col)
        inside = torch.isin(col_all, members)
        r = torch.searchsorted(members, row_of[inside])
        c = torch.searchsorted(members, col_all[inside])
        nb_count = members.numel()
        keys, _ = torch.sort(r * max(nb_count, 1) + c)
        rowptr = torch.zeros(nb_count + 1, dtype=torch.int64)
        if keys.numel():
            rowptr[1:] = torch.bincount(keys // max(nb_count, 1), minlength=nb_count).cumsum(0)
        col = (keys % max(nb_count, 1)).to(torch.int32)
        own_start = int(torch.searchsorted(members, torch.tensor(lo))) if nb_count else 0
        return Ball(radius=radius, ids=members, rowptr=rowptr, col=col, own_start=own_start)


# --- ranges and routing ---------------------------------------------------------------------------------

def _uniform_ranges(n: int, world: int) -> torch.Tensor:
    return torch.tensor([n * r // world for r in range(world + 1)], dtype=torch.int64)


def _balanced_from_rowptr(rowptr: torch.Tensor, world: int) -> torch.Tensor:
    """Boundaries that give every rank about the same rows + entries (rowptr of the whole graph)."""
    n = rowptr.numel() - 1
    work = rowptr + torch.arange(n + 1)  # strictly increasing
    goals = torch.tensor([int(work[-1]) * r // world for r in range(world + 1)])
    bounds = torch.searchsorted(work, goals).clamp(0, n)
    bounds[0], bounds[-1] = 0, n
    return torch.cummax(bounds, 0).values


def _balanced_ranges(rowptr: torch.Tensor, n: int, ranges: torch.Tensor, rank: int, world: int, group) -> torch.Tensor:
    """Balanced boundaries computed from the rows each rank holds under ``ranges`` (no rank sees all):
    every rank finds the cut points that fall in its own rows; a MAX all_reduce combines them."""
    lo = int(ranges[rank])
    local_work = rowptr + torch.arange(rowptr.numel())  # rows + entries before each own row
    totals = torch.zeros(world, dtype=torch.int64)
    totals[rank] = int(local_work[-1])
    dist.all_reduce(totals, group=group)
    offset = int(totals[:rank].sum())
    total = int(totals.sum())
    bounds = torch.zeros(world + 1, dtype=torch.int64)
    for c in range(1, world):
        goal = total * c // world
        if offset <= goal < offset + int(local_work[-1]):
            i = int(torch.searchsorted(local_work, torch.tensor(goal - offset)))
            bounds[c] = lo + min(i, rowptr.numel() - 1)
    dist.all_reduce(bounds, op=dist.ReduceOp.MAX, group=group)
    bounds[world] = n
    return torch.cummax(bounds, 0).values


def _route_rows(src: torch.Tensor, dst: torch.Tensor, n: int, ranges: torch.Tensor, rank: int, group):
    """Send every edge src -> dst to the owner of dst; return the owner's normalised rows (rowptr over its range,
    sorted unique sources as int64): the native build_csr normalisation of a row range, as Graph.from_input's
    (self-loops dropped, duplicates merged)."""
    world = ranges.numel() - 1
    owner = owner_of(dst, ranges)
    order = torch.argsort(owner, stable=True)
    counts = torch.bincount(owner, minlength=world).tolist()
    pairs = torch.stack([src[order], dst[order]], dim=1)
    got, _ = all_to_all_rows(pairs, counts, group)
    lo, hi = int(ranges[rank]), int(ranges[rank + 1])
    rowptr, col = ops.build_csr_rows(got.t().contiguous(), n, lo, hi - lo)
    return rowptr, col.to(torch.int64)
