"""Typed wrappers over ``torch.ops.rankcore.*`` plus their fake (meta) implementations.

The wrappers are the only place that calls the native ops directly. They translate the native
overflow error into :class:`OverflowError`; everything else (argument validation with friendly
messages) happens one level up, in :mod:`rankcore.graph`.
"""

from __future__ import annotations

import weakref

import torch

from . import _C  # noqa: F401  (loads the shared library, which registers the ops)

_OVERFLOW_PREFIX = "rankcore overflow:"


def _check_devices(op: str, *tensors) -> None:
    """Every tensor argument of ``op`` on one device. Called by the wrappers AND by the fake kernels:
    a meta tensor mixed with real ones dispatches to the fake, which would otherwise allocate on the
    first argument's device and hand back uninitialised memory as a result."""
    flat = []
    for t in tensors:
        flat.extend(t if isinstance(t, (list, tuple)) else [t])
    devices = {t.device for t in flat if isinstance(t, torch.Tensor)}
    if len(devices) > 1:
        raise ValueError(f"rankcore.{op}: all tensor arguments must be on one device, got "
                         f"{', '.join(sorted(str(d) for d in devices))}")


def _raise_overflow_from(err: RuntimeError) -> None:
    msg = str(err)
    if _OVERFLOW_PREFIX in msg:
        detail = msg.split(_OVERFLOW_PREFIX, 1)[1].strip().splitlines()[0]
        raise OverflowError(detail) from None


def walk_count(rowptr: torch.Tensor, col: torch.Tensor, start: torch.Tensor, length: int) -> torch.Tensor:
    """``length`` steps of walk counting through Â = A + I on the in-neighbour CSR ``(rowptr, col)``.

    ``start`` is ``[n, k]`` (int64, exact, non-negative; or float64). Returns ``[n, k]`` with
    ``out[j, c] = sum_i start[i, c] * (Â^length)[i, j]``. On the CPU, a ``start`` that is the transpose of a
    contiguous ``[k, n]`` is read in place and the result has that layout too (``out.t()`` is contiguous);
    otherwise the result is contiguous. Raises :class:`OverflowError` naming the walk
    length whose int64 counts overflowed (inside a torch.compile graph this wrapper is traced, so the error
    arrives as the op's RuntimeError, "rankcore overflow: ..."; the public graph functions run eagerly
    under torch.compile and always raise OverflowError).
    """
    _check_devices("walk_count", rowptr, col, start)
    try:
        plan = _long_row_plan(rowptr, col) if rowptr.is_cuda else None
        if plan is not None:
            return torch.ops.rankcore.walk_count_planned.default(rowptr, col, start, length, *plan)
        return torch.ops.rankcore.walk_count.default(rowptr, col, start, length)
    except RuntimeError as err:
        _raise_overflow_from(err)
        raise


# The CUDA walk_count splits rows longer than _LONG_ROW_THRESHOLD entries into chunks of _LONG_ROW_CHUNK
# (csrc/ops/cuda/walk_count_kernel.cuh, kLongRowThreshold / kLongRowChunk). Finding those rows costs two
# host synchronisations, so the plan is computed once per rowptr tensor and kept here: keyed by the
# tensor's id, valid while its data pointer, length, in-place version counter and nnz are unchanged,
# dropped when the tensor is freed.
_LONG_ROW_THRESHOLD = 1024
_LONG_ROW_CHUNK = 1024
_long_row_plans: dict[int, tuple] = {}


def _long_row_plan(rowptr: torch.Tensor, col: torch.Tensor):
    """(long_rows, max_chunks) for walk_count_planned, or None to let the op find them (traced or fake
    tensors, malformed CSR: the op reports the error)."""
    if torch.compiler.is_compiling() or rowptr.dim() != 1 or rowptr.dtype != torch.int64 or rowptr.numel() < 1:
        return None
    try:
        signature = (rowptr.data_ptr(), rowptr.numel(), rowptr._version, col.numel())
    except RuntimeError:  # a tensor without storage (fake, functional)
        return None
    key = id(rowptr)
    entry = _long_row_plans.get(key)
    if entry is not None and entry[0] == signature:
        return entry[1]
    nnz = col.numel()
    if nnz <= _LONG_ROW_THRESHOLD:  # no row can be long: no synchronisation needed
        plan = (torch.empty(0, dtype=torch.int64, device=rowptr.device), 0)
    else:
        degree = rowptr[1:] - rowptr[:-1]
        rows = torch.nonzero(degree > _LONG_ROW_THRESHOLD).flatten()
        if rows.numel() == 0:
            plan = (rows, 0)
        else:
            longest = min(int(degree[rows].max()), nnz)
            plan = (rows, (longest + _LONG_ROW_CHUNK - 1) // _LONG_ROW_CHUNK)
    if entry is None:
        weakref.finalize(rowptr, _long_row_plans.pop, key, None)
    _long_row_plans[key] = (signature, plan)
    return plan


@torch.library.register_fake("rankcore::walk_count")
def _walk_count_fake(rowptr, col, start, length):
    _check_devices("walk_count", rowptr, col, start)
    torch._check(start.dim() == 2)
    torch._check(rowptr.dim() == 1 and rowptr.shape[0] == start.shape[0] + 1)
    if start.device.type == "cpu" and _is_column_major(start):  # the CPU op keeps a [k, n] transposed layout
        return torch.empty_like(start.t(), memory_format=torch.contiguous_format).t()
    return torch.empty_like(start, memory_format=torch.contiguous_format)


def _is_column_major(start: torch.Tensor) -> bool:
    """The transpose of a contiguous [k, n] (csrc/ops/cpu/walk_count_cpu.cpp, is_column_major)."""
    n, k = start.shape
    return n > 1 and k > 1 and start.stride(0) == 1 and start.stride(1) == n


@torch.library.register_fake("rankcore::walk_count_planned")
def _walk_count_planned_fake(rowptr, col, start, length, long_rows, max_chunks):
    _check_devices("walk_count_planned", rowptr, col, start, long_rows)
    return _walk_count_fake(rowptr, col, start, length)


def wis_greedy(rowptr: torch.Tensor, col: torch.Tensor, num_remove: int, depth: int,
               progress: torch.Tensor | None = None, min_degree: int = 0,
               keep_connected: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact (depth-1)-WIS removal order on a symmetric CSR: ``(removed [num_remove, 2] int64 (u < v),
    ids [num_remove] int64)``, ids the edges' ranks in the (u, v) order of :func:`undirected_edges`.

    ``progress`` (one-element int64 CPU tensor) is overwritten with the number of steps done so far, so
    another thread can poll it while the op runs (the op does not hold the GIL). ``min_degree`` /
    ``keep_connected``: the guards (definitions §2); the greedy skips the candidates they forbid, and
    returns fewer than ``num_remove`` rows when they forbid every edge left.
    """
    if progress is None:
        progress = torch.zeros(1, dtype=torch.int64)
    _check_devices("wis_greedy", rowptr, col)
    try:
        return torch.ops.rankcore.wis_greedy.default(rowptr, col, num_remove, depth, progress, min_degree,
                                                     keep_connected)
    except RuntimeError as err:
        _raise_overflow_from(err)
        raise


@torch.library.register_fake("rankcore::wis_greedy")
def _wis_greedy_fake(rowptr, col, num_remove, depth, progress, min_degree=0, keep_connected=False):
    _check_devices("wis_greedy", rowptr, col)
    rows = num_remove if min_degree == 0 and not keep_connected else torch.library.get_ctx().new_dynamic_size()
    return (rowptr.new_empty((rows, 2), dtype=torch.int64), rowptr.new_empty(rows, dtype=torch.int64))


def local_degree_exponents(owner: torch.Tensor, other: torch.Tensor, d_owner: torch.Tensor, d_other: torch.Tensor,
                           num_rows: int, first_row: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The Local Degree ranks (definitions §2): ``(positions [P] int64, exponents [P] float64)`` of the pairs
    (owner i, neighbour j) with deg(j) > deg(i), ordered by owner then rank (degree descending, id ascending);
    rank r of an owner of degree d gets 1 - log(r) / log(d) (1 when d = 1). Owners in ``[first_row, first_row +
    num_rows)``. CPU, int64 inputs of one length. The single-process and the distributed Local Degree score both
    rank with it."""
    _check_devices("local_degree_exponents", owner, other, d_owner, d_other)
    return _call_native(torch.ops.rankcore.local_degree_exponents.default, owner, other, d_owner, d_other, num_rows,
                        first_row)


@torch.library.register_fake("rankcore::local_degree_exponents")
def _local_degree_exponents_fake(owner, other, d_owner, d_other, num_rows, first_row):
    _check_devices("local_degree_exponents", owner, other, d_owner, d_other)
    ranked = torch.library.get_ctx().new_dynamic_size()
    return owner.new_empty(ranked), owner.new_empty(ranked, dtype=torch.float64)


def local_degree_scores(rowptr: torch.Tensor, col: torch.Tensor, upper: torch.Tensor, mirror: torch.Tensor
                        ) -> torch.Tensor:
    """NetworKit's Local Degree score of every edge (float64 ``[M]``) of a simple undirected graph: its symmetric CSR
    and the CSR slots of each edge's two entries (``upper`` / ``mirror`` of :func:`undirected_edges`). The ranking
    of :func:`local_degree_exponents`, row by row on the CSR. CPU."""
    _check_devices("local_degree_scores", rowptr, col, upper, mirror)
    return _call_native(torch.ops.rankcore.local_degree_scores.default, rowptr, col, upper, mirror)


@torch.library.register_fake("rankcore::local_degree_scores")
def _local_degree_scores_fake(rowptr, col, upper, mirror):
    _check_devices("local_degree_scores", rowptr, col, upper, mirror)
    return upper.new_empty(upper.shape, dtype=torch.float64)


def guarded_removal(edges: torch.Tensor, num_nodes: int, order: torch.Tensor, num_remove: int, min_degree: int = 0,
                    keep_connected: bool = False) -> torch.Tensor:
    """Walk the removal ``order`` (edge ids, rows of ``edges`` [M, 2], u < v) under the guards (definitions §2):
    the ids of the edges removed, in order, at most ``num_remove`` (fewer when the guards forbid the rest).
    ``min_degree``: no vertex below min(min_degree, its degree); ``keep_connected``: no component split."""
    _check_devices("guarded_removal", edges, order)
    return _call_native(torch.ops.rankcore.guarded_removal.default, edges, num_nodes, order, num_remove, min_degree,
                        keep_connected)


@torch.library.register_fake("rankcore::guarded_removal")
def _guarded_removal_fake(edges, num_nodes, order, num_remove, min_degree, keep_connected):
    _check_devices("guarded_removal", edges, order)
    return order.new_empty(torch.library.get_ctx().new_dynamic_size())


def edge_common_neighbors(rowptr: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
    """``|N(u) ∩ N(v)|`` for every slot (u, v) of a symmetric, sorted, loop-free CSR: ``[nnz]`` int64."""
    _check_devices("edge_common_neighbors", rowptr, col)
    return torch.ops.rankcore.edge_common_neighbors.default(rowptr, col)


@torch.library.register_fake("rankcore::edge_common_neighbors")
def _edge_common_neighbors_fake(rowptr, col):
    _check_devices("edge_common_neighbors", rowptr, col)
    return col.new_empty(col.shape, dtype=torch.int64)


def closed_walk_counts(rowptr: torch.Tensor, col: torch.Tensor, length: int) -> torch.Tensor:
    """``(Â^length)_tt`` for every vertex of a symmetric, sorted, loop-free CSR: ``[n]`` int64 (exact)."""
    _check_devices("closed_walk_counts", rowptr, col)
    try:
        return torch.ops.rankcore.closed_walk_counts.default(rowptr, col, length)
    except RuntimeError as err:
        _raise_overflow_from(err)
        raise


@torch.library.register_fake("rankcore::closed_walk_counts")
def _closed_walk_counts_fake(rowptr, col, length):
    _check_devices("closed_walk_counts", rowptr, col)
    return rowptr.new_empty((rowptr.shape[0] - 1,), dtype=torch.int64)


# ---------------------------------------------------------------------------------------------------
# CP factorization (definitions §3)


def cp_eval(factors, indices: torch.Tensor) -> torch.Tensor:
    """Entries of the CP tensor ``W(i_1..i_N) = sum_r prod_n factors[n][i_n, r]`` at ``indices``.

    ``factors`` is a list of N tensors ``[d_n, R]`` (float32 or float64, one dtype and device),
    ``indices`` is ``[B, N]`` int64. Returns ``[B]``. Differentiable in every factor (the backward is
    the fused ``rankcore::cp_eval_backward`` op). Fused: the ``B x N x R`` gathered tensor is never
    formed. Bad arguments raise ``TypeError`` / ``ValueError``; an out-of-range index raises
    ``IndexError`` naming its position.
    """
    if isinstance(factors, torch.Tensor) or not isinstance(factors, (list, tuple)):
        raise TypeError(f"cp_eval: factors must be a list of tensors, got {type(factors).__name__}")
    if not all(isinstance(f, torch.Tensor) for f in factors):
        raise TypeError("cp_eval: every factor must be a torch.Tensor")
    if not isinstance(indices, torch.Tensor):
        raise TypeError(f"cp_eval: indices must be an int64 tensor, got {type(indices).__name__}")
    _check_devices("cp_eval", factors, indices)
    return torch.ops.rankcore.cp_eval.default(list(factors), indices)


@torch.library.register_fake("rankcore::cp_eval")
def _cp_eval_fake(factors, indices):
    _check_devices("cp_eval", factors, indices)
    torch._check(len(factors) >= 1)
    torch._check(indices.dim() == 2 and indices.shape[1] == len(factors))
    return factors[0].new_empty((indices.shape[0],))


@torch.library.register_fake("rankcore::cp_eval_backward")
def _cp_eval_backward_fake(grad, factors, indices):
    _check_devices("cp_eval_backward", grad, factors, indices)
    return [f.new_empty(f.shape) for f in factors]


def _cp_eval_setup_context(ctx, inputs, output):
    factors, indices = inputs
    ctx.save_for_backward(indices, *factors)


def _cp_eval_autograd_backward(ctx, grad):
    indices, *factors = ctx.saved_tensors
    grads = torch.ops.rankcore.cp_eval_backward.default(grad.contiguous(), factors, indices)
    return list(grads), None


torch.library.register_autograd("rankcore::cp_eval", _cp_eval_autograd_backward,
                                setup_context=_cp_eval_setup_context)


def _cp_eval_double_backward(ctx, grads):
    raise NotImplementedError("rankcore.cp_eval supports first derivatives only (no double backward)")


# Registered so that a double backward fails loudly instead of silently treating the first-order
# gradients as constants.
torch.library.register_autograd("rankcore::cp_eval_backward", _cp_eval_double_backward,
                                setup_context=lambda ctx, inputs, output: None)


# ---------------------------------------------------------------------------------------------------
# Hierarchical tensor factorization: product pooling (rankcore::ht_leaf_pool / ht_pool, definitions §3)


def _check_groups(op: str, modes, offsets) -> tuple[list[int], list[int]]:
    if isinstance(modes, torch.Tensor) or isinstance(offsets, torch.Tensor):
        raise TypeError(f"{op}: modes and offsets must be lists of ints, not tensors")
    try:
        return [int(m) for m in modes], [int(o) for o in offsets]
    except (TypeError, ValueError):
        raise TypeError(f"{op}: modes and offsets must be lists of ints") from None


def ht_leaf_pool(leaves, indices: torch.Tensor, modes, offsets) -> torch.Tensor:
    """Leaf gather + product pooling of an HT factorization, node-major ``[J, B, R]``.

    ``out[j, b] = prod_{k in [offsets[j], offsets[j+1])} leaves[modes[k]][indices[b, modes[k]]]``.
    ``leaves`` are N tensors ``[d_n, R]``; ``indices`` ``[B, N]`` int64; ``modes`` lists every leaf once
    (tree order, a node's leaves contiguous); ``offsets`` the J + 1 group boundaries. Differentiable in
    every leaf (fused ``ht_leaf_pool_backward``); the ``[N, B, R]`` gathered rows are never formed.
    """
    if isinstance(leaves, torch.Tensor) or not isinstance(leaves, (list, tuple)):
        raise TypeError(f"ht_leaf_pool: leaves must be a list of tensors, got {type(leaves).__name__}")
    if not all(isinstance(f, torch.Tensor) for f in leaves):
        raise TypeError("ht_leaf_pool: every leaf must be a torch.Tensor")
    if not isinstance(indices, torch.Tensor):
        raise TypeError(f"ht_leaf_pool: indices must be an int64 tensor, got {type(indices).__name__}")
    modes, offsets = _check_groups("ht_leaf_pool", modes, offsets)
    _check_devices("ht_leaf_pool", leaves, indices)
    return torch.ops.rankcore.ht_leaf_pool.default(list(leaves), indices, modes, offsets)


def ht_pool(a: torch.Tensor, offsets) -> torch.Tensor:
    """Product pooling between levels: ``a`` ``[K, B, R]`` -> ``[J, B, R]``, ``out[j] = prod_{k in group j} a[k]``.

    The children of node j are the contiguous rows ``offsets[j] .. offsets[j+1] - 1`` of ``a``.
    Differentiable (fused ``ht_pool_backward``: products of the other children, no division).
    """
    if not isinstance(a, torch.Tensor):
        raise TypeError(f"ht_pool: a must be a tensor, got {type(a).__name__}")
    _, offsets = _check_groups("ht_pool", [], offsets)
    return torch.ops.rankcore.ht_pool.default(a, offsets)


@torch.library.register_fake("rankcore::ht_leaf_pool")
def _ht_leaf_pool_fake(leaves, indices, modes, offsets):
    _check_devices("ht_leaf_pool", leaves, indices)
    torch._check(len(leaves) >= 1 and len(offsets) >= 2)
    torch._check(indices.dim() == 2 and indices.shape[1] == len(leaves))
    return leaves[0].new_empty((len(offsets) - 1, indices.shape[0], leaves[0].shape[1]))


@torch.library.register_fake("rankcore::ht_leaf_pool_backward")
def _ht_leaf_pool_backward_fake(grad, leaves, indices, modes, offsets):
    _check_devices("ht_leaf_pool_backward", grad, leaves, indices)
    return [f.new_empty(f.shape) for f in leaves]


@torch.library.register_fake("rankcore::ht_pool")
def _ht_pool_fake(a, offsets):
    torch._check(a.dim() == 3 and len(offsets) >= 2)
    return a.new_empty((len(offsets) - 1, a.shape[1], a.shape[2]))


@torch.library.register_fake("rankcore::ht_pool_backward")
def _ht_pool_backward_fake(grad, a, offsets):
    _check_devices("ht_pool_backward", grad, a)
    return a.new_empty(a.shape)


def _ht_leaf_pool_setup_context(ctx, inputs, output):
    leaves, indices, modes, offsets = inputs
    ctx.save_for_backward(indices, *leaves)
    ctx.groups = (list(modes), list(offsets))


def _ht_leaf_pool_autograd_backward(ctx, grad):
    indices, *leaves = ctx.saved_tensors
    grads = torch.ops.rankcore.ht_leaf_pool_backward.default(grad.contiguous(), leaves, indices, *ctx.groups)
    return list(grads), None, None, None


torch.library.register_autograd("rankcore::ht_leaf_pool", _ht_leaf_pool_autograd_backward,
                                setup_context=_ht_leaf_pool_setup_context)


def _ht_pool_setup_context(ctx, inputs, output):
    a, offsets = inputs
    ctx.save_for_backward(a)
    ctx.offsets = list(offsets)


def _ht_pool_autograd_backward(ctx, grad):
    (a,) = ctx.saved_tensors
    return torch.ops.rankcore.ht_pool_backward.default(grad.contiguous(), a, ctx.offsets), None


torch.library.register_autograd("rankcore::ht_pool", _ht_pool_autograd_backward, setup_context=_ht_pool_setup_context)


def _ht_double_backward(ctx, *grads):
    raise NotImplementedError("rankcore's HT pooling ops support first derivatives only (no double backward)")


for _name in ("ht_leaf_pool_backward", "ht_pool_backward"):
    torch.library.register_autograd(f"rankcore::{_name}", _ht_double_backward,
                                    setup_context=lambda ctx, inputs, output: None)


def _first_line_value_error(err: RuntimeError) -> None:
    """The native ops' ValueErrors carry a C++ context after the first line: re-raise the line alone."""
    if isinstance(err, ValueError):
        raise ValueError(str(err).strip().splitlines()[0]) from None


def _call_native(op, *args):
    """``op(*args)``, its ValueErrors re-raised as their first line (:func:`_first_line_value_error`)."""
    try:
        return op(*args)
    except RuntimeError as err:
        _first_line_value_error(err)
        raise


def build_csr(edge_index: torch.Tensor, num_nodes: int, symmetrize: bool = False,
              require_undirected: bool = False):
    """The normalised in-neighbour CSR of an int64 ``[2, m]`` CPU edge_index (definitions §2):
    ``(rowptr int64 [n + 1], col int32 [nnz], undirected bool, slot int64 [m])``, ``slot[c]`` the CSR
    position of column c's edge (-1 for a self-loop column). Raises ``ValueError`` naming the first
    column out of range, or (require_undirected without symmetrize) the first without its reverse."""
    _check_devices("build_csr", edge_index)
    rowptr, col, undirected, slot = _call_native(torch.ops.rankcore.build_csr.default, edge_index, num_nodes,
                                                 symmetrize, require_undirected)
    return rowptr, col, bool(undirected), slot


@torch.library.register_fake("rankcore::build_csr")
def _build_csr_fake(edge_index, num_nodes, symmetrize, require_undirected):
    _check_devices("build_csr", edge_index)
    torch._check(edge_index.dim() == 2 and edge_index.shape[0] == 2)
    nnz = torch.library.get_ctx().new_dynamic_size()
    return (edge_index.new_empty(num_nodes + 1), edge_index.new_empty(nnz, dtype=torch.int32),
            edge_index.new_empty((), dtype=torch.bool), edge_index.new_empty(edge_index.shape[1]))


def wis_removal_key(depth: int, deg: list[int], tri: list[int]) -> list[int]:
    """The WIS removal key D_e of the edge {u, v} at depth 2 or 3 (definitions §2) from ``deg = [deg(u), deg(v),
    deg(w_1), ...]`` and (depth 3) ``tri`` likewise over the common neighbours w_i: flat (tag, value, count)
    triples whose lexicographic order is the native greedy's key order (csrc/ops/wis_key.cpp). The
    distributed protocol builds its keys with it. ``ValueError`` on states no graph has."""
    return _call_native(torch.ops.rankcore.wis_removal_key.default, depth, deg, tri)


def wis_singleton_scores(deg: torch.Tensor, tri: torch.Tensor, depth: int) -> torch.Tensor:
    """s_t (definitions §2) elementwise from int64 degrees and (depth 3) triangle counts: deg + 1 at depth 2,
    2 tri + 3 deg + 1 at depth 3, 0 where deg = 0. CPU."""
    _check_devices("wis_singleton_scores", deg, tri)
    return _call_native(torch.ops.rankcore.wis_singleton_scores.default, deg, tri, depth)


@torch.library.register_fake("rankcore::wis_singleton_scores")
def _wis_singleton_scores_fake(deg, tri, depth):
    _check_devices("wis_singleton_scores", deg, tri)
    return torch.empty_like(deg)


def wis_round_commits(gathered: torch.Tensor, want: int) -> torch.Tensor:
    """One round of distributed 1-WIS (csrc/ops/wis_rounds.cpp): from every rank's ``[B + 1, 4]`` block of rows
    (u, v, deg u, deg v) stacked as ``[W, B + 1, 4]`` (B proposals best first, then the sentinel; rows of -1 where
    absent), the removals ``[c, 2]``, c <= want, that equal the next c steps of the sequential greedy. CPU."""
    _check_devices("wis_round_commits", gathered)
    return _call_native(torch.ops.rankcore.wis_round_commits.default, gathered, want)


@torch.library.register_fake("rankcore::wis_round_commits")
def _wis_round_commits_fake(gathered, want):
    _check_devices("wis_round_commits", gathered)
    torch._check(gathered.dim() == 3 and gathered.shape[2] == 4)
    return gathered.new_empty(torch.library.get_ctx().new_dynamic_size(), 2)


def wis_round_commits_l3(gathered: torch.Tensor, want: int) -> torch.Tensor:
    """One round of distributed 2-WIS (csrc/ops/wis_rounds_l3.cpp): from every rank's block of proposal records
    (``[P, S, records...]``, rows padded to one length ``[W, L]``), the round's speculative removals ``[c, 2]``,
    c <= want, before each rank's check of its unproposed edges. CPU."""
    _check_devices("wis_round_commits_l3", gathered)
    return _call_native(torch.ops.rankcore.wis_round_commits_l3.default, gathered, want)


@torch.library.register_fake("rankcore::wis_round_commits_l3")
def _wis_round_commits_l3_fake(gathered, want):
    _check_devices("wis_round_commits_l3", gathered)
    torch._check(gathered.dim() == 2)
    return gathered.new_empty(torch.library.get_ctx().new_dynamic_size(), 2)


def build_csr_rows(edge_index: torch.Tensor, num_nodes: int, first_row: int, num_rows: int):
    """:func:`build_csr`'s normalisation of the rows ``[first_row, first_row + num_rows)`` of a graph on
    ``num_nodes`` vertices (a distributed rank's share): ``(rowptr int64 [num_rows + 1], col int32 [nnz])``, self-loops
    dropped, duplicates merged, sources sorted within each row. Every target must lie in the range and every source
    in ``[0, num_nodes)``, else ``ValueError`` naming the first bad column. No symmetrize, no undirected flag (a rank
    holds one side of its edges)."""
    _check_devices("build_csr_rows", edge_index)
    return _call_native(torch.ops.rankcore.build_csr_rows.default, edge_index, num_nodes, first_row, num_rows)


@torch.library.register_fake("rankcore::build_csr_rows")
def _build_csr_rows_fake(edge_index, num_nodes, first_row, num_rows):
    _check_devices("build_csr_rows", edge_index)
    torch._check(edge_index.dim() == 2 and edge_index.shape[0] == 2)
    nnz = torch.library.get_ctx().new_dynamic_size()
    return edge_index.new_empty(num_rows + 1), edge_index.new_empty(nnz, dtype=torch.int32)


def undirected_edges(rowptr: torch.Tensor, col: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(edges [M, 2], upper [M], mirror [M])`` of the symmetric CSR of a simple undirected graph (CPU):
    every edge once as (u, v), u < v, sorted by (u, v), and the CSR slots of its entries (row u, col v) and
    (row v, col u). O(nnz), no sort; ``ValueError`` when the CSR is not symmetric and simple."""
    _check_devices("undirected_edges", rowptr, col)
    return _call_native(torch.ops.rankcore.undirected_edges.default, rowptr, col)


@torch.library.register_fake("rankcore::undirected_edges")
def _undirected_edges_fake(rowptr, col):
    m = torch.library.get_ctx().new_dynamic_size()
    return rowptr.new_empty(m, 2), rowptr.new_empty(m), rowptr.new_empty(m)


def removal_keep_mask(upper: torch.Tensor, mirror: torch.Tensor, ids: torch.Tensor, nnz: int,
                      slot: torch.Tensor | None = None) -> torch.Tensor:
    """Which entries stay after removing the edges ``ids`` (rows of :func:`undirected_edges`, whose ``upper`` /
    ``mirror`` slot arrays are passed): bool ``[nnz]``, False at both CSR slots of every removed edge; or, with
    ``slot`` (int64 ``[C]``, each input column's CSR slot, -1 for a self-loop column: :func:`build_csr`), bool
    ``[C]``, False at every column whose slot was removed. All int64 on the CPU; an out-of-range id or slot is
    an ``IndexError``. One fused native pass (a bitset of the removed slots)."""
    return _call_native(torch.ops.rankcore.removal_keep_mask.default, upper, mirror, ids, nnz, slot)


@torch.library.register_fake("rankcore::removal_keep_mask")
def _removal_keep_mask_fake(upper, mirror, ids, nnz, slot):
    return upper.new_empty(nnz if slot is None else slot.shape[0], dtype=torch.bool)


def read_edge_list(path: str, progress: torch.Tensor | None = None, begin: int = 0,
                   end: int | None = None, max_id: int | None = None) -> torch.Tensor:
    """Parse an edge-list text file into an int64 ``[2, m]`` tensor (native, parallel chunks): one edge
    "u v" per line, whitespace and/or commas, LF / CRLF / CR line ends, '#' comments anywhere, a UTF-8
    byte-order mark skipped, an optional header as the file's first data line (plain text with no
    number-like field, e.g. "src dst"). Every other malformed line raises ``ValueError("path:line: ...")``
    with the line cut and escaped; so do a non-regular file (FIFO, directory) and a file that changes
    while it is read. ``max_id``: every id must lie in ``[0, max_id]`` (the error names the line; None:
    any int64). ``progress`` (int64 CPU, 1 or 2 elements) receives the bytes parsed so far; element 1 set
    non-zero cancels.

    ``begin``/``end``: parse only the lines whose first byte lies in ``[begin, end)`` (None: the end of
    the file); the ranges of a split of ``[0, size)`` read every line exactly once, in file order, and
    error messages keep the file's line numbers (:func:`rankcore.distributed.io.read_edge_list_shard`)."""
    if progress is None:
        progress = torch.zeros(1, dtype=torch.int64)
    return _call_native(torch.ops.rankcore.read_edge_list.default, str(path), progress, int(begin),
                        -1 if end is None else int(end), -1 if max_id is None else int(max_id))


@torch.library.register_fake("rankcore::read_edge_list")
def _read_edge_list_fake(path, progress, begin=0, end=-1, max_id=-1):
    m = torch.library.get_ctx().new_dynamic_size()
    return progress.new_empty(2, m)
