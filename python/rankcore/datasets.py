"""Built-in graphs that need no download, and `load` for every dataset the experiments use.

``karate_club()`` is Zachary's karate club (34 members, 78 friendships; W. W. Zachary, 1977), the
graph the quick start runs on. Its ``club`` mask marks the members who stayed with Mr. Hi (vertex 0)
after the split, the classic two-community partition.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

_KARATE_EDGES = [
    (0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (0, 6), (0, 7), (0, 8), (0, 10), (0, 11), (0, 12),
    (0, 13), (0, 17), (0, 19), (0, 21), (0, 31), (1, 2), (1, 3), (1, 7), (1, 13), (1, 17), (1, 19),
    (1, 21), (1, 30), (2, 3), (2, 7), (2, 8), (2, 9), (2, 13), (2, 27), (2, 28), (2, 32), (3, 7),
    (3, 12), (3, 13), (4, 6), (4, 10), (5, 6), (5, 10), (5, 16), (6, 16), (8, 30), (8, 32), (8, 33),
    (9, 33), (13, 33), (14, 32), (14, 33), (15, 32), (15, 33), (18, 32), (18, 33), (19, 33),
    (20, 32), (20, 33), (22, 32), (22, 33), (23, 25), (23, 27), (23, 29), (23, 32), (23, 33),
    (24, 25), (24, 27), (24, 31), (25, 31), (26, 29), (26, 33), (27, 33), (28, 31), (28, 33),
    (29, 32), (29, 33), (30, 32), (30, 33), (31, 32), (31, 33), (32, 33),
]
_KARATE_MR_HI = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 16, 17, 19, 21]


@dataclass(frozen=True)
class BuiltinGraph:
    name: str
    edge_index: torch.Tensor  # [2, m] int64, both directions of every undirected edge
    num_nodes: int
    communities: torch.Tensor  # bool [n]: a natural partition of the vertices


def karate_club() -> BuiltinGraph:
    """Zachary's karate club: 34 vertices, 78 undirected edges (156 edge_index columns)."""
    one_way = torch.tensor(_KARATE_EDGES, dtype=torch.int64).t()
    edge_index = torch.cat([one_way, one_way.flip(0)], dim=1)
    club = torch.zeros(34, dtype=torch.bool)
    club[_KARATE_MR_HI] = True
    return BuiltinGraph("karate", edge_index, 34, club)


BUILTIN = {"karate": karate_club}


def power_law_graph(num_nodes: int, num_edges: int, exponent: float = 2.5, seed: int = 0) -> torch.Tensor:
    """A seeded Chung–Lu random graph with a power-law degree sequence, for tests and benchmarks.

    Samples ``num_edges`` undirected edges whose endpoints are drawn with probability proportional to
    w_i = (i + 1)^(-1 / (exponent - 1)) (so degrees follow a power law with that exponent), then
    relabels the vertices with a random permutation so hubs are not clustered at low ids. Returns a
    ``[2, 2 * num_edges]`` int64 edge_index holding both directions; a few self-loops and duplicate
    edges occur, as in real edge lists (rankcore drops / merges them).
    """
    if num_nodes < 1 or num_edges < 0:
        raise ValueError(f"need num_nodes >= 1 and num_edges >= 0, got {num_nodes}, {num_edges}")
    if exponent <= 2:
        raise ValueError(f"exponent must be > 2, got {exponent}")
    gen = torch.Generator().manual_seed(seed)
    weights = torch.arange(1, num_nodes + 1, dtype=torch.float64).pow(-1.0 / (exponent - 1.0))
    cdf = weights.cumsum(0)
    cdf /= cdf[-1].clone()
    # Inverse-CDF sampling (torch.multinomial caps the number of categories at 2^24).
    ends = torch.searchsorted(cdf, torch.rand(2 * num_edges, generator=gen, dtype=torch.float64))
    ends = ends.clamp_(max=num_nodes - 1)
    relabel = torch.randperm(num_nodes, generator=gen)
    src, dst = relabel[ends[:num_edges]], relabel[ends[num_edges:]]
    return torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])


def sbm_graph(block_sizes=(100, 100, 100), p_in: float = 0.1, p_out: float = 0.01, num_features: int = 16,
              feature_noise: float = 1.0, seed: int = 0) -> dict:
    """A seeded stochastic block model with class-informative features.

    Vertices of block b are labelled b; an edge joins two vertices with probability ``p_in`` inside a
    block and ``p_out`` across blocks. Features are the block's random centre (unit Gaussian, fixed per
    block) plus N(0, feature_noise²) noise, so a GNN gains from averaging over same-block neighbours.
    Returns a dict with ``edge_index`` ([2, 2E], both directions), ``x`` [n, F] float32, ``y`` [n] int64.
    """
    sizes = [int(s) for s in block_sizes]
    if not sizes or any(s < 1 for s in sizes):
        raise ValueError(f"block_sizes must be positive, got {block_sizes}")
    for name, p in (("p_in", p_in), ("p_out", p_out)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    gen = torch.Generator().manual_seed(seed)
    y = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    n = int(y.numel())
    iu = torch.triu_indices(n, n, offset=1)
    prob = torch.where(y[iu[0]] == y[iu[1]], p_in, p_out)
    chosen = torch.rand(prob.numel(), generator=gen, dtype=torch.float64) < prob
    u, v = iu[0][chosen], iu[1][chosen]
    centres = torch.randn(len(sizes), num_features, generator=gen)
    x = centres[y] + feature_noise * torch.randn(n, num_features, generator=gen)
    return {"edge_index": torch.stack([torch.cat([u, v]), torch.cat([v, u])]), "x": x, "y": y, "num_nodes": n}


PLANETOID = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
SYNTHETIC = ("karate", "power-law", "sbm")
NAMES = tuple(PLANETOID) + SYNTHETIC


def canonical_name(name: str) -> str:
    key = name.lower().replace("_", "-")
    return {"karateclub": "karate", "karate-club": "karate", "powerlaw": "power-law"}.get(key, key)


def _planetoid_root(name: str, root) -> str:
    """A Planetoid root for ``name``: ``root`` itself when it holds processed files or nothing (download),
    else a cached copy of its raw files.

    A raw folder (such as the shared, read-only datasets) is copied to ``$RANKCORE_CACHE`` (default
    ``~/.cache/rankcore``) keyed by its absolute path, so processing happens once per source.
    """
    import hashlib
    import os
    import shutil
    from pathlib import Path

    root = Path(root).expanduser()
    raw = root / name / "raw"
    if (root / name / "processed").exists():
        return str(root)
    if not raw.exists():
        return str(root)  # no raw files: Planetoid downloads them into root
    # Raw files only: process a cached copy, never write into the source folder (shared, maybe read-only).
    cache = Path(os.environ.get("RANKCORE_CACHE", Path.home() / ".cache" / "rankcore"))
    if cache.exists() and not cache.is_dir():
        raise OSError(f"$RANKCORE_CACHE={cache} is not a directory (it names the folder rankcore caches "
                      f"datasets in)")
    digest = hashlib.sha1(str(raw.resolve()).encode()).hexdigest()[:12]
    target = cache / "planetoid" / digest
    if not (target / name / "raw").exists():
        tmp = cache / "planetoid" / f"{digest}.tmp{os.getpid()}"
        shutil.copytree(raw, tmp / name / "raw")
        try:
            os.replace(tmp, target)  # atomic: concurrent loaders never see a half copy
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # another process won the race
    return str(target)


def load(name: str, root=None, *, seed: int = 0, **kw):
    """A graph as a torch_geometric ``Data`` (x, y, edge_index with both directions).

    Names (case-insensitive): ``cora``, ``citeseer``, ``pubmed`` (PyG ``Planetoid``; root from ``root``
    or ``$RANKCORE_DATA``; a read-only folder holding ``<Name>/raw`` (PyG's raw Planetoid files) is
    copied to a writable cache first, so it works offline), ``karate`` (Zachary's club: one-hot
    features, label = the faction), and seeded synthetic graphs ``power-law`` (Chung–Lu; ``num_nodes``,
    ``num_edges``, ``exponent``; labels = degree tercile, features = random + log-degree) and ``sbm``
    (:func:`sbm_graph` keyword arguments).
    """
    import os

    try:
        from torch_geometric.data import Data
    except ImportError:
        raise RuntimeError("rankcore.datasets.load needs torch_geometric (pip install torch_geometric)") from None
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}")
    key = canonical_name(name)
    if key in PLANETOID:
        if kw:
            raise TypeError(f"unexpected keyword argument(s) for {name}: {', '.join(sorted(kw))}")
        from torch_geometric.datasets import Planetoid

        root = root if root is not None else os.environ.get("RANKCORE_DATA")
        if root is None:
            root = os.path.join(os.path.expanduser("~"), ".cache", "rankcore", "data")
            os.makedirs(root, exist_ok=True)
        data = Planetoid(_planetoid_root(PLANETOID[key], root), PLANETOID[key])[0]
        data.name = PLANETOID[key]
        return data
    if key == "karate":
        g = karate_club()
        return Data(x=torch.eye(34), y=g.communities.long(), edge_index=g.edge_index, num_nodes=34, name="karate")
    if key == "power-law":
        n = int(kw.pop("num_nodes", 1000))
        m = int(kw.pop("num_edges", 4000))
        exponent = float(kw.pop("exponent", 2.5))
        if kw:
            raise TypeError(f"unexpected keyword argument(s) for power-law: {', '.join(sorted(kw))}")
        ei = power_law_graph(n, m, exponent, seed)
        from .graph import Graph

        ei = Graph.from_input(ei, n).edge_index()  # simple graph: no self-loops or duplicates
        deg = torch.bincount(ei[0], minlength=n).double()
        gen = torch.Generator().manual_seed(seed + 1)
        x = torch.cat([torch.randn(n, 7, generator=gen), torch.log1p(deg)[:, None]], dim=1).float()
        y = torch.bucketize(deg, torch.quantile(deg, torch.tensor([1 / 3, 2 / 3], dtype=torch.float64)))
        return Data(x=x, y=y, edge_index=ei, num_nodes=n, name="power-law")
    if key == "sbm":
        g = sbm_graph(seed=seed, **kw)
        return Data(x=g["x"], y=g["y"], edge_index=g["edge_index"], num_nodes=g["num_nodes"], name="sbm")
    raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(NAMES)}")
