"""torch_geometric transforms for every rankcore sparsifier.

    from torch_geometric.transforms import Compose
    from rankcore.pyg import WalkIndexSparsification
    dataset.transform = Compose([WalkIndexSparsification(ratio=0.5, depth=2), ...])

Each transform removes a fraction ``ratio`` (or ``num_remove``) of the undirected edges of ``data``
with :func:`rankcore.sparsify` and returns a new ``Data``: ``edge_index`` keeps its column order, and
every per-edge attribute (``edge_attr``, ``edge_weight``, any key ``data.is_edge_attr`` recognises)
keeps exactly the columns that stayed. The input ``Data`` is never modified. A directed ``edge_index``
raises ``ValueError`` unless the transform was built with ``symmetrize=True`` (then an undirected
edge {u, v} is removed by dropping whichever of its directions are present).

Which values are per-edge (:func:`edge_keys`): PyG's ``is_edge_attr``, with three exceptions that keep
supervision and node data whole. Another edge set's index (any ``*_index`` key but ``edge_index``, e.g.
``RandomLinkSplit``'s ``edge_label_index``) and the values paired with it (``edge_label`` when
``edge_label_index`` exists) are never cut: they are targets, not message-passing edges. When the number of
vertices equals the number of edge columns, a value's size cannot tell, so only keys with ``edge`` in their
name are per-edge (PyG's rule for tensors, applied to lists as well); a value of that size named otherwise
stays whole, with a warning. A ``Batch`` is sparsified graph by graph (``ratio`` is per graph) and rebatched.
"""

from __future__ import annotations

import copy
import warnings

import torch

try:
    from torch_geometric.data import Batch
    from torch_geometric.transforms import BaseTransform
except ImportError as err:  # keep the core importable; say what to install
    raise ImportError("rankcore.pyg needs torch_geometric (pip install torch_geometric)") from err

from .graph.arguments import check_int, removal_count
from .graph.guards import check_guards
from .graph.sparsify import check_method, sparsify

__all__ = ["DegreeSparsification", "EdgeSparsification", "KNeighborSparsification", "LocalDegreeSparsification",
           "RandomEdgeSparsification", "SpectralSparsification", "WalkIndexSparsification", "apply_keep_mask",
           "edge_keys"]


def _leading_size(data, key, value):
    if isinstance(value, (list, tuple)):
        return len(value)
    if isinstance(value, torch.Tensor) and value.dim() > 0:
        return value.shape[data.__cat_dim__(key, value)]
    return None


def _conventional_node_key(key: str) -> bool:
    """Names PyG data sets give per-vertex values: no warning for them when the sizes tie."""
    return key in {"x", "y", "pos", "batch", "norm", "z"} or key.endswith("_mask") or "node" in key


def edge_keys(data) -> list[str]:
    """The keys of ``data`` whose values are cut with the edge columns (module docstring): ``edge_index`` and
    PyG's ``is_edge_attr`` keys, less other edge sets' indices and their paired values, and, when the number of
    vertices equals the number of edge columns, less the keys without ``edge`` in their name."""
    if not hasattr(data, "is_edge_attr") or getattr(data, "edge_index", None) is None:
        raise TypeError(f"edge_keys needs a torch_geometric Data with an edge_index, got {type(data).__name__}")
    keys = set(data.keys())
    num_nodes, num_edges = data.num_nodes, data.num_edges
    out = []
    for key in data.keys():
        if key == "edge_index":
            out.append(key)
            continue
        if key.endswith("_index") or f"{key}_index" in keys:  # another edge set (link-prediction targets)
            continue
        value = data[key]
        if num_nodes == num_edges and "edge" not in key:
            if _leading_size(data, key, value) == num_edges and not _conventional_node_key(key):
                warnings.warn(f"{key!r} has {num_edges} entries, as many as there are vertices and edge columns: "
                              f"kept whole as a per-vertex value; name a per-edge value edge_* to have it cut with "
                              f"the edges", UserWarning, stacklevel=3)
            continue
        if data.is_edge_attr(key):
            out.append(key)
    return out


def apply_keep_mask(data, keep_mask: torch.Tensor):
    """A shallow copy of ``data`` with the edge columns where ``keep_mask`` is False removed.

    Per-edge values (:func:`edge_keys`) are indexed along their concatenation dimension (``data.__cat_dim__``),
    so ``edge_index`` ([2, m]) and ``edge_attr`` ([m, F]) are both cut correctly; node-level and graph-level
    values, and link-prediction targets, are shared with the input untouched.
    """
    if isinstance(data, Batch):  # its slice tables would describe the old edges: cut graph by graph instead
        raise TypeError("apply_keep_mask takes one graph, not a Batch (its per-graph slices would go stale); "
                        "sparsify before batching, or apply a rankcore.pyg transform, which rebatches")
    num_edges = data.num_edges
    if keep_mask.dtype != torch.bool or keep_mask.shape != (num_edges,):
        raise ValueError(f"keep_mask must be bool [{num_edges}], got {keep_mask.dtype} {list(keep_mask.shape)}")
    out = copy.copy(data)
    keep_idx = keep_mask.nonzero().flatten()
    keys = edge_keys(data)
    for key in keys:
        value = data[key]
        if isinstance(value, torch.Tensor):
            dim = data.__cat_dim__(key, value)
            out[key] = value.index_select(dim, keep_idx.to(value.device))
        elif isinstance(value, (list, tuple)):
            out[key] = type(value)(v for v, k in zip(value, keep_mask.tolist()) if k)
        else:  # numpy arrays and other indexables
            out[key] = value[keep_mask.cpu().numpy()]
    if "edge_index" not in keys:  # an edgeless Data: nothing is edge-level, keep edge_index consistent
        out.edge_index = data.edge_index[:, keep_idx]
    return out


def _guards(min_degree, keep_connected) -> dict:
    """The guard arguments for sparsify, checked now (a bad value fails at construction, not on the first
    graph); only those that are set, so that the repr shows what was asked for."""
    min_degree, keep_connected = check_guards(min_degree, keep_connected)
    return {**({"min_degree": min_degree} if min_degree else {}),
            **({"keep_connected": True} if keep_connected else {})}


def _check_amount(ratio, num_remove) -> None:
    # the values too (removal_count with as many edges as any graph can have): a bad ratio failed on the first graph
    removal_count(2**62, ratio, num_remove)


class EdgeSparsification(BaseTransform):
    """Removes edges of every ``Data`` with ``rankcore.sparsify(method=...)``; the base of the others.

    Args:
        method: ``"wis"``, ``"random"``, ``"spectral"``, ``"local_degree"``, ``"k_neighbor"`` or ``"degree"``.
        ratio: fraction of the undirected edges to remove (per graph).
        num_remove: number of undirected edges to remove (per graph); exactly one of the two.
        seed: for the random methods; None draws a fresh seed from torch's global generator on every
            call (so ``torch.manual_seed`` makes a run reproducible), an int fixes it.
        symmetrize: accept directed input (see module docstring).
        min_degree, keep_connected: the guards of :func:`rankcore.sparsify` (every transform takes them).
        **kw: forwarded to :func:`rankcore.sparsify` (e.g. ``depth``, ``sketch_dim``).
    """

    def __init__(self, method: str, ratio=None, num_remove=None, *, seed=None, symmetrize=False, min_degree=0,
                 keep_connected=False, **kw):
        _check_amount(ratio, num_remove)
        # the method and its options, and depth, checked here: a bad one failed only on the first graph
        check_method(method, {k: v for k, v in kw.items() if k != "depth"})
        if "depth" in kw:
            kw["depth"] = check_int("depth", kw["depth"], 2)
        self.method, self.ratio, self.num_remove = method, ratio, num_remove
        self.seed, self.symmetrize, self.kw = seed, symmetrize, {**kw, **_guards(min_degree, keep_connected)}

    def forward(self, data):
        if isinstance(data, Batch):  # per graph, as the docstring's "ratio per graph" says; then rebatched
            return Batch.from_data_list([self.forward(graph) for graph in data.to_data_list()])
        if getattr(data, "edge_index", None) is None:
            raise ValueError(f"{type(self).__name__} needs a Data with an edge_index")
        seed = self.seed if self.seed is not None else int(torch.randint(0, 2**31 - 1, ()))
        result = sparsify(data.edge_index, data.num_nodes, self.method, ratio=self.ratio,
                          num_remove=self.num_remove, seed=seed, symmetrize=self.symmetrize, **self.kw)
        return apply_keep_mask(data, result.keep_mask)

    def __repr__(self) -> str:
        amount = (f"ratio={self.ratio}" if self.ratio is not None else
                  f"num_remove={self.num_remove}" if self.num_remove is not None else None)
        # the seed of a seeded method (None: a fresh one per call); the deterministic ones fix it at 0
        seeded = self.method in ("random", "spectral", "k_neighbor")
        parts = ([amount] if amount is not None else []) + [f"{k}={v!r}" for k, v in self.kw.items()] \
            + ([f"seed={self.seed!r}"] if seeded else [])  # k_neighbor's per-vertex budget k is in kw
        return f"{type(self).__name__}({', '.join(parts)})"


class WalkIndexSparsification(EdgeSparsification):
    """(depth-1)-Walk Index Sparsification (exact greedy; ``depth`` = GNN depth L, 2 = 1-WIS)."""

    def __init__(self, ratio=None, num_remove=None, depth: int = 2, *, symmetrize=False, **kw):
        super().__init__("wis", ratio, num_remove, seed=0, symmetrize=symmetrize, depth=depth, **kw)


class RandomEdgeSparsification(EdgeSparsification):
    """Removes uniformly random undirected edges (both directions of each)."""

    def __init__(self, ratio=None, num_remove=None, *, seed=None, symmetrize=False, min_degree=0,
                 keep_connected=False):
        super().__init__("random", ratio, num_remove, seed=seed, symmetrize=symmetrize, min_degree=min_degree,
                         keep_connected=keep_connected)


class SpectralSparsification(EdgeSparsification):
    """Spielman–Srivastava effective-resistance sampling (JL-sketched resistances, sparse solves)."""

    def __init__(self, ratio=None, num_remove=None, *, seed=None, symmetrize=False, **kw):
        super().__init__("spectral", ratio, num_remove, seed=seed, symmetrize=symmetrize, **kw)


class LocalDegreeSparsification(EdgeSparsification):
    """NetworKit's Local Degree rule: edges to each vertex's highest-degree neighbours are kept longest."""

    def __init__(self, ratio=None, num_remove=None, *, symmetrize=False, min_degree=0, keep_connected=False):
        super().__init__("local_degree", ratio, num_remove, seed=0, symmetrize=symmetrize, min_degree=min_degree,
                         keep_connected=keep_connected)


class KNeighborSparsification(EdgeSparsification):
    """The K-neighbour sparsifier: each vertex keeps k of its edges (``score="random"``: a uniform random
    k-subset; ``"degree"``: its k highest-degree neighbours), an edge stays when either endpoint keeps it.

    Pass exactly one of ``ratio``, ``num_remove`` (a cut of the one removal order every k shares) and ``k``.
    """

    def __init__(self, ratio=None, num_remove=None, *, k=None, score: str = "random", seed=None, symmetrize=False,
                 min_degree=0, keep_connected=False):
        if k is None:
            super().__init__("k_neighbor", ratio, num_remove, seed=seed, symmetrize=symmetrize, score=score,
                             min_degree=min_degree, keep_connected=keep_connected)
            return
        if ratio is not None or num_remove is not None:
            raise ValueError("pass exactly one of ratio, num_remove and k (each vertex's edge budget)")
        # k replaces the amount (sparsify(k=...) takes neither ratio nor num_remove), so no _check_amount
        self.method, self.ratio, self.num_remove = "k_neighbor", None, None
        self.seed, self.symmetrize = seed, symmetrize
        # a bad k fails here, not on the first graph
        self.kw = {"k": check_int("k", k, 1), "score": score, **_guards(min_degree, keep_connected)}


class DegreeSparsification(EdgeSparsification):
    """The one-shot degree score 1/d_u + 1/d_v: edges between high-degree vertices are removed first."""

    def __init__(self, ratio=None, num_remove=None, *, symmetrize=False, min_degree=0, keep_connected=False):
        super().__init__("degree", ratio, num_remove, seed=0, symmetrize=symmetrize, min_degree=min_degree,
                         keep_connected=keep_connected)
