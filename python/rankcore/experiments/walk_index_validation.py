"""Theory check: a GNN fits an interaction across a partition better when its walk index is high
(Razin, Verbin & Cohen, NeurIPS 2023, the "same class?" experiment).

Graph: two 16-vertex cliques joined by one edge (32 vertices). Task (graph-level): two 8x8 digit images
(scikit-learn's bundled digits, offline) are cut into 16 patches of 2x2 pixels each; the 32 patches are
placed on the 32 vertices (one patch per vertex, 4 features + a 2-dim one-hot of which image it came
from); the label is "are the two digits of the same class?" (balanced). The network must combine
information from the vertices holding image A with those holding image B, i.e. model interaction
across the partition I = {vertices of image A}.

Arrangements (same graph, same data, only the placement differs):
* low walk index: image A on clique 1, image B on clique 2. The boundary C_I is the bridge's two
  endpoints, so WI_{L-1}(I) = ρ_{L-1}(C_I, V) is small.
* high walk index: each clique holds 8 patches of A and 8 of B. Every vertex is on the boundary, so
  WI_{L-1}(I) is large.
GCN and GIN of depth 3 (width 16, LayerNorm, mean readout) are trained on both; the theory predicts the
high-walk-index arrangement is fit better (higher train accuracy). Both walk indices are computed with
:func:`rankcore.walk_index` and stored in the JSON.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ._io import pyplot, save_figure, write_json

CLIQUE = 16
N = 2 * CLIQUE
PATCHES = 16  # 2x2 patches of an 8x8 image


def two_cliques() -> torch.Tensor:
    """edge_index of two 16-cliques {0..15}, {16..31} joined by the edge 15 - 16 (both directions)."""
    pairs = [(u, v) for base in (0, CLIQUE) for u in range(base, base + CLIQUE) for v in range(base, base + CLIQUE)
             if u != v]
    pairs += [(CLIQUE - 1, CLIQUE), (CLIQUE, CLIQUE - 1)]
    return torch.tensor(pairs, dtype=torch.int64).t()


def placements() -> dict[str, torch.Tensor]:
    """arrangement -> vertex of each of the 32 patches (patches 0..15 from image A, 16..31 from image B)."""
    low = torch.arange(N)  # A on clique 1, B on clique 2
    # high: A's patches alternate between the cliques, B's fill the remaining slots
    a_vertices = torch.tensor([v for i in range(8) for v in (i, CLIQUE + i)])
    b_vertices = torch.tensor([v for i in range(8, CLIQUE) for v in (i, CLIQUE + i)])
    return {"low walk index": low, "high walk index": torch.cat([a_vertices, b_vertices])}


def load_patches() -> tuple[torch.Tensor, torch.Tensor]:
    """([1797, 16, 4] float patches scaled to [0, 1], [1797] labels) from scikit-learn's digits."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise RuntimeError("walk-index-validation needs scikit-learn for its bundled 8x8 digits "
                           "(pip install scikit-learn; no download is needed)") from None
    digits = load_digits()
    images = torch.as_tensor(digits.images, dtype=torch.float32) / 16.0  # [B, 8, 8]
    patches = images.reshape(-1, 4, 2, 4, 2).permute(0, 1, 3, 2, 4).reshape(-1, PATCHES, 4)
    return patches, torch.as_tensor(digits.target, dtype=torch.int64)


def make_pairs(labels: torch.Tensor, count: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` (i, j) index pairs, half of the same class, and their 0/1 labels."""
    by_class = [torch.nonzero(labels == c).flatten() for c in range(10)]
    i = torch.randint(0, labels.numel(), (count,), generator=gen)
    same = torch.arange(count) % 2 == 0
    j = torch.randint(0, labels.numel(), (count,), generator=gen)
    for k in torch.nonzero(same).flatten().tolist():
        pool = by_class[int(labels[i[k]])]
        j[k] = pool[torch.randint(0, pool.numel(), (1,), generator=gen)]
    for k in torch.nonzero(~same).flatten().tolist():
        while labels[j[k]] == labels[i[k]]:
            j[k] = torch.randint(0, labels.numel(), (1,), generator=gen)
    return torch.stack([i, j], dim=1), same.long()


def node_features(patches, pairs, placement) -> torch.Tensor:
    """[B, 32, 6]: vertex placement[p] holds patch p (image A's patches first), plus a one-hot of its image."""
    both = torch.cat([patches[pairs[:, 0]], patches[pairs[:, 1]]], dim=1)  # [B, 32, 4]
    which = torch.zeros(N, 2)
    which[:PATCHES, 0] = 1
    which[PATCHES:, 1] = 1
    both = torch.cat([both, which.expand(both.shape[0], -1, -1)], dim=2)
    x = torch.empty_like(both)
    x[:, placement] = both
    return x


class DenseGNN(nn.Module):
    """GCN / GIN on one fixed small graph, batched as [B, n, F] (the same graph for every sample)."""

    def __init__(self, kind: str, adjacency: torch.Tensor, in_dim: int, hidden: int = 16, depth: int = 3):
        super().__init__()
        a_hat = adjacency + torch.eye(adjacency.shape[0])
        if kind == "gcn":
            dinv = a_hat.sum(1).pow(-0.5)
            prop = dinv[:, None] * a_hat * dinv[None, :]
        elif kind == "gin":
            prop = a_hat  # sum aggregation with the self term (eps = 0)
        else:
            raise ValueError(f"unknown model {kind!r}")
        self.register_buffer("prop", prop)
        self.kind = kind
        dims = [in_dim] + [hidden] * depth
        self.lins = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.second = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(depth)) if kind == "gin" else None
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(depth))
        self.head = nn.Linear(hidden, 2)

    def forward(self, x):
        h = x
        for i, lin in enumerate(self.lins):
            h = lin(self.prop @ h) if self.kind == "gin" else self.prop @ lin(h)
            if self.kind == "gin":
                h = self.second[i](torch.relu(h))
            h = torch.relu(self.norms[i](h))
        return self.head(h.mean(dim=1))


def fit(kind, adjacency, x_train, y_train, x_test, y_test, steps, seed) -> dict:
    torch.manual_seed(seed)
    model = DenseGNN(kind, adjacency, x_train.shape[2])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    curve = []
    for step in range(steps):
        batch = torch.randint(0, x_train.shape[0], (128,), generator=gen)
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x_train[batch]), y_train[batch]).backward()
        opt.step()
        if (step + 1) % max(1, steps // 20) == 0 or step + 1 == steps:
            with torch.no_grad():
                curve.append(float((model(x_train).argmax(1) == y_train).float().mean()))
    with torch.no_grad():
        train_acc = float((model(x_train).argmax(1) == y_train).float().mean())
        test_acc = float((model(x_test).argmax(1) == y_test).float().mean())
    return {"train_acc": train_acc, "test_acc": test_acc, "train_curve": curve}


def config(quick: bool) -> dict:
    if quick:
        return dict(train_pairs=600, test_pairs=300, steps=250, seeds=[0], models=["gcn", "gin"])
    return dict(train_pairs=5000, test_pairs=1000, steps=4000, seeds=[0, 1, 2], models=["gcn", "gin"])


def run(out_dir: str | Path = "rankcore_results", quick: bool = False, seed: int = 0, threads: int = 1) -> dict:
    """Writes walk_index_validation.json and .png into ``out_dir``. ``threads``: torch threads while it runs
    (1 by default: these 32-vertex batches are too small to gain from more, and lose on a busy machine)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _run(out_dir, quick, seed)
    finally:
        torch.set_num_threads(previous)


def _run(out_dir, quick: bool, seed: int) -> dict:
    import rankcore

    cfg = config(quick)
    edge_index = two_cliques()
    adjacency = torch.zeros(N, N)
    adjacency[edge_index[0], edge_index[1]] = 1.0
    patches, labels = load_patches()
    gen = torch.Generator().manual_seed(seed)
    # disjoint images for train and test pairs
    perm = torch.randperm(labels.numel(), generator=gen)
    tr_img, te_img = perm[:1300], perm[1300:]
    tr_pairs, y_train = make_pairs(labels[tr_img], cfg["train_pairs"], gen)
    te_pairs, y_test = make_pairs(labels[te_img], cfg["test_pairs"], gen)
    tr_pairs, te_pairs = tr_img[tr_pairs], te_img[te_pairs]

    result = {"config": cfg, "seed": seed, "arrangements": {}}
    for name, placement in placements().items():
        part = torch.zeros(N, dtype=torch.bool)
        part[placement[:PATCHES]] = True  # I = the vertices holding image A
        wi = int(rankcore.walk_index(edge_index, N, part, 3))
        boundary = int(rankcore.boundary(edge_index, N, part).sum())
        x_train = node_features(patches, tr_pairs, placement)
        x_test = node_features(patches, te_pairs, placement)
        per_model = {}
        for kind in cfg["models"]:
            runs = [fit(kind, adjacency, x_train, y_train, x_test, y_test, cfg["steps"], seed + s) for s in cfg["seeds"]]
            per_model[kind] = {
                "train_acc_mean": sum(r["train_acc"] for r in runs) / len(runs),
                "test_acc_mean": sum(r["test_acc"] for r in runs) / len(runs),
                "runs": runs,
            }
        result["arrangements"][name] = {"walk_index_L3": wi, "boundary_size": boundary, "models": per_model}
    low, high = result["arrangements"]["low walk index"], result["arrangements"]["high walk index"]
    result["high_fits_better"] = {k: high["models"][k]["train_acc_mean"] > low["models"][k]["train_acc_mean"]
                                  for k in cfg["models"]}
    out = Path(out_dir)
    write_json(out / "walk_index_validation.json", result)
    plot(result, out / "walk_index_validation.png")
    return result


def plot(result: dict, path: Path) -> None:
    plt = pyplot()
    models = result["config"]["models"]
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 3.8), squeeze=False)
    for ax, kind in zip(axes[0], models):
        for name, arr in result["arrangements"].items():
            curves = [r["train_curve"] for r in arr["models"][kind]["runs"]]
            mean = [sum(c) / len(c) for c in zip(*curves)]
            steps = result["config"]["steps"]
            xs = [steps * (i + 1) / len(mean) for i in range(len(mean))]
            ax.plot(xs, mean, label=f"{name} (WI={arr['walk_index_L3']})")
        ax.set_title(f"{kind.upper()} depth 3: same-class task")
        ax.set_xlabel("step")
        ax.set_ylabel("train accuracy")
        ax.grid(alpha=0.3)
        ax.legend()
    save_figure(fig, path, dpi=120)
