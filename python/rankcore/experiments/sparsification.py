"""GNN accuracy after edge sparsification (Razin, Verbin & Cohen, NeurIPS 2023, the WIS experiment).

For one dataset, every method's FULL removal order is computed once (deterministic methods: once;
random methods: once per seed, so the spread covers their randomness), and a GNN is trained from scratch
on every prefix: the graph with the first round(r * M) undirected edges removed, r in ``ratios``.
Node classification on a random 80/10/10 split per seed (the same split for every method and ratio, so
the comparison is paired); the reported number is the test accuracy at the epoch of best validation
accuracy, mean ± std over seeds.

Models (the paper's setup): GCN or GIN, ``depth`` message-passing layers (default 3), width 64, each
followed by LayerNorm, ReLU and dropout, then a linear classifier. The input features enter through the
first layer's linear map, computed as a sparse-dense product when the features are sparse (Cora's
bag-of-words is 1.3% dense), which is what makes a 3 x 10 x 3 Cora run fit a few minutes on 2 cores.
GIN's first MLP layer is moved in front of the neighbour sum (exact: the sum is linear).

Method specs: ``wis`` ((L-1)-WIS with ``wis_depth`` = L, default 2, i.e. 1-WIS: the paper's Cora
headline numbers are 1-WIS; 2-WIS is within 0.5 point), ``wis:L`` for another L, ``random``,
``spectral``, ``local_degree``.
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..graph.container import Graph
from ..graph.sparsify import METHODS, sparsify
from ..graph.arguments import removal_count
from ..graph.result import make_result
from ._io import pyplot, save_figure, write_json
from ._stats import t_quantile_975

DEFAULT_RATIOS = tuple(round(0.1 * i, 1) for i in range(10))
MODELS = ("gcn", "gin")


def parse_method(spec: str) -> tuple[str, dict]:
    """``"wis"`` / ``"wis:3"`` / ``"random"`` / ``"k_neighbor:degree"`` ... -> (method, sparsify keyword
    arguments)."""
    name, _, arg = spec.strip().partition(":")
    if name not in METHODS:
        raise ValueError(f"unknown method {spec!r}; expected one of {', '.join(METHODS)} (or wis:L, "
                         f"k_neighbor:SCORE)")
    if arg and name == "k_neighbor":
        if arg not in ("random", "degree"):
            raise ValueError(f"bad k_neighbor score in {spec!r}: expected k_neighbor:random or k_neighbor:degree")
        return name, {"score": arg}
    if arg:
        if name != "wis":
            raise ValueError(f"only wis (wis:L) and k_neighbor (k_neighbor:SCORE) take a suffix, got {spec!r}")
        try:
            depth = int(arg)
        except ValueError:
            raise ValueError(f"bad WIS depth in {spec!r}: expected wis:L with an integer L >= 2") from None
        if depth < 2:
            raise ValueError(f"bad WIS depth in {spec!r}: L must be >= 2")
        return name, {"depth": depth}
    return name, {}


class GNN(nn.Module):
    """GCN / GIN with LayerNorm; ``forward(x, adj)`` where ``adj`` is a sparse [n, n] propagation matrix."""

    def __init__(self, kind: str, in_dim: int, num_classes: int, hidden: int = 64, depth: int = 3,
                 dropout: float = 0.5):
        super().__init__()
        if kind not in MODELS:
            raise ValueError(f"unknown model {kind!r}; expected one of {', '.join(MODELS)}")
        self.kind, self.dropout = kind, dropout
        dims = [in_dim] + [hidden] * depth
        self.lins = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        # GIN: MLP((1 + eps) h + sum_j h_j) with a 2-layer MLP; GCN: one linear map per layer
        self.second = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(depth)) if kind == "gin" else None
        self.eps = nn.Parameter(torch.zeros(depth)) if kind == "gin" else None
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(depth))
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x, adj):
        h = x
        for i, lin in enumerate(self.lins):
            if self.kind == "gcn":
                # D^-1/2 (A + I) D^-1/2 (h W) + b, as PyG's GCNConv
                hw = torch.sparse.mm(h, lin.weight.t()) if h.is_sparse else h @ lin.weight.t()
                h = torch.sparse.mm(adj, hw) + lin.bias
            else:
                hw = torch.sparse.mm(h, lin.weight.t()) if h.is_sparse else h @ lin.weight.t()
                h = torch.sparse.mm(adj, hw) + self.eps[i] * hw + lin.bias  # adj = A + I
                h = self.second[i](torch.relu(h))
            h = torch.relu(self.norms[i](h))
            if self.training and self.dropout > 0:  # rand_like is faster than bernoulli_ on CPU
                h = h * (torch.rand_like(h) >= self.dropout) / (1.0 - self.dropout)
        return self.head(h)


def propagation_matrix(edge_index: torch.Tensor, num_nodes: int, kind: str) -> torch.Tensor:
    """GCN: D^-1/2 (A + I) D^-1/2; GIN: A + I (sum aggregation with the self term), sparse COO."""
    loops = torch.arange(num_nodes)
    not_loop = edge_index[0] != edge_index[1]
    ei = torch.cat([edge_index[:, not_loop], torch.stack([loops, loops])], dim=1)
    # messages flow source -> target: row = target
    values = torch.ones(ei.shape[1])
    if kind == "gcn":
        deg = torch.zeros(num_nodes).index_add_(0, ei[1], values)
        dinv = deg.pow(-0.5)
        values = dinv[ei[0]] * values * dinv[ei[1]]
    return torch.sparse_coo_tensor(ei.flip(0), values, (num_nodes, num_nodes), check_invariants=False).coalesce()


# How each run trains. "default": ours. "published": the configuration of the published code
# (github.com/noamrazin/gnn_interactions, edges_removal cora_gcn plan): one fixed 80/10/10 split (numpy's legacy
# generator seeded 1 shuffles the vertices; sizes int(0.8 n), int(0.1 n)), Adam lr 5e-4, weight decay 1e-3,
# early stopping 1000 epochs after the best validation accuracy, at most 10000 epochs; a run's seed then varies
# only the initialisation and the removal order of the seeded methods. The model (GNN below) is ours in both.
TRAINING = {"default": {"lr": 0.01, "weight_decay": 5e-4, "patience": 50, "epochs": 200, "split": "per-seed"},
            "published": {"lr": 5e-4, "weight_decay": 1e-3, "patience": 1000, "epochs": 10000, "split": "fixed"}}


def published_split(num_nodes: int):
    """The published code's one split: ``np.random.seed(1); np.random.shuffle(arange(n))``, then the first
    int(0.8 n) train, the next int(0.1 n) validation, the rest test."""
    order = np.random.RandomState(1).permutation(num_nodes)  # the legacy shuffle's stream, as np.random.seed(1)
    n_train, n_val = int(0.8 * num_nodes), int(0.1 * num_nodes)
    order = torch.from_numpy(order.astype(np.int64))
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]


def random_split(num_nodes: int, seed: int, fractions=(0.8, 0.1, 0.1)):
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(num_nodes, generator=gen)
    n_train = int(round(fractions[0] * num_nodes))
    n_val = int(round(fractions[1] * num_nodes))
    return perm[:n_train], perm[n_train:n_train + n_val], perm[n_train + n_val:]


def train_once(kind, x, y, adj, split, seed, *, epochs=200, lr=0.01, weight_decay=5e-4, patience=50,
               hidden=64, depth=3, dropout=0.5) -> float:
    """Test accuracy at the epoch of best validation accuracy (ties: the earlier epoch)."""
    torch.manual_seed(seed)
    num_classes = int(y.max()) + 1
    model = GNN(kind, x.shape[1], num_classes, hidden=hidden, depth=depth, dropout=dropout)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    train_idx, val_idx, test_idx = split
    best_val, best_test, since = -1.0, 0.0, 0
    for _ in range(epochs):
        model.train()
        opt.zero_grad(set_to_none=True)
        out = model(x, adj)
        nn.functional.cross_entropy(out[train_idx], y[train_idx]).backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            pred = model(x, adj).argmax(dim=1)
        val = float((pred[val_idx] == y[val_idx]).float().mean())
        if val > best_val:
            best_val, best_test, since = val, float((pred[test_idx] == y[test_idx]).float().mean()), 0
        else:
            since += 1
            if since >= patience:
                break
    return best_test


def _features(x: torch.Tensor) -> torch.Tensor:
    x = x.float()
    density = float((x != 0).float().mean()) if x.numel() else 1.0
    return x.to_sparse() if density < 0.1 else x


def run(dataset="cora", methods=("wis", "random", "spectral"), ratios=DEFAULT_RATIOS, models=("gcn", "gin"),
        seeds=3, *, root=None, out_dir="rankcore_results", wis_depth=2, epochs=None, threads=1, data=None,
        progress=None, plot=True, name=None, jobs=1, training="default") -> dict:
    """Runs the harness; writes ``<name>.json``, ``<name>.md`` (the table) and ``<name>.png`` into ``out_dir``.

    ``data`` (a PyG-like object with x, y, edge_index, num_nodes) replaces loading ``dataset``.
    ``progress``: a callable(str) told about every finished training (the CLI prints them or draws a bar).
    ``threads``: torch threads per training process (default 1: full-batch training on graphs of Cora's size
    is faster on one thread than on two contended ones; None keeps the current setting).
    ``jobs``: trainings run side by side in that many processes (``threads`` each); every run is seeded by
    its split seed alone, so the results equal the one-process run's, run for run.
    ``training``: ``"default"`` or ``"published"`` (:data:`TRAINING`); ``epochs`` (None: the training's cap)
    overrides the cap on epochs.
    """
    if training not in TRAINING:
        raise ValueError(f"training must be one of {', '.join(TRAINING)}, got {training!r}")
    train_cfg = {**TRAINING[training], **({} if epochs is None else {"epochs": int(epochs)})}
    methods = [m.strip() for m in methods] if not isinstance(methods, str) else [m.strip() for m in methods.split(",")]
    parsed = {}
    for spec in methods:
        method, kw = parse_method(spec)
        if method == "wis" and "depth" not in kw:
            kw = {"depth": wis_depth}
        parsed[spec] = (method, kw)
    ratios = [float(r) for r in ratios]
    if not ratios or any(not 0.0 <= r < 1.0 for r in ratios):
        raise ValueError(f"ratios must be in [0, 1), got {ratios}")
    keys = [f"{r:.2f}" for r in ratios]  # results, winners and tables are keyed so: 0.12 and 0.125 merged
    if len(set(keys)) != len(keys):
        raise ValueError(f"ratios must differ at 2 decimals (the results are keyed by r:.2f), got {ratios}")
    models = [m.strip() for m in models] if not isinstance(models, str) else [m.strip() for m in models.split(",")]
    for m in models:
        if m not in MODELS:
            raise ValueError(f"unknown model {m!r}; expected one of {', '.join(MODELS)}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {seeds}")
        seeds = list(range(seeds))
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        return _run(dataset, parsed, ratios, models, seeds, root, out_dir, train_cfg, data, progress, plot, name,
                    jobs, training)
    finally:
        torch.set_num_threads(previous_threads)


# --- the trainings: one task per (model, method, ratio, seed), in this process or in a pool ----------------

_shared: dict = {}


def _init_worker(x, y, edge_index, n, orders, removal_counts, train_cfg, threads):
    """Pool initializer: the data every training needs, sent once per worker process."""
    torch.set_num_threads(threads)
    _shared.update(x=x, y=y, edge_index=edge_index, n=n, orders=orders, counts=removal_counts, train_cfg=train_cfg,
                   adj={})


def _train_task(task):
    """One training: (model, spec, ratio, seed) -> test accuracy. The propagation matrix of the last
    (spec, seed-or-None, ratio, model) is kept (consecutive tasks share it)."""
    model, spec, r, seed, order_key = task
    key = (spec, order_key, r, model)
    adj = _shared["adj"].get(key)
    if adj is None:
        order = _shared["orders"][(spec, order_key)]
        kept = make_result(_shared["edge_index"], _shared["n"], order[:_shared["counts"][r]]).edge_index
        adj = propagation_matrix(kept, _shared["n"], model)
        _shared["adj"] = {key: adj}
    cfg = _shared["train_cfg"]
    split = random_split(_shared["n"], seed) if cfg["split"] == "per-seed" else published_split(_shared["n"])
    return train_once(model, _shared["x"], _shared["y"], adj, split, seed, epochs=cfg["epochs"], lr=cfg["lr"],
                      weight_decay=cfg["weight_decay"], patience=cfg["patience"])


def _run_tasks(tasks, jobs, threads, progress):
    """Results in task order; ``progress(i, task, accuracy)`` as each finishes."""
    if jobs == 1:
        out = []
        for i, task in enumerate(tasks):
            out.append(_train_task(task))
            if progress is not None:
                progress(i, task, out[-1])
        return out
    import concurrent.futures
    import multiprocessing

    # spawn: the parent's OpenMP runtime (used by the native sparsifiers) is not fork-safe
    ctx = multiprocessing.get_context("spawn")
    init = (_shared["x"], _shared["y"], _shared["edge_index"], _shared["n"], _shared["orders"], _shared["counts"],
            _shared["train_cfg"], threads)
    out = [None] * len(tasks)
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker,
                                                initargs=init) as pool:
        futures = {pool.submit(_train_task, task): i for i, task in enumerate(tasks)}
        try:
            for future in concurrent.futures.as_completed(futures):
                i = futures[future]
                out[i] = future.result()
                if progress is not None:
                    progress(i, tasks[i], out[i])
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return out


def _run(dataset, parsed, ratios, models, seeds, root, out_dir, train_cfg, data, progress, plot, name, jobs,
         training) -> dict:
    from .. import datasets

    if data is None:
        data = datasets.load(dataset, root)
    name = name or f"sparsification_{dataset}"
    n = int(data.num_nodes)
    x, y = _features(data.x), data.y.long()
    edge_index = data.edge_index
    graph = Graph.from_input(edge_index, n)  # also validates the ids
    if not graph.undirected:
        # The sparsifiers see the undirected graph; a GNN trained on the one-way columns would see another one.
        warnings.warn("the graph is directed: the GNNs are trained on its symmetrised edges, the graph the "
                      "sparsifiers remove from", UserWarning, stacklevel=3)
        edge_index = Graph.from_input(graph, symmetrize=True).edge_index()
    num_edges = sparsify(edge_index, n, "random", num_remove=0, symmetrize=True).edge_index.shape[1]  # validates
    t_start = time.perf_counter()

    # Full removal orders, once: deterministic methods once, random ones once per seed.
    orders, order_seconds = {}, {}
    seeded = {spec: method in SEEDED_METHODS and kw.get("score") != "degree" for spec, (method, kw) in parsed.items()}
    for spec, (method, kw) in parsed.items():
        t0 = time.perf_counter()
        for seed in (seeds if seeded[spec] else [None]):
            orders[(spec, seed)] = sparsify(edge_index, n, method, ratio=1.0, seed=seed or 0, symmetrize=True,
                                            **kw).removed
        order_seconds[spec] = time.perf_counter() - t0
    total_undirected = next(iter(orders.values())).shape[0]
    counts = {r: removal_count(total_undirected, ratio=r) for r in ratios}

    # seeds vary fastest: a deterministic method's consecutive tasks share one propagation matrix
    tasks = [(model, spec, r, seed, seed if seeded[spec] else None)
             for spec in parsed for r in ratios for model in models for seed in seeds]
    _shared.clear()
    _init_worker(x, y, edge_index, n, orders, counts, train_cfg, torch.get_num_threads())

    def report(i, task, accuracy):
        if progress is not None:
            model, spec, r, seed, _ = task
            progress(f"{model} {spec:>12} removed {r:4.0%} seed {seed}: test acc {accuracy:.4f}")
    t0 = time.perf_counter()
    accuracies = _run_tasks(tasks, jobs, torch.get_num_threads(), report)
    train_seconds = time.perf_counter() - t0
    _shared.clear()
    acc = {m: {spec: {r: [None] * len(seeds) for r in ratios} for spec in parsed} for m in models}
    for (model, spec, r, seed, _), a in zip(tasks, accuracies):
        acc[model][spec][r][seeds.index(seed)] = a

    results = {m: {spec: {f"{r:.2f}": summarize(v) for r, v in rs.items()} for spec, rs in per.items()}
               for m, per in acc.items()}
    out = {
        "dataset": getattr(data, "name", dataset), "num_nodes": n, "undirected_edges": total_undirected,
        "directed_columns": num_edges, "methods": {s: {"method": m, **kw} for s, (m, kw) in parsed.items()},
        "ratios": ratios, "models": models, "seeds": list(seeds), "epochs": train_cfg["epochs"], "jobs": jobs,
        "training": training,
        "model": {"depth": 3, "width": 64, "norm": "LayerNorm", "dropout": 0.5,
                  "optimizer": f"Adam lr {train_cfg['lr']:g} wd {train_cfg['weight_decay']:g}",
                  "selection": f"test accuracy at best validation epoch (patience {train_cfg['patience']})",
                  "split": ("random 80/10/10 per seed" if train_cfg["split"] == "per-seed"
                            else "one fixed 80/10/10 split (the published code's: numpy seed 1)")},
        "statistics": "mean, sample std and a 95% t confidence interval over seeds; a winner is marked only when "
                      "the paired 95% CI (same splits) of its gain over the runner-up lies above 0",
        "threads": torch.get_num_threads(), "order_seconds": order_seconds, "train_seconds": train_seconds,
        "total_seconds": time.perf_counter() - t_start, "results": results,
        "winners": {m: {f"{r:.2f}": winner(acc[m], r) for r in ratios} for m in models},
    }
    out_dir = Path(out_dir)
    write_json(out_dir / f"{name}.json", out)
    table = format_table(out)
    (out_dir / f"{name}.md").write_text(table + "\n")
    out["table"] = table
    if plot:
        plot_results(out, out_dir / f"{name}.png")
        out["png"] = str(out_dir / f"{name}.png")
    return out


# Methods whose order depends on the seed: computed once per seed, so the spread covers their randomness.
SEEDED_METHODS = ("random", "spectral", "k_neighbor")


def summarize(values) -> dict:
    """mean, sample std (n - 1; 0 for one value), the 95% t-interval half-width (nan for one value), runs."""
    k = len(values)
    mu = sum(values) / k
    sd = math.sqrt(sum((a - mu) ** 2 for a in values) / (k - 1)) if k > 1 else 0.0
    half = t_quantile_975(k - 1) * sd / math.sqrt(k) if k > 1 else float("nan")
    return {"mean": mu, "std": sd, "ci95": half, "runs": list(values)}


def winner(per_spec: dict, r: float) -> str | None:
    """The method with the best mean at ratio r, if the paired 95% CI of its gain over the runner-up (same
    seeds, hence the same splits) lies above 0; else None (a tie within noise)."""
    means = sorted(((sum(v[r]) / len(v[r]), spec) for spec, v in per_spec.items()), reverse=True)
    if len(means) < 2:
        return None
    (_, best), (_, second) = means[0], means[1]
    gain = summarize([a - b for a, b in zip(per_spec[best][r], per_spec[second][r])])
    return best if gain["mean"] - gain["ci95"] > 0 else None


def gains_over(out: dict, baseline: str = "random", ratios=(0.5, 0.7, 0.9)) -> dict:
    """{model: {spec: {ratio key: summarize(paired accuracy differences spec - baseline)}}} from a run's
    output (the runs are paired: the same split and initialisation per seed index)."""
    table = {}
    for model, per in out["results"].items():
        table[model] = {}
        for spec, cells in per.items():
            if spec == baseline:
                continue
            table[model][spec] = {}
            for r in ratios:
                key = f"{r:.2f}"
                if key in cells and key in per[baseline]:
                    diff = [a - b for a, b in zip(cells[key]["runs"], per[baseline][key]["runs"])]
                    table[model][spec][key] = summarize(diff)
    return table


def recommend(outs: list[dict], baseline: str = "random", ratios=(0.5, 0.7, 0.9)) -> dict:
    """The methods that, on every (dataset, model, ratio) cell of ``outs``, are never significantly worse than
    ``baseline`` (the upper end of the paired 95% CI of the gain is >= 0) and beat it on average over all
    cells (mean gain > 0). Returns {"qualified": [specs by mean gain, best first], "mean_gain": {spec: ...},
    "worst_cell": {spec: (dataset, model, ratio, mean, ci95)}, "missing_cells": {spec: count}}.

    A method that was not run on some cell where ``baseline`` was (e.g. spectral, absent from the csbm sweep)
    is never qualified: it would pass those cells untested and its mean gain would average other cells than
    the rest's; ``missing_cells`` counts them."""
    cells: dict[str, list] = {}
    universe = 0  # the (out, model, ratio) cells where the baseline was run
    for out in outs:
        for model, per in out["results"].items():
            universe += sum(f"{r:.2f}" in per.get(baseline, {}) for r in ratios)
        for model, per in gains_over(out, baseline, ratios).items():
            for spec, by_ratio in per.items():
                for key, g in by_ratio.items():
                    cells.setdefault(spec, []).append((out["dataset"], model, key, g["mean"], g["ci95"]))
    mean_gain = {spec: sum(c[3] for c in cs) / len(cs) for spec, cs in cells.items()}
    worst = {spec: min(cs, key=lambda c: c[3] + (0.0 if math.isnan(c[4]) else c[4])) for spec, cs in cells.items()}
    missing = {spec: universe - len(cs) for spec, cs in cells.items()}
    qualified = [spec for spec, cs in cells.items()
                 if not missing[spec] and mean_gain[spec] > 0
                 and all(c[3] + (0.0 if math.isnan(c[4]) else c[4]) >= 0 for c in cs)]
    return {"qualified": sorted(qualified, key=lambda spec: -mean_gain[spec]), "mean_gain": mean_gain,
            "worst_cell": worst, "missing_cells": missing}


def format_gains(out: dict, baseline: str = "random", ratios=(0.5, 0.7, 0.9)) -> str:
    """Markdown: per model, each method's paired gain over ``baseline`` (points, mean ± 95% CI) at ``ratios``;
    a cell in bold when its CI excludes 0."""
    lines = []
    for model, per in gains_over(out, baseline, ratios).items():
        keys = [f"{r:.2f}" for r in ratios]
        lines += [f"{model.upper()} on {out['dataset']}: gain over {baseline} (points, paired by split, mean ± "
                  f"95% CI over {len(out['seeds'])} splits; **bold**: the CI excludes 0)", "",
                  "| method | " + " | ".join(f"{float(k):.0%} removed" for k in keys) + " |",
                  "|---|" + "---:|" * len(keys)]
        for spec, by_ratio in per.items():
            cells = []
            for k in keys:
                g = by_ratio[k]
                text = f"{100 * g['mean']:+.1f} ± {100 * g['ci95']:.1f}"
                cells.append(f"**{text}**" if abs(g["mean"]) > g["ci95"] else text)
            lines.append(f"| {spec} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip()


def format_table(out: dict) -> str:
    """Markdown: one table per model, rows = % removed, columns = methods, cells = mean ± 95% CI (%); the
    winner of a row in bold only when its paired CI over the runner-up clears 0."""
    lines = []
    for model, per in out["results"].items():
        specs = list(per)
        lines.append(f"{model.upper()} on {out['dataset']} (test accuracy %, mean ± 95% CI over "
                     f"{len(out['seeds'])} seeds; **bold**: best, its paired CI over the runner-up above 0)")
        lines.append("")
        lines.append("| removed | " + " | ".join(specs) + " |")
        lines.append("|---:|" + "---:|" * len(specs))
        for r in out["ratios"]:
            best = out.get("winners", {}).get(model, {}).get(f"{r:.2f}")
            cells = []
            for s in specs:
                cell = per[s][f"{r:.2f}"]
                ci = cell.get("ci95", float("nan"))
                text = f"{100 * cell['mean']:.1f}" + ("" if math.isnan(ci) else f" ± {100 * ci:.1f}")
                cells.append(f"**{text}**" if s == best else text)
            lines.append(f"| {r:.0%} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip()


def plot_results(out: dict, path: Path) -> None:
    plt = pyplot()
    models = list(out["results"])
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4), squeeze=False)
    for ax, model in zip(axes[0], models):
        for spec, per in out["results"][model].items():
            xs = [100 * r for r in out["ratios"]]
            mean = [100 * per[f"{r:.2f}"]["mean"] for r in out["ratios"]]
            half = [100 * per[f"{r:.2f}"].get("ci95", 0.0) for r in out["ratios"]]
            half = [0.0 if math.isnan(h) else h for h in half]
            ax.plot(xs, mean, marker="o", label=spec)
            ax.fill_between(xs, [m - h for m, h in zip(mean, half)], [m + h for m, h in zip(mean, half)], alpha=0.15)
        ax.set_xlabel("% of edges removed")
        ax.set_ylabel("test accuracy (%), 95% CI band")
        ax.set_title(f"{model.upper()} on {out['dataset']} ({len(out['seeds'])} splits)")
        ax.grid(alpha=0.3)
        ax.legend()
    save_figure(fig, path, dpi=120)
