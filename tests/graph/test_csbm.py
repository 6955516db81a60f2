"""rankcore.datasets.csbm: the contextual SBM's edge counts, pair uniformity, homophily and features against
the model's own probabilities (statistical bounds, fixed seeds), simplicity, determinism and arguments."""

import math
from itertools import combinations

import numpy as np
import pytest
import torch

from rankcore import datasets


def undirected_pairs(g):
    """[(u, v)] with u < v from the first half of the columns, after checking the second half mirrors it."""
    ei = g["edge_index"]
    half = ei.shape[1] // 2
    assert ei.shape[1] == 2 * half and torch.equal(ei[:, half:], ei[:, :half].flip(0))
    return [tuple(e) for e in ei[:, :half].t().tolist()]


def test_undirected_simple_and_balanced():
    g = datasets.csbm(101, 3, 0.3, 0.1, 1.0, seed=5)
    pairs = undirected_pairs(g)
    assert all(u < v for u, v in pairs) and len(set(pairs)) == len(pairs) and pairs == sorted(pairs)
    assert all(0 <= u < 101 and 0 <= v < 101 for u, v in pairs)
    counts = torch.bincount(g["y"], minlength=3).tolist()
    assert sorted(counts) == [33, 34, 34] and g["num_nodes"] == 101
    assert g["x"].shape == (101, 16) and g["x"].dtype == torch.float32 and g["y"].dtype == torch.int64
    # labels are spread over the ids, not in blocks of consecutive ids
    assert g["y"].tolist() != sorted(g["y"].tolist())


def test_edge_counts_per_class_pair_match_the_model():
    n, classes, p_in, p_out = 900, 3, 0.05, 0.01
    g = datasets.csbm(n, classes, p_in, p_out, 1.0, seed=11)
    y = g["y"].tolist()
    sizes = [y.count(c) for c in range(classes)]
    counts = {}
    for u, v in undirected_pairs(g):
        key = (min(y[u], y[v]), max(y[u], y[v]))
        counts[key] = counts.get(key, 0) + 1
    for a in range(classes):
        for b in range(a, classes):
            pairs = sizes[a] * (sizes[a] - 1) // 2 if a == b else sizes[a] * sizes[b]
            p = p_in if a == b else p_out
            sd = math.sqrt(pairs * p * (1 - p))
            assert abs(counts.get((a, b), 0) - pairs * p) < 5 * sd, (a, b, counts.get((a, b)), pairs * p)


@pytest.mark.parametrize("n, classes, p_in, p_out", [(8, 2, 0.3, 0.6), (7, 1, 0.7, 0.0), (9, 3, 0.55, 0.25)])
def test_every_pair_appears_with_its_probability(n, classes, p_in, p_out):
    # over many seeds, each pair's frequency given same / different class is p_in / p_out: catches a
    # biased pair map or subset sampler (0.55 and 0.6 of the pairs: the complement path is taken)
    seeds = 400
    hits = np.zeros((n, n))
    same = np.zeros((n, n))
    for seed in range(seeds):
        g = datasets.csbm(n, classes, p_in, p_out, 0.0, seed=seed, num_features=1)
        y = g["y"].numpy()
        same += y[:, None] == y[None, :]
        for u, v in undirected_pairs(g):
            hits[u, v] += 1
    for u, v in combinations(range(n), 2):
        runs_same = same[u, v]
        # hits = Binomial(same, p_in) + Binomial(seeds - same, p_out)
        mean = runs_same * p_in + (seeds - runs_same) * p_out
        sd = math.sqrt(runs_same * p_in * (1 - p_in) + (seeds - runs_same) * p_out * (1 - p_out))
        assert abs(hits[u, v] - mean) <= 5 * sd + 1e-9, (u, v, hits[u, v], mean)


def test_extreme_probabilities():
    g = datasets.csbm(12, 3, 1.0, 0.0, 1.0, seed=0)  # three disjoint 4-cliques
    y = g["y"].tolist()
    assert set(undirected_pairs(g)) == {(u, v) for u, v in combinations(range(12), 2) if y[u] == y[v]}
    assert g["homophily"] == 1.0
    g = datasets.csbm(12, 3, 0.0, 1.0, 1.0, seed=0)  # complete 3-partite
    y = g["y"].tolist()
    assert set(undirected_pairs(g)) == {(u, v) for u, v in combinations(range(12), 2) if y[u] != y[v]}
    assert g["homophily"] == 0.0
    empty = datasets.csbm(5, 5, 1.0, 0.0, 1.0, seed=0)  # one vertex per class: no same-class pair
    assert empty["edge_index"].shape == (2, 0) and math.isnan(empty["homophily"])


@pytest.mark.parametrize("classes, p_in, p_out", [(2, 0.01, 0.002), (4, 0.02, 0.004), (2, 0.004, 0.012)])
def test_homophily_follows_the_block_probabilities(classes, p_in, p_out):
    n = 3000
    g = datasets.csbm(n, classes, p_in, p_out, 1.0, seed=3)
    y = g["y"]
    pairs = undirected_pairs(g)
    measured = sum(int(y[u]) == int(y[v]) for u, v in pairs) / len(pairs)
    assert g["homophily"] == pytest.approx(measured, abs=1e-12)
    sizes = torch.bincount(y).tolist()
    same = sum(s * (s - 1) // 2 for s in sizes)
    cross = n * (n - 1) // 2 - same
    expected = p_in * same / (p_in * same + p_out * cross)
    assert abs(measured - expected) < 0.03, (measured, expected)
    # the large-n shorthand p_in / (p_in + (classes - 1) p_out)
    assert abs(measured - p_in / (p_in + (classes - 1) * p_out)) < 0.04


def test_features_carry_the_stated_signal():
    for signal in (0.0, 2.0):
        g = datasets.csbm(4000, 2, 0.001, 0.001, signal, seed=1, num_features=8)
        x, y = g["x"].double(), g["y"]
        means = torch.stack([x[y == c].mean(0) for c in range(2)])
        # class means have norm `signal` (2000 samples each: estimation error ~ sqrt(8 / 2000) = 0.06)
        assert means.norm(dim=1).tolist() == pytest.approx([signal, signal], abs=0.25)
        noise = x - means[y]
        assert float(noise.var()) == pytest.approx(1.0, abs=0.05)


def test_deterministic_per_seed():
    a = datasets.csbm(300, 3, 0.05, 0.01, 1.0, seed=7)
    b = datasets.csbm(300, 3, 0.05, 0.01, 1.0, seed=7)
    c = datasets.csbm(300, 3, 0.05, 0.01, 1.0, seed=8)
    assert all(torch.equal(a[k], b[k]) for k in ("edge_index", "x", "y")) and a["homophily"] == b["homophily"]
    assert not torch.equal(a["edge_index"], c["edge_index"]) and not torch.equal(a["y"], c["y"])


def test_large_n_without_dense_pairs():
    # 10^6 vertices: 5 * 10^11 pairs, far beyond any n x n mask
    g = datasets.csbm(10**6, 2, 1e-6, 1e-7, 1.0, seed=0, num_features=1)
    m = g["edge_index"].shape[1] // 2
    same = 2 * (500_000 * 499_999 // 2)
    expected = 1e-6 * same + 1e-7 * 500_000**2
    assert abs(m - expected) < 5 * math.sqrt(expected)
    u, v = g["edge_index"][:, :m]
    assert bool((u < v).all()) and torch.unique(u * 10**6 + v).numel() == m


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(p_in=1.5), ValueError, "p_in must be a probability"),
    (dict(p_in=-0.1), ValueError, "p_in must be a probability"),
    (dict(p_out=float("nan")), ValueError, "p_out must be a probability"),
    (dict(p_in="0.1"), TypeError, "p_in must be a probability"),
    (dict(classes=0), ValueError, "classes must be >= 1"),
    (dict(classes=2.0), TypeError, "classes must be an int"),
    (dict(n=3, classes=4), ValueError, "n must be >= classes"),
    (dict(n=0), ValueError, "n must be >= 1"),
    (dict(feature_signal=float("nan")), ValueError, "feature_signal"),
    (dict(feature_signal=-1.0), ValueError, "feature_signal"),
    (dict(feature_signal=float("inf")), ValueError, "feature_signal"),
    (dict(num_features=0), ValueError, "num_features"),
    (dict(seed=-1), ValueError, "seed"),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        datasets.csbm(**{**dict(n=20, classes=2, p_in=0.3, p_out=0.1, feature_signal=1.0), **kwargs})
