"""The one graph container: validates any accepted graph input once and keeps it as a CSR.

Accepted inputs: a PyG-style ``edge_index`` (``[2, m]`` integer tensor or array, row 0 = source,
row 1 = target) with ``num_nodes``; a ``torch_geometric.data.Data``; a scipy sparse matrix or array
(non-zero pattern, row -> column); a networkx graph (vertex ids: its labels when they are the ints
0..n-1, else the position in ``G.nodes``); or a
:class:`Graph` (returned as is). Normalisation follows definitions §2: input self-loops are dropped,
duplicate edges merged, and the self-loops of Â = A + I stay implicit (never stored).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .arguments import MAX_NODES, check_allocation, check_num_nodes

__all__ = ["Graph", "GraphInput", "MAX_NODES", "input_columns"]

# What every graph function accepts (module docstring): an edge_index tensor / array / nested list, a
# torch_geometric Data, a scipy sparse matrix, a networkx graph, or a built Graph. (Any: the optional
# libraries' types are not imported for the annotation.)
GraphInput = Any


def _all_empty(rows) -> bool:
    """True for a list / tuple of empty lists / tuples (an edgeless edge_index such as [[], []])."""
    return all(isinstance(r, (list, tuple)) and len(r) == 0 for r in rows)


def _as_edge_index(edge_index) -> torch.Tensor:
    if isinstance(edge_index, np.ndarray):
        edge_index = torch.from_numpy(np.ascontiguousarray(edge_index))
    elif isinstance(edge_index, (list, tuple)):
        try:  # int64 unless the values say otherwise: [[], []] would be float32
            edge_index = torch.as_tensor(edge_index, dtype=torch.int64 if _all_empty(edge_index) else None)
        except (TypeError, ValueError, RuntimeError, OverflowError) as err:
            raise TypeError(f"edge_index given as a list must be two equal-length lists of ints: {err}") from None
    if not isinstance(edge_index, torch.Tensor):
        raise TypeError(
            "expected edge_index as a [2, m] integer tensor, a torch_geometric Data, a scipy sparse "
            f"matrix, a networkx graph or a rankcore.Graph; got {type(edge_index).__name__}"
        )
    if edge_index.dtype == torch.bool or edge_index.is_floating_point() or edge_index.is_complex():
        raise TypeError(f"edge_index must have an integer dtype (int64), got {edge_index.dtype}")
    if edge_index.layout != torch.strided:
        raise TypeError(f"edge_index must be a dense (strided) tensor, got layout {edge_index.layout}")
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must have shape [2, m], got {list(edge_index.shape)}")
    if edge_index.device.type == "meta":
        raise ValueError("edge_index is a meta tensor (shape only, no values): a graph needs real vertex ids")
    if edge_index.dtype != torch.int64:
        edge_index = edge_index.to(torch.int64)
    return edge_index


def input_columns(graph_input) -> torch.Tensor | None:
    """The caller's own edge columns as an int64 ``[2, m]`` tensor: an edge_index tensor, numpy array
    or list, or a PyG ``Data``'s edge_index. None for formats without columns of their own (scipy,
    networkx, :class:`Graph`): results for those are aligned with ``Graph.edge_index()``.

    Results that are "per input column" (``keep_mask``, per-edge counts) are always built against
    this, never against the normalised CSR order."""
    if isinstance(graph_input, Graph):
        return None
    if _is_pyg_data(graph_input):
        graph_input = graph_input.edge_index
    if isinstance(graph_input, (torch.Tensor, np.ndarray, list, tuple)):
        return _as_edge_index(graph_input)
    return None


def _from_scipy(mat) -> tuple[torch.Tensor, int]:
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1]:
        raise ValueError(f"a scipy adjacency matrix must be square, got shape {mat.shape}")
    coo = mat.tocoo(copy=True)
    coo.sum_duplicates()  # duplicates that cancel (1 and -1) are no edge, as in the CSR of the same matrix
    nz = coo.data != 0  # explicit zeros are not edges
    ei = np.stack([coo.row[nz], coo.col[nz]]).astype(np.int64)
    return torch.from_numpy(ei), int(mat.shape[0])


def _networkx_ids(g) -> dict:
    """Vertex ids of a networkx graph: its labels when they are exactly the ints 0..n-1 (in any insertion order:
    a graph built edge by edge lists 2 before 0, and its results must still read in its own labels), else the
    position in ``G.nodes``."""
    nodes = list(g.nodes)
    n = len(nodes)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v < n for v in nodes):
        return {v: int(v) for v in nodes}  # n distinct ints in [0, n): exactly 0..n-1
    return {v: i for i, v in enumerate(nodes)}


def _from_networkx(g) -> tuple[torch.Tensor, int]:
    index = _networkx_ids(g)
    pairs = [(index[u], index[v]) for u, v in g.edges()]
    ei = torch.tensor(pairs, dtype=torch.int64).reshape(-1, 2).t()
    if not g.is_directed():
        ei = torch.cat([ei, ei.flip(0)], dim=1)
    return ei, len(index)


def _is_pyg_data(obj) -> bool:
    return hasattr(obj, "edge_index") and hasattr(obj, "num_nodes") and not isinstance(obj, torch.Tensor)


@dataclass(frozen=True, eq=False)
class Graph:
    """A validated simple graph with its in-neighbour CSR.

    Attributes:
        num_nodes: number of vertices n.
        rowptr: int64 ``[n + 1]``; row j of the CSR lists the sources i of the edges i -> j.
        col: int32 ``[nnz]`` sources, sorted within each row; no self-loops, no duplicates.
        undirected: True when every edge is present in both directions (then the CSR is symmetric).
        slot: optional int64 ``[m]``: for each column of the edge_index the graph was built from, the
            CSR position of its edge (-1 for a self-loop column); None when not known.
        source: optional ``(data_ptr, shape, stride, dtype, device, version)`` of that edge_index, so results
            can tell whether they are asked for exactly the columns the slot map describes (only while the
            caller's edge_index, or the numpy array it shares memory with, is alive: once it is freed, a new
            tensor at the same address has the same fingerprint).

    Build one with :meth:`Graph.from_input` and pass it to any graph function in place of
    ``edge_index`` to skip re-validation.
    """

    num_nodes: int
    rowptr: torch.Tensor
    col: torch.Tensor
    undirected: bool
    slot: torch.Tensor | None = field(default=None, repr=False)
    source: tuple | None = field(default=None, repr=False)
    # derived values, never constructor arguments (dataclasses.replace must not carry them to other tensors)
    _undirected: tuple | None = field(default=None, init=False, repr=False)
    _source_owner: Any = field(default=None, init=False, repr=False)  # weakref to what keeps `source` alive

    def __getstate__(self) -> dict:
        # a weak reference does not pickle (torch.save, worker processes); unpickled, the slot map is offered to
        # nothing: the tensor it describes lives in another process, or is gone
        return {**self.__dict__, "_source_owner": None}

    def slot_for(self, columns: torch.Tensor) -> torch.Tensor | None:
        """The slot map when ``columns`` are exactly the edge_index this graph was built from, else None
        (also once that edge_index was freed: its address may hold another tensor by now)."""
        if self.slot is None or self.source is None or not isinstance(columns, torch.Tensor):
            return None
        if self._source_owner is None or self._source_owner() is None:
            return None
        return self.slot if _fingerprint(columns) == self.source else None

    @property
    def num_edges(self) -> int:
        """Directed edges stored (an undirected edge counts twice)."""
        return int(self.col.numel())

    @property
    def device(self) -> torch.device:
        return self.rowptr.device

    def edge_index(self) -> torch.Tensor:
        """The normalised edges as a ``[2, nnz]`` int64 tensor (sorted by target, then source)."""
        target = torch.repeat_interleave(
            torch.arange(self.num_nodes, device=self.device), self.rowptr.diff()
        )
        return torch.stack([self.col.to(torch.int64), target])

    def slots_of(self, sources: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The CSR position of each edge ``sources[i] -> targets[i]``, by binary search: the slots' keys
        target * n + source are ascending (rows by target, sources sorted within a row). Entries whose edge
        is not in the graph (self-loops) get some position in range; callers mask them."""
        n = max(self.num_nodes, 1)
        ei = self.edge_index()
        slot_keys = ei[1] * n + ei[0]
        pos = torch.searchsorted(slot_keys, targets.to(slot_keys.device) * n + sources.to(slot_keys.device))
        return pos.clamp_max(max(slot_keys.numel() - 1, 0))

    def undirected_edges(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(edges [M, 2], upper [M], mirror [M])`` of an undirected graph on the CPU (computed once):
        every edge once as (u, v), u < v, in (u, v) order, and the CSR slots of (row u, col v) and
        (row v, col u) (:func:`rankcore.ops.undirected_edges`)."""
        if self._undirected is None:
            from .. import ops

            object.__setattr__(self, "_undirected", ops.undirected_edges(self.rowptr.cpu(), self.col.cpu()))
        return self._undirected

    def degree(self) -> torch.Tensor:
        """In-degree of every vertex (the degree, for an undirected graph), int64 ``[n]``: a new tensor on every
        call (a cached one was shared: a caller's in-place change to it changed the graph's later results)."""
        return self.rowptr.diff()

    def to(self, device) -> "Graph":
        if torch.device(device) == self.device:
            return self
        return Graph(self.num_nodes, self.rowptr.to(device), self.col.to(device), self.undirected)

    @staticmethod
    def from_input(
        graph,
        num_nodes=None,
        *,
        require_undirected: bool = False,
        symmetrize: bool = False,
    ) -> "Graph":
        """Validate and normalise ``graph`` (see module docstring for the accepted formats).

        Args:
            graph: edge_index / Data / scipy sparse / networkx / Graph.
            num_nodes: vertex count; inferred (max index + 1) when None and not given by ``graph``.
            require_undirected: raise ``ValueError`` naming the first edge whose reverse is missing.
            symmetrize: add every missing reverse edge instead of raising.
        """
        if isinstance(graph, Graph):
            if num_nodes is not None and check_num_nodes(num_nodes) != graph.num_nodes:
                raise ValueError(f"num_nodes={num_nodes} but the Graph has {graph.num_nodes} vertices")
            if not graph.undirected and (symmetrize or require_undirected):
                if not symmetrize:
                    raise ValueError("this operation needs an undirected graph; pass symmetrize=True")
                # symmetrize=True asks for the reverse edges whether or not the op needs them (count_walks)
                return Graph.from_input(graph.edge_index(), graph.num_nodes, symmetrize=True)
            return graph

        if _is_pyg_data(graph):
            edge_index = graph.edge_index
            if num_nodes is None:
                num_nodes = graph.num_nodes
        elif hasattr(graph, "tocoo") and hasattr(graph, "shape"):
            edge_index, n = _from_scipy(graph)
            num_nodes = n if num_nodes is None else num_nodes
        elif hasattr(graph, "is_directed") and hasattr(graph, "nodes") and hasattr(graph, "edges"):
            edge_index, n = _from_networkx(graph)
            num_nodes = n if num_nodes is None else num_nodes
        else:
            edge_index = graph

        given = edge_index
        edge_index = _as_edge_index(edge_index)
        if num_nodes is None:
            # at least 0: ids that are all negative must fail the range check naming the column, not as a
            # "num_nodes must be >= 0" the caller never passed
            num_nodes = max(int(edge_index.max()) + 1, 0) if edge_index.numel() else 0
        n = check_num_nodes(num_nodes)
        # rowptr, the degree count and the key sort: ~40 bytes per vertex and per column.
        check_allocation(40 * (n + edge_index.shape[1]) if edge_index.device.type == "cpu" else 0,
                         f"a graph of {n} vertices and {edge_index.shape[1]} edge columns",
                         "vertex ids are used as array positions: relabel them densely 0..n-1 first "
                         "(ids, edge_index = numpy.unique(edge_index, return_inverse=True); the rankcore "
                         "command: --relabel)")
        if edge_index.device.type == "cpu" and edge_index.shape[1] < 2**32 - 1:
            # Built afresh on every call: a cache keyed by the tensor's identity and version counter
            # answered for an old graph after writes the counter does not see (numpy views, .data, DLPack).
            return _build_native(edge_index, n, require_undirected=require_undirected, symmetrize=symmetrize,
                                 owner=_memory_owner(given, edge_index))
        return _build(edge_index, n, require_undirected=require_undirected, symmetrize=symmetrize)


def _fingerprint(t: torch.Tensor) -> tuple:
    """Identifies the memory a slot map was built from, so a result built in the same call can tell that it
    is asked about exactly those columns (not a cache key: it cannot see writes through other aliases).
    Inference-mode tensors have no version counter."""
    version = None if t.is_inference() else t._version
    return (t.data_ptr(), tuple(t.shape), t.stride(), t.dtype, t.device, version)


def _memory_owner(given, edge_index: torch.Tensor):
    """What keeps the memory of ``edge_index`` (``given`` converted) alive: the caller's own tensor, or the numpy
    array it shares memory with; else ``edge_index``, a conversion (a copy) that dies with the call."""
    if isinstance(given, torch.Tensor) and given is edge_index:
        return given
    if isinstance(given, np.ndarray) and given.size and given.__array_interface__["data"][0] == edge_index.data_ptr():
        return given
    return edge_index


def _build_native(edge_index: torch.Tensor, n: int, *, require_undirected: bool, symmetrize: bool,
                  owner=None) -> Graph:
    """The native build (rankcore::build_csr); same result and messages as :func:`_build`, plus the
    input-column -> CSR-slot map. ``owner``: what keeps the memory of ``edge_index`` alive (see
    :func:`_memory_owner`); the slot map is offered only while it lives (``Graph.slot_for``)."""
    from .. import ops

    rowptr, col, undirected, slot = ops.build_csr(edge_index.contiguous(), n, symmetrize,
                                                  require_undirected and not symmetrize)
    graph = Graph(num_nodes=n, rowptr=rowptr, col=col, undirected=undirected, slot=slot,
                  source=_fingerprint(edge_index))
    object.__setattr__(graph, "_source_owner", weakref.ref(edge_index if owner is None else owner))
    return graph


def _build(edge_index: torch.Tensor, n: int, *, require_undirected: bool, symmetrize: bool) -> Graph:
    device = edge_index.device
    src, dst = edge_index[0], edge_index[1]
    if edge_index.numel():
        bad = (src < 0) | (src >= n) | (dst < 0) | (dst >= n)
        if bool(bad.any()):
            c = int(bad.nonzero()[0, 0])
            u, v = int(src[c]), int(dst[c])
            raise ValueError(
                f"edge_index column {c} ({u} -> {v}) has a vertex index outside [0, {n}) "
                f"(num_nodes={n})"
            )
    not_loop = src != dst
    src, dst = src[not_loop], dst[not_loop]
    if symmetrize:
        src, dst = torch.cat([src, dst]), torch.cat([dst, src])
    # key = dst * n + src < 2^62: sorting the unique keys sorts by target, then source (CSR order).
    keys = torch.unique(dst * n + src, sorted=True)
    undirected = True
    if keys.numel():
        reverse_present = torch.isin(src * n + dst, keys)
        undirected = bool(reverse_present.all())
        if require_undirected and not undirected:
            i = int((~reverse_present).nonzero()[0, 0])
            column = int(not_loop.nonzero()[i, 0])
            u, v = int(src[i]), int(dst[i])
            raise ValueError(
                f"the graph must be undirected, but edge_index column {column} ({u} -> {v}) has no "
                f"reverse edge ({v} -> {u}); pass symmetrize=True to add the missing directions"
            )
    col = (keys % n).to(torch.int32) if n else keys.to(torch.int32)
    target = keys // n if n else keys
    rowptr = torch.zeros(n + 1, dtype=torch.int64, device=device)
    if n:
        rowptr[1:] = torch.bincount(target, minlength=n).cumsum(0)
    return Graph(num_nodes=n, rowptr=rowptr, col=col, undirected=undirected)
