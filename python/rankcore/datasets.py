"""Built-in graphs that need no download, and `load` for every dataset the experiments use.

``karate_club()`` is Zachary's karate club (34 members, 78 friendships; W. W. Zachary, 1977), the
graph the quick start runs on. Its ``club`` mask marks the members who stayed with Mr. Hi (vertex 0)
after the split, the classic two-community partition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .graph.arguments import check_allocation, check_int, check_seed

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
    # ints: 2.5 vertices was an obscure cast error, and load("power-law", num_nodes=10.7) truncated to 10
    num_nodes, num_edges = check_int("num_nodes", num_nodes, 1), check_int("num_edges", num_edges, 0)
    if not (math.isfinite(exponent) and exponent > 2):  # NaN passed "<= 2" and drew one vertex for every end
        raise ValueError(f"exponent must be a finite number > 2, got {exponent}")
    gen = torch.Generator().manual_seed(check_seed(seed))  # torch would wrap -1 to 2^64 - 1
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
    It draws every vertex pair (O(n^2) time and memory): for large graphs use :func:`csbm`.
    """
    sizes = [int(s) for s in block_sizes]
    if not sizes or any(s < 1 for s in sizes) or list(block_sizes) != sizes:  # 2.7 was truncated to 2
        raise ValueError(f"block_sizes must be positive ints, got {block_sizes}")
    num_features = check_int("num_features", num_features, 0)
    if not math.isfinite(float(feature_noise)):  # NaN / inf features, silently
        raise ValueError(f"feature_noise must be finite, got {feature_noise}")
    for name, p in (("p_in", p_in), ("p_out", p_out)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    gen = torch.Generator().manual_seed(check_seed(seed))  # torch would wrap -1 to 2^64 - 1
    y = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    n = int(y.numel())
    # every vertex pair is drawn (two int64 indices, a probability and a flag each): a small-graph generator
    check_allocation(n * (n - 1) // 2 * 33, f"sbm_graph with {n} vertices (all n(n-1)/2 vertex pairs)",
                     "rankcore.datasets.csbm samples large block models without enumerating the pairs")
    iu = torch.triu_indices(n, n, offset=1)
    prob = torch.where(y[iu[0]] == y[iu[1]], p_in, p_out)
    chosen = torch.rand(prob.numel(), generator=gen, dtype=torch.float64) < prob
    u, v = iu[0][chosen], iu[1][chosen]
    centres = torch.randn(len(sizes), num_features, generator=gen)
    x = centres[y] + feature_noise * torch.randn(n, num_features, generator=gen)
    return {"edge_index": torch.stack([torch.cat([u, v]), torch.cat([v, u])]), "x": x, "y": y, "num_nodes": n}


def _check_probability(name: str, p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a probability in [0, 1], got {type(p).__name__}")
    if not 0.0 <= float(p) <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    return float(p)


def _distinct_indices(rng: np.random.Generator, total: int, count: int) -> np.ndarray:
    """A uniform random ``count``-subset of [0, total) (int64, unordered), O(count) memory: rounds that
    draw the shortfall with replacement and keep the values not seen yet. That is the set of the first
    ``count`` distinct values of an i.i.d. uniform sequence, hence uniform. Dense requests (more than half)
    sample the complement instead, so at least half of every round is new on average: O(log count) rounds."""
    if 2 * count > total:
        return np.setdiff1d(np.arange(total, dtype=np.int64), _distinct_indices(rng, total, total - count),
                            assume_unique=True)
    chosen = np.empty(0, dtype=np.int64)
    while chosen.size < count:
        draw = np.unique(rng.integers(0, total, size=count - chosen.size, dtype=np.int64))
        chosen = np.concatenate([chosen, draw[~np.isin(draw, chosen, assume_unique=True)]])
    return chosen


def _pairs_within(index: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A bijection from [0, size (size - 1) / 2) onto the unordered pairs {i, j} of [0, size), integers
    only (no square root): with h = (size - 1) // 2, index t < size * h is {i, (i + d) mod size} for
    i = t // h, d = t % h + 1 (circular distance d <= h is seen from exactly one end); for even sizes the
    remaining size / 2 indices are the antipodal pairs {t', t' + size / 2}."""
    h = (size - 1) // 2
    near = index < size * h
    i = np.empty_like(index)
    j = np.empty_like(index)
    t = index[near]
    i[near] = t // max(h, 1)
    j[near] = (i[near] + t % max(h, 1) + 1) % size
    t = index[~near] - size * h
    i[~near] = t
    j[~near] = t + size // 2
    return i, j


def csbm(n: int = 2500, classes: int = 5, p_in: float = 0.008, p_out: float = 0.0005, feature_signal: float = 1.0,
         seed: int = 0, *, num_features: int = 16) -> dict:
    """A seeded contextual stochastic block model: vary ``p_in`` / ``p_out`` (homophily) and
    ``feature_signal`` (how much the features alone tell) independently.

    * Classes: ``n`` vertices in ``classes`` balanced classes (sizes differ by at most one), assigned to the
      vertex ids by a seeded random permutation, so ids carry no class information (sparsifiers break ties
      by id).
    * Edges: every unordered pair {i, j}, i != j, independently with probability ``p_in`` (same class) or
      ``p_out`` (different classes). Sampled per class pair without any n x n object: the number of edges
      is drawn from Binomial(#pairs, p), then that many distinct pairs uniformly (rejecting repeats).
    * Features: x_i = mu_{y_i} + N(0, I), mu_c = ``feature_signal`` * (a random unit vector per class) in
      ``num_features`` dimensions.
    * Expected edge homophily: p_in N_in / (p_in N_in + p_out N_out) with N_in / N_out the same-class /
      cross-class pair counts; about p_in / (p_in + (classes - 1) p_out) for large n.

    The defaults are Cora-like: average degree 5 and homophily 0.8, on 2500 vertices in 5 classes.
    All randomness comes from ``numpy.random.default_rng(seed)``.

    Returns a dict like :func:`sbm_graph`: ``edge_index`` ([2, 2E] int64, both directions, the pairs u < v
    sorted, then their reverses), ``x`` [n, num_features] float32, ``y`` [n] int64, ``num_nodes``, and
    ``homophily``: the measured fraction of edges joining same-class vertices (NaN without edges).
    """

    n = check_int("n", n, 1)
    classes = check_int("classes", classes, 1)
    if n < classes:
        raise ValueError(f"n must be >= classes (every class needs a vertex), got n={n}, classes={classes}")
    p_in, p_out = _check_probability("p_in", p_in), _check_probability("p_out", p_out)
    if isinstance(feature_signal, bool) or not isinstance(feature_signal, (int, float, np.integer, np.floating)):
        raise TypeError(f"feature_signal must be a number, got {type(feature_signal).__name__}")
    if not 0.0 <= float(feature_signal) < math.inf:
        raise ValueError(f"feature_signal must be finite and >= 0, got {feature_signal}")
    num_features = check_int("num_features", num_features, 1)
    rng = np.random.default_rng(check_seed(seed))

    sizes = [n // classes + (c < n % classes) for c in range(classes)]
    y = rng.permutation(np.repeat(np.arange(classes), sizes))
    members = [np.flatnonzero(y == c) for c in range(classes)]
    blocks = []  # (class a, class b, #pairs, #edges): all counts first, so the memory check comes before sampling
    for a in range(classes):
        for b in range(a, classes):
            pairs = sizes[a] * (sizes[a] - 1) // 2 if a == b else sizes[a] * sizes[b]
            blocks.append((a, b, pairs, int(rng.binomial(pairs, p_in if a == b else p_out))))
    num_edges = sum(block[3] for block in blocks)
    check_allocation(64 * num_edges + 8 * n * num_features, f"csbm with {num_edges} edges", "lower p_in / p_out")
    us, vs = [], []
    for a, b, pairs, count in blocks:
        index = _distinct_indices(rng, pairs, count)
        if a == b:
            i, j = _pairs_within(index, sizes[a])
        else:
            i, j = index // sizes[b], index % sizes[b]
        gi, gj = members[a][i], members[b][j]
        us.append(np.minimum(gi, gj))
        vs.append(np.maximum(gi, gj))
    u, v = np.concatenate(us), np.concatenate(vs)
    order = np.argsort(u * n + v, kind="stable")
    u, v = torch.from_numpy(u[order]), torch.from_numpy(v[order])

    directions = rng.standard_normal((classes, num_features))
    means = float(feature_signal) * directions / np.linalg.norm(directions, axis=1, keepdims=True)
    x = means[y] + rng.standard_normal((n, num_features))
    y = torch.from_numpy(y).to(torch.int64)
    homophily = float((y[u] == y[v]).double().mean()) if u.numel() else math.nan
    return {"edge_index": torch.stack([torch.cat([u, v]), torch.cat([v, u])]), "x": torch.from_numpy(x).float(),
            "y": y, "num_nodes": n, "homophily": homophily}


PLANETOID = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
SYNTHETIC = ("karate", "power-law", "sbm", "csbm")
NAMES = tuple(PLANETOID) + SYNTHETIC


def canonical_name(name: str) -> str:
    key = name.lower().replace("_", "-")
    return {"karateclub": "karate", "karate-club": "karate", "powerlaw": "power-law"}.get(key, key)


def _cache_root():
    """``$RANKCORE_CACHE`` (``~`` expanded), default ``~/.cache/rankcore``; an empty variable counts as unset (it
    named the working directory), as for rankcore.cnn.data."""
    import os
    from pathlib import Path

    env = os.environ.get("RANKCORE_CACHE", "")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rankcore"


def _raw_digest(raw) -> str:
    """The key of a cached copy of the raw folder ``raw``: its absolute path and the names and bytes of its files
    (keyed by the path alone, a source whose files changed kept answering with the old copy's graph)."""
    import hashlib

    digest = hashlib.sha256(str(raw.resolve()).encode())
    for path in sorted(p for p in raw.rglob("*") if p.is_file()):
        digest.update(b"\0" + str(path.relative_to(raw)).encode() + b"\0")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _planetoid_root(name: str, root) -> str:
    """A Planetoid root for ``name``: ``root`` itself when it holds processed files or nothing (download),
    else a cached copy of its raw files.

    A raw folder (such as the shared, read-only datasets) is copied to ``$RANKCORE_CACHE`` (default
    ``~/.cache/rankcore``) keyed by its absolute path and its files' contents, and processed there, so processing
    happens once per source. The copy is made and processed in a temporary folder beside the entry and renamed
    into place only once complete: an interrupted or failed build (Ctrl-C, a crash, a full disk) leaves no entry,
    and concurrent loaders never see a half-processed one.
    """
    import os
    import shutil
    import tempfile
    from pathlib import Path

    root = Path(root).expanduser()
    raw = root / name / "raw"
    if (root / name / "processed").exists():
        return str(root)
    if not raw.exists():
        return str(root)  # no raw files: Planetoid downloads them into root
    # Raw files only: process a cached copy, never write into the source folder (shared, maybe read-only).
    cache = _cache_root()
    if cache.exists() and not cache.is_dir():
        raise OSError(f"$RANKCORE_CACHE={cache} is not a directory (it names the folder rankcore caches "
                      f"datasets in)")
    digest = _raw_digest(raw)
    target = cache / "planetoid" / digest
    if not target.is_dir():
        from torch_geometric.datasets import Planetoid

        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{digest}.", suffix=".tmp", dir=target.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # a plain folder's mode (mkdtemp's 0700 would lock out a shared cache's users)
        try:
            shutil.copytree(raw, tmp / name / "raw")
            Planetoid(str(tmp), name)  # processed here, before the entry has its name
            try:
                os.replace(tmp, target)  # atomic: concurrent loaders never see a half copy
            except OSError:
                if not target.is_dir():
                    raise
                # another process won the race: its entry is complete
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # gone after the rename; else a failed build's leftovers
    return str(target)


def load(name: str, root=None, *, seed: int = 0, **kw):
    """A graph as a torch_geometric ``Data`` (x, y, edge_index with both directions).

    Names (case-insensitive): ``cora``, ``citeseer``, ``pubmed`` (PyG ``Planetoid``; root from ``root``
    or ``$RANKCORE_DATA``; a read-only folder holding ``<Name>/raw`` (PyG's raw Planetoid files) is
    copied to a writable cache first, so it works offline), ``karate`` (Zachary's club: one-hot
    features, label = the faction), and seeded synthetic graphs ``power-law`` (Chung–Lu; ``num_nodes``,
    ``num_edges``, ``exponent``; labels = degree tercile, features = random + log-degree), ``sbm``
    (:func:`sbm_graph` keyword arguments) and ``csbm`` (:func:`csbm` keyword arguments; the Data also
    carries the measured edge ``homophily``).
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
        n = kw.pop("num_nodes", 1000)  # checked by power_law_graph (int() truncated 10.7 to 10)
        m = kw.pop("num_edges", 4000)
        exponent = float(kw.pop("exponent", 2.5))
        if kw:
            raise TypeError(f"unexpected keyword argument(s) for power-law: {', '.join(sorted(kw))}")
        ei = power_law_graph(n, m, exponent, seed)
        n = int(n)
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
    if key == "csbm":
        g = csbm(seed=seed, **kw)
        return Data(x=g["x"], y=g["y"], edge_index=g["edge_index"], num_nodes=g["num_nodes"],
                    homophily=g["homophily"], name="csbm")
    raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(NAMES)}")
