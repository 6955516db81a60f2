"""Walk counting, partition boundaries and the walk index (definitions §2).

Everything here is sparse: one CSR, a few ``[n, k]`` blocks, never an n x n matrix.
"""

from __future__ import annotations

import math
import re
import time
import warnings

import torch

from .. import ops
from .arguments import INT64_MAX, check_allocation, check_int
from .container import Graph, GraphInput
from .eager import eager_only

def check_bool_mask(name: str, mask) -> None:
    """TypeError unless ``mask`` is a bool tensor (its shape is the caller's to check)."""
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name} must be a bool tensor of shape [n] or [k, n], got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(f"{name} must be a bool mask (dtype torch.bool), got {mask.dtype}")


def _check_mask(name: str, mask, graph: Graph) -> tuple[torch.Tensor, bool]:
    """Validate a bool mask ``[n]`` or ``[k, n]``; return it as ``[k, n]`` and whether it was 1-D."""
    check_bool_mask(name, mask)
    n = graph.num_nodes
    if mask.dim() not in (1, 2) or mask.shape[-1] != n:
        raise ValueError(f"{name} must have shape [{n}] or [k, {n}] for a graph of {n} vertices, "
                         f"got {list(mask.shape)}")
    if mask.device != graph.device:
        raise ValueError(f"{name} is on {mask.device} but the graph is on {graph.device}")
    if mask.dim() == 2 and mask.device.type == "cpu":
        # the k masks walk as int64 columns: start, two step buffers and the result, twice (I and I^c)
        check_allocation(64 * mask.numel(), f"{mask.shape[0]} {name} masks over {n} vertices",
                         "pass the masks in smaller batches")
    return (mask.unsqueeze(0) if mask.dim() == 1 else mask), mask.dim() == 1


def check_walk_dtype(dtype) -> torch.dtype:
    """torch.int64 (exact) or torch.float64 (approximate), else ValueError."""
    if dtype not in (torch.int64, torch.float64):
        raise ValueError(f"dtype must be torch.int64 (exact) or torch.float64 (approximate), got {dtype}")
    return dtype


_CHUNK_SECONDS = 0.25  # a native call runs at most about this long, so Ctrl-C is honoured promptly
# Lengths beyond this many Â steps continue in the binomial form (long_walks): a directed graph whose
# reachable part is acyclic has counts that grow only polynomially, so step by step a huge length never ends.
BINOMIAL_AFTER = 128


@eager_only  # a data-dependent loop of native calls: nothing for a compiler to fuse
def _walks_from(graph: Graph, start: torch.Tensor, length: int) -> torch.Tensor:
    """[n, k] non-negative start counts -> [n, k] counts after `length` steps on Â (following edge
    direction): up to BINOMIAL_AFTER steps one by one (:func:`step_walks`), the rest by :func:`long_walks`."""
    x, settled = step_walks(graph, start, min(length, BINOMIAL_AFTER))
    if settled or length <= BINOMIAL_AFTER:
        return x

    adjacency = None if x.dtype == torch.int64 else adjacency_matrix(graph.rowptr, graph.col)

    def a_step(w: torch.Tensor) -> torch.Tensor:
        if adjacency is None:  # int64: Â w - w is exact (and an overflow of Â w is a real one)
            return ops.walk_count(graph.rowptr, graph.col, w, 1) - w
        return adjacency @ w  # float64: A alone (fl(w + A w) - w would lose A w beside a large w)

    def steps(y: torch.Tensor, count: int) -> torch.Tensor:  # Â^count y in float64, by step_walks
        return step_walks(graph, y, count)[0]

    return long_walks(x, length - BINOMIAL_AFTER, BINOMIAL_AFTER, a_step, lambda flags: flags, steps,
                      graph.num_nodes)


def step_walks(graph: Graph, start: torch.Tensor, length: int) -> tuple[torch.Tensor, bool]:
    """`length` steps on Â in native calls; returns the counts and whether they settled before the end.

    The steps run in native calls: the first of up to 16 steps (the usual lengths: one call, as fast as
    ever), then calls of doubling size kept under about ``_CHUNK_SECONDS`` each, with two consequences:
    * Ctrl-C stops a long count between calls (a native call cannot be interrupted);
    * the count stops early once it is settled. Â = A + I has a non-negative off-diagonal part and a
      unit diagonal, so for a non-negative x every step is monotone, x_{t+1} >= x_t (in float64 too:
      rounding is monotone). If a call of s steps returns its own input, every step in between
      returned it too: x is a fixed point and all later steps return it (an edgeless graph, every
      float64 value inf, sources that reach nothing). Length 2^62 on such a graph returns at once.
    """
    done, chunk, x = 0, 16, start
    while done < length:
        steps = min(chunk, length - done)
        t0 = time.perf_counter()
        try:
            y = ops.walk_count(graph.rowptr, graph.col, x, steps)
        except OverflowError as err:  # the op names its own step: add the steps done before this call
            raise OverflowError(_shift_length(str(err), done)) from None
        done += steps
        if done < length and torch.equal(x, y):
            return (x if x is not start else x.clone()), True
        x = y
        if time.perf_counter() - t0 < _CHUNK_SECONDS / 4:
            chunk = min(2 * chunk, 1 << 20)
    return (x if x is not start else x.clone()), False


def adjacency_matrix(rowptr: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
    """The in-neighbour CSR as a float64 sparse matrix (row j sums the sources of the edges i -> j)."""
    n = rowptr.numel() - 1
    values = torch.ones(col.numel(), dtype=torch.float64, device=col.device)
    with warnings.catch_warnings():  # "sparse CSR support is in beta": a user can do nothing about it
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(rowptr, col.to(torch.int64), values, (n, n), check_invariants=False)


class _LongOverflow(Exception):
    """The binomial form's count overflowed int64 (the length is found by :func:`long_walks`)."""


def long_walks(x: torch.Tensor, length: int, offset: int, a_step, agree_max, steps, num_nodes: int) -> torch.Tensor:
    """Â^length x for a long length, by the binomial form Â^k = (I + A)^k = sum_j C(k, j) A^j.

    The j-th term needs j steps of A, and the sum ends at the first j with A^j x = 0: a directed graph
    whose part reachable from x is acyclic, with longest path D, is done in D + 1 steps whatever the length
    (step by step, length 2^40 took a day). Where a cycle is reachable A^j x never vanishes, but then the
    count is huge: in int64, C(k, j) alone passes 2^63 by j = 64 for k >= 128 (an OverflowError), and in
    float64 every entry the cycle reaches becomes inf (see _binomial_sum_float). So the loop runs at most
    about min(length, D + 1, 64 + the distance to a cycle) steps.

    ``a_step(w)`` returns A w (for int64: may raise OverflowError when Â w overflows, which implies the
    count does: it is at least w_j + w_{j+1} entrywise for j < length). ``agree_max(flags)`` returns the
    entrywise maximum of a small int64 tensor over the processes that hold the rows (identity on one process;
    an all_reduce on a DistGraph, whose ranks then take the same branches). ``steps(y, s)`` returns Â^s y for a
    float64 y, stepping (:func:`step_walks`; float64 only); ``num_nodes`` is the number of vertices of the
    whole graph. ``offset`` is the number of steps that produced x, for the error message. An int64 overflow
    names the first length that overflows: the counts grow with the length (Â = I + A, A >= 0), so a bisection
    over the binomial form finds it.
    """
    if x.dtype != torch.int64:
        return _binomial_sum_float(x, length, a_step, agree_max, steps, num_nodes)
    try:
        return _binomial_sum_int(x, length, a_step, agree_max)
    except _LongOverflow:
        pass
    fits, overflows = 0, length  # Â^0 x = x fits; Â^length x does not
    while overflows - fits > 1:
        mid = (fits + overflows) // 2
        try:
            _binomial_sum_int(x, mid, a_step, agree_max)
            fits = mid
        except _LongOverflow:
            overflows = mid
    raise OverflowError(f"walk counts of length {offset + overflows} exceed the int64 range (2^63 - 1)")


def _binomial_sum_int(x: torch.Tensor, length: int, a_step, agree_max) -> torch.Tensor:
    """sum_j C(length, j) A^j x in exact int64, or _LongOverflow (every term is >= 0, so a term or a partial
    sum past 2^63 - 1 means the count is)."""
    result, w, coefficient = x.clone(), x, 1
    for j in range(1, length + 1):
        try:
            w = a_step(w)
            overflow = False
        except OverflowError:
            overflow = True
        coefficient = coefficient * (length - j + 1) // j  # C(length, j), exact
        nonzero = not overflow and bool(w.any())
        if nonzero:
            if coefficient > INT64_MAX or int(w.max()) > INT64_MAX // coefficient:
                overflow = True
            else:
                term = w * coefficient
                overflow = bool((result > INT64_MAX - term).any())
                result += term
        flags = agree_max(torch.tensor([int(overflow), int(nonzero)], dtype=torch.int64))
        if int(flags[0]):
            raise _LongOverflow
        if not int(flags[1]):
            break  # A^j x = 0 on every process: every later term is 0
    return result


_SATURATED_BITS = 1100  # a C(length, j) this long is inf as a float64 (2^1024 is beyond float64's range)
# A float64 term of the binomial sum (a torch sparse product and a few passes over [n, k]) costs about as much as
# this many Â steps of the native op: past length / _TERM_COST terms, stepping on costs at most as much again.
_TERM_COST = 16


def _binomial_sum_float(x: torch.Tensor, length: int, a_step, agree_max, steps, num_nodes: int) -> torch.Tensor:
    """sum_j C(length, j) A^j x in float64. Besides A^j x = 0, the sum stops once it cannot change: every
    entry A^j x reaches is inf, and so is every out-neighbour of an inf entry (then every later A^i x, i > j,
    is non-zero only on inf entries). For a huge length C(length, j) is inf after a few dozen j, so entries a
    cycle reaches (non-zero for ever more j) turn inf and the others stop being reached.

    That alone took a term per vertex on a long path or cycle (176 s for a 10^5-vertex path at length 2^62;
    a 30000-vertex cycle from one source: 10 s against 0.5 s by stepping Â), so two more exits:
    * Saturation. C(length, i) >= C(length, j) for j <= i <= length - j, so once C(length, j) has
      _SATURATED_BITS bits (2j <= length holds below) every coefficient up to length - j is inf, and the exact
      coefficient (j log2(length) bits: a quadratic cost) is no longer needed. Where moreover
      j + n <= length - j0 (n vertices, j0 the j that saturated), the rest is known at once: a vertex that A^i x
      reaches for some i >= j is reached by a walk from the support of A^j x, and (cutting closed sub-walks out)
      by one of at most n - 1 edges, so at some i in [j, j + n - 1], where the coefficient is inf; no other
      vertex is reached again. The sum ends with inf on the vertices reachable from the support of A^j x
      (:func:`_closure`: native steps; the 10^5-vertex path: 4 s).
    * Giving way to stepping. Each term costs about _TERM_COST Â steps, so past length / _TERM_COST terms the
      sum returns ``steps(x, length)``: at most about twice the cost of the cheaper of the two (a length below
      about n on a long path or cycle took a term per unit of length: 20000 vertices, length 10^4: 1.6 s, 0.09 s
      by stepping, 0.18 s now). So j <= length / 16, and a saturation at j0 <= j lasts to length - j0 >= j.
    Every decision depends on j, length and agreed flags only: every process takes it alike."""
    result, w, coefficient, saturated_until = x.clone(), x, 1, 0
    for j in range(1, length + 1):
        if j * _TERM_COST > length:
            return steps(x, length)
        w = a_step(w)
        if saturated_until:
            scale = math.inf
        else:
            coefficient = coefficient * (length - j + 1) // j  # C(length, j), exact
            if coefficient.bit_length() > _SATURATED_BITS:
                saturated_until, scale = length - j, math.inf
            else:
                try:
                    scale = float(coefficient)
                except OverflowError:
                    scale = math.inf
        if saturated_until and j + num_nodes <= saturated_until:
            result[_closure(w > 0, steps, agree_max)] = math.inf
            break
        reached = w > 0
        result += torch.where(reached, w * scale, 0.0)  # 0 * inf would be nan
        inf = torch.isinf(result)
        flags = agree_max(torch.tensor([int(bool(reached.any())), int(bool((reached & ~inf).any()))],
                                       dtype=torch.int64))
        if not int(flags[0]):
            break
        if not int(flags[1]):  # nothing finite reached now: is the inf set closed under out-neighbours?
            leaks = (a_step(inf.to(torch.float64)) > 0) & ~inf
            if not int(agree_max(torch.tensor([int(bool(leaks.any()))], dtype=torch.int64))[0]):
                break
    return result


def _closure(support: torch.Tensor, steps, agree_max) -> torch.Tensor:
    """[n, k] bool -> the vertices reachable from ``support`` along 0 or more edges, per column: Â^s y for
    s = 16, 32, ..., 256, 256, ... (``steps``, native calls) until the support stops growing (supp Â^s y = supp y
    for s >= 1: closed under out-neighbours): at most 256 steps beyond the deepest search, and a comparison per
    256 steps. Float64 values only mark the support (they may saturate to inf; nothing is subtracted: no nan)."""
    y, chunk = support, 16
    while True:
        grown = steps(y.to(torch.float64), chunk) > 0
        if not int(agree_max(torch.tensor([int(not torch.equal(grown, y))], dtype=torch.int64))[0]):
            return y
        y, chunk = grown, min(2 * chunk, 256)


def _shift_length(message: str, offset: int) -> str:
    return re.sub(r"of length (\d+)", lambda m: f"of length {int(m.group(1)) + offset}", message, count=1)


def count_walks(edge_index: GraphInput, num_nodes: int | None, length: int, sources: torch.Tensor | None = None, *,
                dtype: torch.dtype = torch.int64, symmetrize: bool = False) -> torch.Tensor:
    """Number of length-``length`` walks on Â = A + I ending at every vertex.

    ``out[..., j] = ρ_length(S, {j}) = Σ_{i ∈ S} (Â^length)[i, j]`` where walks follow edge direction
    (source -> target). Input self-loops are ignored and duplicate edges merged before Â is formed.

    Args:
        edge_index: ``[2, m]`` int64 edge_index, a PyG ``Data``, scipy sparse, networkx or :class:`Graph`.
        num_nodes: number of vertices (None: inferred from the input).
        length: walk length, ``>= 0``.
        sources: None (every vertex is a source), a bool mask ``[n]``, or a batch of masks ``[k, n]``.
        dtype: ``torch.int64`` (exact; raises :class:`OverflowError` naming the length that overflowed)
            or ``torch.float64`` (approximate).

    Returns:
        ``[n]`` for ``sources`` None or ``[n]``; ``[k, n]`` for a ``[k, n]`` batch.
    """
    graph = Graph.from_input(edge_index, num_nodes, symmetrize=symmetrize)
    length = check_int("length", length, 0)
    dtype = check_walk_dtype(dtype)
    n = graph.num_nodes
    if sources is None:
        start = torch.ones(n, 1, dtype=dtype, device=graph.device)
        squeeze = True
    else:
        masks, squeeze = _check_mask("sources", sources, graph)
        # [n, k] as the transpose of the [k, n] masks: the CPU op packs a vertex's k counts itself and returns
        # the same layout, so neither the start nor the result needs a transposing copy here.
        start = masks.to(dtype).t()
    try:
        counts = _walks_from(graph, start, length)
    except OverflowError as err:
        raise OverflowError(f"{err}; pass dtype=torch.float64 for approximate counts") from None
    del start  # keep peak memory at CSR + (start, two step buffers) only inside the op
    return counts[:, 0] if squeeze else counts.t().contiguous()


def boundary_by_one_step(masks: torch.Tensor, walks_from) -> torch.Tensor:
    """[k, rows] partitions -> [k, rows] boundaries, via one length-1 walk count on 2k columns;
    ``walks_from(start, length)`` counts walks on whatever graph holds the rows (a Graph, a rank's DistGraph)."""
    k = masks.shape[0]
    inside = masks.t().to(torch.int64)  # [rows, k]
    start = torch.cat([inside, 1 - inside], dim=1).contiguous()  # [rows, 2k]: 1_I, then 1_{I^c}
    # One step gives x + A x; subtracting x leaves the number of neighbours in I (resp. I^c).
    neighbours = walks_from(start, 1) - start
    has_outside_neighbour = neighbours[:, k:] > 0
    has_inside_neighbour = neighbours[:, :k] > 0
    inside_b = inside.bool()
    return ((inside_b & has_outside_neighbour) | (~inside_b & has_inside_neighbour)).t().contiguous()


def _boundary(graph: Graph, masks: torch.Tensor) -> torch.Tensor:
    """[k, n] partitions -> [k, n] boundaries."""
    return boundary_by_one_step(masks, lambda start, length: _walks_from(graph, start, length))


def boundary(edge_index: GraphInput, num_nodes: int | None, partition: torch.Tensor, *,
             symmetrize: bool = False) -> torch.Tensor:
    """Boundary C_I of the partition (I, I^c): the vertices with a neighbour on the other side.

    ``partition`` is a bool mask of I, ``[n]`` or a batch ``[k, n]``; returns a bool mask of the same
    shape. The graph must be undirected (or pass ``symmetrize=True``).
    """
    graph = Graph.from_input(edge_index, num_nodes, require_undirected=True, symmetrize=symmetrize)
    masks, squeeze = _check_mask("partition", partition, graph)
    result = _boundary(graph, masks)
    return result[0] if squeeze else result


def masked_sum_halves(masks: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """``[2, k]`` int64: Σ_{i: masks[c, i]} of the low and of the high 31-bit halves of ``values`` (non-negative
    int64 < 2^63). Neither half-sum can wrap (each is below n * 2^32 < 2^63), and half-sums of disjoint vertex
    sets (the ranks of a DistGraph) can be added before :func:`combine_halves`."""
    m = masks.to(torch.int64)
    return torch.stack([(m * (values & (2**31 - 1))).sum(dim=1), (m * (values >> 31)).sum(dim=1)])


def combine_halves(halves: torch.Tensor, what: str) -> torch.Tensor:
    """The exact sums from :func:`masked_sum_halves` (combined in Python ints), or OverflowError."""
    totals = [h * 2**31 + lo for lo, h in zip(halves[0].tolist(), halves[1].tolist())]
    for i, total in enumerate(totals):
        if total > INT64_MAX:  # in a batch, say which entry: the others may fit
            where = f" of partition {i} of the batch" if len(totals) > 1 else ""
            raise OverflowError(f"{what}{where} = {total} exceeds the int64 range (2^63 - 1)")
    return torch.tensor(totals, dtype=torch.int64, device=halves.device)


def check_target(target, n: int) -> int | None:
    """None, or a vertex id in [0, n) (the walk index's prediction target)."""
    if target is None:
        return None
    t = check_int("target", target, 0)
    if t >= n:
        raise ValueError(f"target must be a vertex in [0, {n}), got {t}")
    return t


def walk_index_start(n: int, target, depth: int, lo: int = 0, device=None) -> tuple[torch.Tensor, str]:
    """The ``[n, 1]`` start vector of the walk index (all ones, or the indicator of ``target``, which is
    a global id; this block holds the vertices ``[lo, lo + n)``) and what it computes, for messages."""
    start = torch.zeros(n, 1, dtype=torch.int64, device=device)
    if target is None:
        start.fill_(1)
        return start, f"the graph-prediction walk index (depth {depth})"
    if lo <= target < lo + n:
        start[target - lo] = 1
    return start, f"the walk index at target {target} (depth {depth})"


def walk_index_halves(boundaries: torch.Tensor, start: torch.Tensor, walks, length: int, what: str,
                      vertex_prediction: bool, agree_any=bool) -> torch.Tensor:
    """:func:`masked_sum_halves` of the walk index of ``k`` boundaries ([k, n] bool) as sum_{i in C} (Â^L start)_i.

    ``walks(start, length)`` counts walks ([n, j] -> [n, j]; a DistGraph's collective count on its own rows);
    ``agree_any(flag)`` is True when the flag is True on any process that holds rows (``bool`` on one process).
    Â^L start (one column for all k partitions) can overflow at a vertex outside every C_I while the sums over
    C_I fit. Then:
    * graph prediction counts each from its boundary, sum_i start_i (Â^L 1_C)_i (the same number, Â being
      symmetric): every entry of that count is at most the walk index and every step is monotone, so it
      overflows only when the walk index does;
    * vertex prediction at t counts from the boundaries too, but a count from C can overflow away from t (a
      clique beside C) while the one at t fits, so each step keeps only the vertices close enough to t to still
      reach it (:func:`_walks_towards`): every count kept is at most the walk index."""
    try:
        return masked_sum_halves(boundaries, walks(start, length)[:, 0])
    except OverflowError:
        pass
    rows = start[:, 0].to(torch.bool).expand_as(boundaries)  # every vertex, or the target alone
    from_boundaries = boundaries.t().to(torch.int64).contiguous()  # [n, k]
    try:
        if vertex_prediction:
            counts = _walks_towards(from_boundaries, start, walks, length, agree_any)
        else:
            counts = walks(from_boundaries, length)
    except OverflowError as err:
        raise walk_index_overflow(what, err) from None
    return masked_sum_halves(rows, counts.t())


_FIRST_RADIUS = 16  # _walks_towards first drops every vertex farther than this from t (then 32, 64, ...)


def _walks_towards(x: torch.Tensor, target: torch.Tensor, walks, length: int, agree_any) -> torch.Tensor:
    """``length`` steps of Â from ``x`` ([n, k]) keeping, after step s, only the rows of vertices within distance
    ``length - s`` of the target (``target`` the [n, 1] indicator of t); row t of the result is exact
    (sum_i x_i (Â^length)_{i t}).

    A walk counted at step s at a vertex w within ``length - s`` of t extends (waiting at w on its self-loop,
    then walking to t) to a walk of full length ending at t, and distinct walks extend to distinct ones: so every
    kept count is at most the final count at t, and overflows only when that one does. A dropped vertex cannot
    reach t in the steps left, so no walk to t passes through it then: the kept counts are the true ones.

    The distances come from a search from t, one Â step per level: a full search costs a step on the whole graph
    per level (t in the middle of a path of 10^5 vertices: 18 s, before a count that overflows within 50 steps
    near t). So the search goes only as deep as it must: to radius r, dropping the vertices not seen yet as well
    (their walks are left out: every count kept is then a count of a subset of those walks, at most the true
    one, so an overflow is still the walk index's). The count is exact when no walk was left out that way (every unseen vertex had
    count 0 when it was dropped: then each step kept what the rule keeps), or when the search has seen t's
    whole component or every vertex within ``length - 1`` of t (then the unseen ones are the ones the rule
    drops). Otherwise the search goes on to 2r, 4r, ... and the count is made again."""
    distance = torch.where(target[:, 0] > 0, 0, length + 1)  # from t; length + 1: not seen (yet)
    reached, radius, complete, wanted = target, 0, False, _FIRST_RADIUS
    while True:
        while radius < min(wanted, length - 1) and not complete:
            grown = (walks(reached, 1) > 0).to(torch.int64)  # a 0/1 column: no count here can overflow
            if not agree_any(bool((grown != reached).any())):
                complete = True  # t's whole component is seen
                break
            radius += 1
            distance = torch.where((grown[:, 0] > 0) & (distance > radius), radius, distance)
            reached = grown
        counts, left_out = _kept_walks(x, distance, walks, length, agree_any)
        if complete or radius >= length - 1 or not agree_any(left_out):
            return counts
        wanted *= 2


def _kept_walks(x: torch.Tensor, distance: torch.Tensor, walks, length: int,
                agree_any) -> tuple[torch.Tensor, bool]:
    """The steps of :func:`_walks_towards`: after step s, zero the rows whose ``distance`` exceeds length - s.
    Also returns whether a non-zero count was zeroed at a vertex not seen (``distance`` length + 1)."""
    unseen, left_out = distance > length, False
    for step in range(1, length + 1):
        if not agree_any(bool(x.any())):
            break  # no walk left that can still reach t: its count is 0
        try:
            x = walks(x, 1)
        except OverflowError as err:  # a kept count is at most the walk index: it overflows too
            raise OverflowError(_shift_length(str(err), step - 1) + " on the way to the target") from None
        left_out = left_out or bool(x[unseen].any())
        x[distance > length - step] = 0
    return x, left_out


def walk_index_overflow(what: str, err: OverflowError) -> OverflowError:
    return OverflowError(f"{what} is not representable: {err} (the walk index is exact only; "
                         f"rankcore.count_walks(..., dtype=torch.float64) gives approximate walk counts)")


def walk_index(edge_index: GraphInput, num_nodes: int | None, partition: torch.Tensor, depth: int,
               target: int | None = None, *, symmetrize: bool = False) -> torch.Tensor:
    """Walk index of a depth-``depth`` GNN for the partition (I, I^c) (definitions §2).

    Graph prediction (``target`` None): WI_{L-1}(I) = ρ_{L-1}(C_I, V).
    Vertex prediction at ``target`` t: WI_{L-1,t}(I) = ρ_{L-1}(C_I, {t}).

    ``partition``: bool mask ``[n]`` (returns an int64 scalar tensor) or ``[k, n]`` (returns ``[k]``).
    All k partitions share one walk count: since Â is symmetric, ρ(C, V) = Σ_{i ∈ C} (Â^{L-1} 1)_i and
    ρ(C, {t}) = Σ_{i ∈ C} (Â^{L-1} e_t)_i, so one k = 1 walk vector serves the whole batch.
    """
    graph = Graph.from_input(edge_index, num_nodes, require_undirected=True, symmetrize=symmetrize)
    depth = check_int("depth", depth, 1)
    masks, squeeze = _check_mask("partition", partition, graph)
    n = graph.num_nodes
    target = check_target(target, n)
    start, what = walk_index_start(n, target, depth, device=graph.device)
    halves = walk_index_halves(_boundary(graph, masks), start, lambda x, length: _walks_from(graph, x, length),
                               depth - 1, what, target is not None)
    result = combine_halves(halves, what)
    return result[0] if squeeze else result
