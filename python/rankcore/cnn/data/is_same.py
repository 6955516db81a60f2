"""Is-Same-Class: two sklearn digits on a blank canvas, ``distance`` pixels apart; label = same class."""

from __future__ import annotations

import numpy as np
import torch

from ..regions import Region
from .cache import _cache_load, _cache_path, _cache_store
from .task import IS_SAME_CLASS_VERSION, TaskData, _even_count, _int

#: The fixed partition of the digit images (``sklearn.datasets.load_digits()``), per class: the first 45% of a
#: seeded shuffle are train, the next 15% validation, the last 40% test (see :func:`digit_split`).
SPLIT_FRACTIONS = {"train": 0.45, "val": 0.15, "test": 0.40}
SPLITS = ("train", "val", "test")
_SPLIT_SEED = 20220721  # fixed: the partition of the digit images never depends on ``seed``


def _load_digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        # RuntimeError, not ImportError: `rankcore experiment` reports RuntimeErrors as one line
        raise RuntimeError("is_same_class needs scikit-learn's bundled digits: pip install 'rankcore[cnn]' "
                           "(or scikit-learn)") from err
    digits = load_digits()
    return digits.images.astype(np.float32) / 16.0, digits.target.astype(np.int64)


def digit_split(targets: np.ndarray) -> dict[str, np.ndarray]:
    """The fixed stratified partition of the digit images: ``{"train": indices, "val": indices, "test": indices}``.

    Per class (n images), the images are shuffled with a fixed seed; the first ``round(0.45 n)`` go to train (808
    of the 1797 images), the next ones up to ``round(0.6 n)`` to validation (270), the rest to test (719); sorted
    indices into ``load_digits()``, pairwise disjoint, together all 1797. The test part is the one of generator
    version 1 (a 60/40 train/test split with the same shuffle): validation was carved out of the old train part.
    """
    rng = np.random.default_rng(_SPLIT_SEED)
    parts = {name: [] for name in SPLITS}
    for c in range(int(targets.max()) + 1):
        idx = rng.permutation(np.flatnonzero(targets == c))
        cut_val = int(round(SPLIT_FRACTIONS["train"] * len(idx)))
        cut_test = int(round((SPLIT_FRACTIONS["train"] + SPLIT_FRACTIONS["val"]) * len(idx)))
        parts["train"].append(idx[:cut_val])
        parts["val"].append(idx[cut_val:cut_test])
        parts["test"].append(idx[cut_test:])
    return {name: np.sort(np.concatenate(parts[name])) for name in SPLITS}


def upsample_digits(images: np.ndarray, object_size: int) -> np.ndarray:
    """``[n, 8, 8]`` values in [0, 1] -> ``[n, object_size, object_size]``: bilinear, ``align_corners=False``."""
    t = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))[:, None]
    out = torch.nn.functional.interpolate(t, size=(object_size, object_size), mode="bilinear", align_corners=False)
    return out[:, 0].numpy()


def _canvas(canvas) -> tuple[int, int]:
    if isinstance(canvas, (tuple, list)):
        if len(canvas) != 2:
            raise ValueError(f"canvas must be an int or (height, width), got {canvas!r}")
        return _int("canvas height", canvas[0], 1), _int("canvas width", canvas[1], 1)
    c = _int("canvas", canvas, 1)
    return c, c


def is_same_class(
    num_pairs: int, canvas=64, distance: int = 0, object_size: int = 16, seed: int = 0, split: str = "train"
) -> TaskData:
    """Is-Same-Class (Razin, Maman & Cohen 2022, with sklearn digits instead of CIFAR-10): are the two objects of
    the same class?

    Objects: the 8x8 digits of ``sklearn.datasets.load_digits`` (values 0..16 scaled to [0, 1]), upsampled
    bilinearly to ``object_size`` (see :func:`upsample_digits`). ``split`` = ``"train"``, ``"val"`` (validation)
    or ``"test"``: the three draw from pairwise disjoint digit images, a fixed stratified 45/15/40 partition of the
    1797 images, independent of ``seed`` (:func:`digit_split`), and from independent random streams.

    Layout on a ``canvas`` (int or (height, width)): both objects vertically centred (top row
    ``(H - object_size) // 2``), a horizontal gap of ``distance`` blank pixels between them, the pair centred
    horizontally (left object at column ``(W - 2 object_size - distance) // 2``). ``regions`` = (left slot,
    right slot). ValueError if the pair does not fit.

    Labels: exactly ``num_pairs / 2`` positives (two different images of one class, class uniform) and as many
    negatives (two different classes, uniform, one image of each), shuffled; the left/right order is random.

    Normalisation (fixed affine, as in the paper where the canvas of zeros is the mean after normalisation):
    object pixels become ``(p - mean) / std`` with the mean and std of all 1797 digits' pixels in [0, 1]
    (``meta["normalisation"]``); the blank canvas is 0. ``meta["sources"]`` holds the ``load_digits`` indices
    of the (left, right) objects, ``meta["classes"]`` their classes.

    Only the random draw (source indices, labels) is cached; the rendering from it is deterministic.
    """
    num_pairs = _even_count("num_pairs", num_pairs)
    height, width = _canvas(canvas)
    distance = _int("distance", distance, 0)
    object_size = _int("object_size", object_size, 1)
    seed = _int("seed", seed, 0)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if object_size > height or 2 * object_size + distance > width:
        raise ValueError(
            f"two {object_size}px objects {distance}px apart need a canvas of at least {object_size}x"
            f"{2 * object_size + distance} (height x width), got {height}x{width}"
        )
    top = (height - object_size) // 2
    left = (width - 2 * object_size - distance) // 2
    slots = (
        Region(top, left, object_size, object_size),
        Region(top, left + object_size + distance, object_size, object_size),
    )

    digits, targets = _load_digits()
    pool = digit_split(targets)[split]
    meta = dict(
        task="is-same-class", num_pairs=num_pairs, canvas=(height, width), distance=distance,
        object_size=object_size, seed=seed, split=split, version=IS_SAME_CLASS_VERSION,
    )
    path, key_text = _cache_path("is_same_class", {k: meta[k] for k in meta if k != "task"})
    spec = {"sources": (np.int64, (num_pairs, 2)), "labels": (np.int64, (num_pairs,))}
    cached = _cache_load(path, key_text, spec, lambda a: _check_pairs(a["sources"], a["labels"], pool, targets, split))
    if cached is None:
        sources, labels = _draw_pairs(num_pairs, pool, targets, seed, split)
        _cache_store(path, key_text, {"sources": sources, "labels": labels})
    else:
        sources, labels = cached["sources"], cached["labels"]

    mean, std = float(digits.mean()), float(digits.std())
    objects = (upsample_digits(digits, object_size) - mean) / std
    images = np.zeros((num_pairs, 1, height, width), dtype=np.float32)
    for column, slot in enumerate(slots):
        rows, cols = slot.slices()
        images[:, 0, rows, cols] = objects[sources[:, column]]
    meta.update(normalisation=(mean, std), sources=sources, classes=targets[sources],
                split_fractions=dict(SPLIT_FRACTIONS))
    return TaskData(
        images=torch.from_numpy(images),
        labels=torch.from_numpy(labels.astype(np.float32)),
        regions=slots,
        meta=meta,
    )


def _check_pairs(sources: np.ndarray, labels: np.ndarray, pool: np.ndarray, targets: np.ndarray,
                 split: str) -> str | None:
    """Why cached (sources, labels) are not a draw of :func:`_draw_pairs`, or None: the invariants it guarantees."""
    if sources.min() < 0 or sources.max() >= len(targets):
        return f"source indices outside 0..{len(targets) - 1}"
    if not np.isin(sources, pool).all():
        return f"source digits outside the {split} part"
    if (sources[:, 0] == sources[:, 1]).any():
        return "a pair shows the same digit image twice"
    if not np.isin(labels, (0, 1)).all():
        return "labels outside {0, 1}"
    if not np.array_equal(labels, (targets[sources[:, 0]] == targets[sources[:, 1]]).astype(np.int64)):
        return "labels that do not match the classes of the sources"
    if 2 * int(labels.sum()) != len(labels):
        return "labels that are not balanced"
    return None


def _draw_pairs(num_pairs: int, pool: np.ndarray, targets: np.ndarray, seed: int, split: str):
    # one stream per split (train 0, test 1 as in version 1, validation 2)
    rng = np.random.default_rng([seed, {"train": 0, "test": 1, "val": 2}[split], 0x15A3E])
    by_class = [pool[targets[pool] == c] for c in range(int(targets.max()) + 1)]
    classes = len(by_class)
    half = num_pairs // 2
    sources = np.empty((num_pairs, 2), dtype=np.int64)
    # positives: one class, two different images of it
    pos_class = rng.integers(0, classes, half)
    for i, c in enumerate(pos_class):
        sources[i] = rng.choice(by_class[c], 2, replace=False)
    # negatives: two different classes, one image each
    for i in range(half, num_pairs):
        a, b = rng.choice(classes, 2, replace=False)
        sources[i] = rng.choice(by_class[a]), rng.choice(by_class[b])
    labels = np.r_[np.ones(half, np.int64), np.zeros(half, np.int64)]
    order = rng.permutation(num_pairs)
    sources, labels = sources[order], labels[order]
    return sources, labels
