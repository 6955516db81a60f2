"""Long-range synthetic tasks for the anti-locality regulariser (docs/definitions.md §4): offline, seeded, cached.

* :func:`is_same_class` -- two sklearn digits on a blank canvas, ``distance`` pixels apart; label = same class.
* :func:`pathfinder` -- after Linsley et al. 2018: dashed snakes, two endpoint markers; label = the markers lie
  on the same snake.

Both return a :class:`TaskData` and cache what they draw as ``.npz`` under ``$RANKCORE_CACHE`` (default
``~/.cache/rankcore``), in ``cnn_data/``, keyed by every argument and a generator version string
(``IS_SAME_CLASS_VERSION`` / ``PATHFINDER_VERSION``, bumped whenever the output of a generator changes). A cache
hit returns identical arrays. A cache file is checked on load: its key, its arrays' dtypes and shapes, and (with
vectorised checks) their values -- labels in {0, 1} matching the sources' classes or the seeded draw, indices in
range and in the right split, markers on the stroke mask. One that fails is regenerated with a
:class:`CacheWarning` saying why. Files are written to a temporary name in the same folder and moved into place
with ``os.replace``, so a crash, a Ctrl-C or a concurrent writer never leaves a partial file under the final
name; a write that fails (read-only or full disk) warns and the data are still returned. ``$RANKCORE_CACHE``
naming something that is not a directory is a ValueError (see :func:`cache_dir`). Only numpy and torch are
needed, and scikit-learn for the digits (``pip install 'rankcore[cnn]'``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..io import atomic_output
from .regions import Region

__all__ = ["TaskData", "is_same_class", "pathfinder", "cache_dir", "CacheWarning", "IS_SAME_CLASS_VERSION",
           "PATHFINDER_VERSION"]

IS_SAME_CLASS_VERSION = "is-same-class/2"  # 2: a validation part of the digits
PATHFINDER_VERSION = "pathfinder/1"


@dataclass
class TaskData:
    """A binary task: ``images`` float32 ``[N, 1, H, W]``, ``labels`` float32 ``[N]`` in {0, 1}.

    ``regions``: the two object slots (left, right) of :func:`is_same_class`, ``None`` for :func:`pathfinder`.
    ``masks`` (bool ``[N, H, W]``) and ``markers`` (int64 ``[N, 2, 2]``, (row, col)) for :func:`pathfinder`.
    ``meta``: the generating arguments and the generator's constants (normalisation, geometry).
    """

    images: torch.Tensor
    labels: torch.Tensor
    regions: tuple[Region, Region] | None = None
    masks: torch.Tensor | None = None
    markers: torch.Tensor | None = None
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.shape[0])


# ----------------------------------------------------------------------------------------------------------------
# argument checks and the cache


def _int(name: str, value, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _even_count(name: str, value) -> int:
    value = _int(name, value, 2)
    if value % 2:
        raise ValueError(f"{name} must be even (labels are exactly balanced), got {value}")
    return value


class CacheWarning(RuntimeWarning):
    """A cache file was ignored (and regenerated) or could not be written; the data returned are right."""


def cache_dir() -> Path:
    """``$RANKCORE_CACHE/cnn_data`` (default ``~/.cache/rankcore/cnn_data``; an empty variable counts as unset).

    ValueError if that path, or the nearest of its parents that exists, is not a directory (say
    ``$RANKCORE_CACHE`` names a file): a cache that cannot be written is a setup error worth a clear message,
    not a silent half-hour of regenerating data on every run.
    """
    env = os.environ.get("RANKCORE_CACHE", "")
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "rankcore"
    path = root / "cnn_data"
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                origin = f"$RANKCORE_CACHE={env}" if env else "the default cache ~/.cache/rankcore"
                raise ValueError(f"{origin}: {p} is not a directory (point RANKCORE_CACHE at a directory)")
            break
    return path


def _cache_path(name: str, key: dict) -> tuple[Path, str]:
    text = json.dumps(key, sort_keys=True)
    return cache_dir() / f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:20]}.npz", text


def _cache_load(path: Path, key_text: str, spec: dict, check) -> dict | None:
    """The arrays stored at ``path``, or None (with a :class:`CacheWarning` saying why, unless the file is
    simply missing) when it does not load, holds another key, or its arrays differ from ``spec``
    (name -> (dtype, shape)) or fail ``check(arrays) -> reason or None`` (cheap, vectorised value checks)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as err:  # truncated zip, bad CRC, not a zip, unreadable...
        reason = f"it does not load ({type(err).__name__}: {err})"
    else:
        key = arrays.pop("key", None)
        if key is None:
            reason = "it has no key"
        elif key.shape != () or str(key) != key_text:
            reason = "its key is not this configuration's"
        elif set(arrays) != set(spec):
            reason = f"it holds the arrays {sorted(arrays)}, expected {sorted(spec)}"
        else:
            reason = next((f"{name} is {arrays[name].dtype} {arrays[name].shape}, expected {np.dtype(dtype)} {shape}"
                           for name, (dtype, shape) in spec.items()
                           if arrays[name].dtype != dtype or arrays[name].shape != shape), None)
            reason = reason or check(arrays)
        if reason is None:
            return arrays
    warnings.warn(f"rankcore.cnn.data: ignoring the cache file {path}: {reason}; regenerating it", CacheWarning,
                  stacklevel=3)
    return None


def _cache_store(path: Path, key_text: str, arrays: dict) -> None:
    """Write to a temporary file next to ``path``, then ``os.replace``: readers never see a partial file, and an
    interrupted write (Ctrl-C, a crash) leaves the previous file, or none. A failed write (read-only or full
    disk) only warns: the caller still returns the data."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # durable: the data reach the disk before the name does (the next run trusts the file)
        with atomic_output(path, durable=True) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, key=np.array(key_text), **arrays)
    except OSError as err:
        warnings.warn(f"rankcore.cnn.data: could not write the cache file {path} ({err}); the data are returned "
                      f"but not cached", CacheWarning, stacklevel=3)


# ----------------------------------------------------------------------------------------------------------------
# Is-Same-Class

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


# ----------------------------------------------------------------------------------------------------------------
# Pathfinder


@dataclass(frozen=True)
class PathfinderGeometry:
    """Pathfinder's drawing constants for one image size (pixel units; pixel (r, c) has its centre at (r, c)).

    Chosen at 64 px and scaled by ``s = size / 64`` (floors keep small images well formed):
    dash 3 s long, gap 2.5 s between dashes, stroke radius 0.5 s (so the anti-aliased stroke is about 2 px wide
    at 64 px), marker discs of radius 1.5 s, at most 0.6 rad of turn from one dash to the next, at least
    ``clearance`` = max(2, round(2 s)) blank pixels between distinct snakes (any direction, Chebyshev), snakes
    kept ``padding`` pixels off the border. Distractor snakes: ``max(1, round(path_length / 3))`` dashes each,
    as many as make about 12 distractor dashes per image (after Linsley et al.: 30 / (L / 3) distractors of
    length L / 3).
    """

    size: int
    dash: float
    gap: float
    stroke: float  # drawn half-width; a pixel's ink is clip(stroke + 0.5 - d, 0, 1), d = distance to the dash
    marker: float  # marker disc radius, same anti-aliasing
    max_turn: float
    clearance: int
    padding: float
    distractor_dashes: int = 12

    @property
    def reach(self) -> float:
        """Half-width of the snake's mask: every pixel with any ink is within this distance of the trace."""
        return self.stroke + 0.5

    @property
    def max_path_length(self) -> int:
        """The most dashes whose trace (``L dash + (L - 1) gap``) is at most 0.85 image widths long (longer
        snakes make the generator fail often: snake B has to start as far from A's end as A is long)."""
        return int((0.85 * self.size + self.gap) // (self.dash + self.gap))

    @property
    def marker_reach(self) -> float:
        return self.marker + 0.5

    @classmethod
    def for_size(cls, size: int) -> "PathfinderGeometry":
        s = size / 64.0
        stroke = max(0.4, 0.5 * s)
        marker = max(1.0, 1.5 * s)
        return cls(
            size=size,
            dash=max(1.5, 3.0 * s),
            gap=max(2.0 * (stroke + 0.5), 2.5 * s),
            stroke=stroke,
            marker=marker,
            max_turn=0.6,
            clearance=max(2, int(round(2 * s))),
            padding=marker + 1.0,
        )


def pathfinder(num_images: int, size: int = 64, path_length: int = 9, seed: int = 0, progress: bool = True) -> TaskData:
    """Pathfinder (after Linsley et al. 2018): do the two markers lie at the two ends of one snake?

    Every image holds two *target* snakes of ``path_length`` dashes and a few short distractor snakes (see
    :class:`PathfinderGeometry` for the constants). A snake is a polyline traced step by step: each step
    turns by at most 0.6 rad and is drawn as a dash followed by a gap. Label 1 (exactly half the images,
    shuffled): the two markers sit at the two ends of target snake A; label 0: one at an end of A, the other
    at the start of target snake B, which is grown from a point exactly as far from that end as A's two ends
    are from each other (but at least ``2 marker + clearance + 2.5`` pixels, which only binds for snakes of
    one or two dashes). The geometry is drawn before the label is used, so neither the number of long
    snakes nor the distance between the markers gives the label away (same distribution under both labels).

    ``masks`` (bool ``[N, H, W]``) are the snakes' *traces*: every pixel whose centre is within
    ``stroke + 0.5`` of a snake's polyline, the gaps between dashes included, plus the two marker discs. The
    rendered image shows the dashes only, but every pixel with ink lies inside the mask (the ink of a dash
    vanishes at distance ``stroke + 0.5``). Why the trace and not the dashes: real Pathfinder dashes have
    gaps, so the dashes alone are never connected; the trace of one snake is (a thickened curve of half-width
    > sqrt(2)/2 digitises to a 4-connected set), and distinct snakes are separated by at least ``clearance`` >= 2
    blank pixels in every direction (each snake avoids the others' masks dilated by ``clearance`` in Chebyshev
    distance). Hence a flood fill of the mask from marker 0, with 4- or 8-connectivity alike, reaches marker 1
    iff the label is 1 -- tests check it on every image.

    ``markers``: int64 ``[N, 2, 2]``, (row, col) of the pixel nearest each marker's centre (inside the mask).
    ``images``: float32 ``[N, 1, size, size]``; the ink in [0, 1] is quantised to 1/255 (cached as uint8) and
    normalised by the fixed affine ``(ink - 0.03) / 0.14`` (measured: mean -0.1..0.2, std 0.8..1.2 over
    sizes 32..150 and path lengths 3..9; the constants are in ``meta["normalisation"]``).

    Generation is seeded per image (``numpy`` Generator over ``(seed, size, path_length, image index)``), so
    it is deterministic; one process, about 2-3 ms per 64 px image with ``path_length=9`` (10,000 images in
    about 30 s on a busy 2-core machine). ``size`` >= 32; ``path_length`` at most
    :attr:`PathfinderGeometry.max_path_length` (10 at 64 px, 8 at 32 px). ``progress``: a tqdm bar (or a plain stderr
    line without tqdm) while generating; a cache hit prints nothing.
    """
    num_images = _even_count("num_images", num_images)
    size = _int("size", size, 32)
    path_length = _int("path_length", path_length, 1)
    seed = _int("seed", seed, 0)
    geo = PathfinderGeometry.for_size(size)
    if path_length > geo.max_path_length:
        raise ValueError(
            f"path_length {path_length} does not fit a {size}px image (snakes at most 0.85 image widths "
            f"long: path_length <= {geo.max_path_length} at this size)"
        )
    meta = dict(task="pathfinder", num_images=num_images, size=size, path_length=path_length, seed=seed,
                version=PATHFINDER_VERSION)
    path, key_text = _cache_path("pathfinder", {k: meta[k] for k in meta if k != "task"})
    n, h = num_images, size
    spec = {"ink": (np.uint8, (n, h, h)), "masks": (np.uint8, (n, (h * h + 7) // 8)),
            "markers": (np.int64, (n, 2, 2)), "labels": (np.int64, (n,))}
    labels_drawn = _pathfinder_labels(n, size, path_length, seed)
    cached = _cache_load(path, key_text, spec, lambda a: _check_pathfinder(a, labels_drawn))
    if cached is None:
        ink, masks, markers, labels = _generate_pathfinder(num_images, geo, path_length, seed, progress)
        packed = np.packbits(masks.reshape(n, -1), axis=1)
        _cache_store(path, key_text, {"ink": ink, "masks": packed, "markers": markers, "labels": labels})
    else:
        ink, markers, labels = cached["ink"], cached["markers"], cached["labels"]
        masks = np.unpackbits(cached["masks"], axis=1, count=h * h).reshape(n, h, h).astype(bool)
    images = (ink.astype(np.float32) / 255.0 - PATHFINDER_MEAN) / PATHFINDER_STD
    meta.update(normalisation=(PATHFINDER_MEAN, PATHFINDER_STD), geometry=asdict(geo))
    return TaskData(
        images=torch.from_numpy(images[:, None]),
        labels=torch.from_numpy(labels.astype(np.float32)),
        masks=torch.from_numpy(masks),
        markers=torch.from_numpy(markers.astype(np.int64)),
        meta=meta,
    )


PATHFINDER_MEAN = 0.03
PATHFINDER_STD = 0.14


class _Progress:
    """tqdm when installed, else one stderr line updated in place; silent when disabled."""

    def __init__(self, total: int, enabled: bool, desc: str):
        self.bar = None
        self.enabled = enabled
        self.total, self.done, self.desc = total, 0, desc
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="img", file=sys.stderr, leave=False)
        except ImportError:
            self.bar = None

    def update(self, k: int = 1) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(k)
            return
        before = self.done * 20 // self.total
        self.done += k
        if self.done * 20 // self.total != before or self.done == self.total:
            print(f"\r{self.desc}: {self.done}/{self.total}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            print(file=sys.stderr)


def _pathfinder_labels(num_images: int, size: int, path_length: int, seed: int) -> np.ndarray:
    """The labels depend on the arguments only (the images are drawn to fit them)."""
    labels = np.zeros(num_images, np.int64)
    labels[: num_images // 2] = 1
    return np.random.default_rng([seed, size, path_length, 0x9A7F]).permutation(labels)


def _check_pathfinder(a: dict, labels: np.ndarray) -> str | None:
    """Why cached Pathfinder arrays are not what the generator writes, or None. Checks everything that is
    cheap: the labels (recomputed), the markers (inside the image and on the mask), no ink off the mask."""
    if not np.array_equal(a["labels"], labels):
        return "labels that differ from the seeded draw"
    size = a["ink"].shape[1]
    markers = a["markers"]
    if markers.min() < 0 or markers.max() >= size:
        return f"markers outside the {size}x{size} image"
    masks = np.unpackbits(a["masks"], axis=1, count=size * size).reshape(-1, size, size).view(bool)
    images = np.arange(len(markers))[:, None]
    if not masks[images, markers[..., 0], markers[..., 1]].all():
        return "markers off the stroke mask"
    if np.logical_and(a["ink"], ~masks).any():  # (20x faster than a["ink"][~masks])
        return "ink outside the stroke mask"
    return None


def _generate_pathfinder(num_images: int, geo: PathfinderGeometry, path_length: int, seed: int, progress: bool):
    size = geo.size
    labels = _pathfinder_labels(num_images, size, path_length, seed)
    ink = np.empty((num_images, size, size), np.uint8)
    masks = np.empty((num_images, size, size), bool)
    markers = np.empty((num_images, 2, 2), np.int64)
    drawer = _Drawer(geo)
    bar = _Progress(num_images, progress, f"pathfinder {size}px L={path_length}")
    try:
        for i in range(num_images):
            rng = np.random.default_rng([seed, size, path_length, i])
            ink[i], masks[i], markers[i] = drawer.image(rng, path_length, bool(labels[i]))
            bar.update()
    finally:
        bar.close()
    return ink, masks, markers, labels


class _SnakeFailed(Exception):
    pass


class _Drawer:
    """Draws one Pathfinder image at a time: snakes grown step by step against an occupancy grid."""

    SNAKE_TRIES = 30  # restarts of one snake before giving up on it (the image, for a target snake)
    TURN_TRIES = 8  # candidate turns per step
    IMAGE_TRIES = 50

    def __init__(self, geo: PathfinderGeometry):
        self.geo = geo
        n = geo.size
        self.rows = np.arange(n, dtype=np.float64)[:, None]
        self.cols = np.arange(n, dtype=np.float64)[None, :]
        # two marker discs with `clearance` blank pixels between them (matters for very short snakes only)
        self.min_marker_distance = 2.0 * geo.marker_reach + geo.clearance + 1.5

    # geometry on a bounding box -----------------------------------------------------------------------------
    def _capsule(self, y0, x0, y1, x1, reach):
        """(box, d2): the pixel box around segment (y0, x0)-(y1, x1) grown by ``reach``, clipped to the image,
        and the squared distance from each of its pixel centres to the segment."""
        n = self.geo.size
        lo_y, hi_y = (y0, y1) if y0 <= y1 else (y1, y0)
        lo_x, hi_x = (x0, x1) if x0 <= x1 else (x1, x0)
        r0 = max(int(math.floor(lo_y - reach)), 0)
        r1 = min(int(math.ceil(hi_y + reach)) + 1, n)
        c0 = max(int(math.floor(lo_x - reach)), 0)
        c1 = min(int(math.ceil(hi_x + reach)) + 1, n)
        py = self.rows[r0:r1] - y0
        px = self.cols[:, c0:c1] - x0
        dy, dx = y1 - y0, x1 - x0
        ll = dy * dy + dx * dx
        if ll == 0.0:
            return (r0, r1, c0, c1), py * py + px * px
        t = py * (dy / ll) + px * (dx / ll)
        np.maximum(t, 0.0, out=t)
        np.minimum(t, 1.0, out=t)
        ey = py - t * dy
        ex = px - t * dx
        ey *= ey
        ex *= ex
        ey += ex
        return (r0, r1, c0, c1), ey

    # snakes ---------------------------------------------------------------------------------------------------
    def _snake(self, rng, dashes, forbidden, target, around=None):
        """A snake of ``dashes`` steps avoiding ``forbidden``: (points [dashes + 1, 2], [(box, mask)] per step).

        ``around = (y, x, radius)``: the snake starts on that circle. A step may not come within 1.5 pixels of
        the mask of the snake's own steps before the previous two (no self-contact).
        """
        geo = self.geo
        reach2 = geo.reach**2
        own_reach = geo.reach + 1.5
        own_reach2 = own_reach**2
        marker_reach, marker2 = geo.marker_reach, geo.marker_reach**2
        lo, hi = geo.padding, geo.size - 1 - geo.padding
        for _ in range(self.SNAKE_TRIES):
            if around is None:
                y, x = rng.uniform(lo, hi, 2)
            else:
                phi = rng.uniform(0.0, 2.0 * math.pi)
                y, x = around[0] + around[2] * math.sin(phi), around[1] + around[2] * math.cos(phi)
                if not (lo <= y <= hi and lo <= x <= hi):
                    continue
            if target:
                (r0, r1, c0, c1), d2 = self._capsule(y, x, y, x, marker_reach)
                if forbidden[r0:r1, c0:c1][d2 <= marker2].any():
                    continue
            own = np.zeros_like(forbidden)  # this snake's steps up to k - 3
            points = [(y, x)]
            steps = []
            theta = 0.0
            for k in range(dashes):
                length = geo.dash if k == 0 else geo.dash + geo.gap
                for _try in range(self.TURN_TRIES):
                    th = rng.uniform(0.0, 2.0 * math.pi) if k == 0 else theta + rng.uniform(-geo.max_turn, geo.max_turn)
                    ny, nx = y + length * math.sin(th), x + length * math.cos(th)
                    if not (lo <= ny <= hi and lo <= nx <= hi):
                        continue
                    # cheap exact pre-check: the pixel nearest a point of the segment is within sqrt(2)/2 < reach
                    # of it, so a forbidden one there means a collision
                    hit = False
                    for f in (1.0, 0.5, 0.25, 0.75):
                        py, px = int(y + f * (ny - y) + 0.5), int(x + f * (nx - x) + 0.5)
                        if forbidden[py, px] or own[py, px]:
                            hit = True
                            break
                    if hit:
                        continue
                    box, d2 = self._capsule(y, x, ny, nx, own_reach)
                    r0, r1, c0, c1 = box
                    m = d2 <= reach2
                    if forbidden[r0:r1, c0:c1][m].any() or (k >= 3 and own[r0:r1, c0:c1][d2 <= own_reach2].any()):
                        continue
                    if target and k == dashes - 1:
                        (e0, e1, f0, f1), e2 = self._capsule(ny, nx, ny, nx, marker_reach)
                        if forbidden[e0:e1, f0:f1][e2 <= marker2].any():
                            continue
                    break
                else:
                    break  # stuck: restart the snake
                steps.append((box, m))
                points.append((ny, nx))
                y, x, theta = ny, nx, th
                if k >= 2:
                    (r0, r1, c0, c1), m2 = steps[k - 2]
                    own[r0:r1, c0:c1] |= m2
            else:
                return np.array(points), steps
        raise _SnakeFailed

    def _mark(self, grid, points, steps, target):
        for (r0, r1, c0, c1), m in steps:
            grid[r0:r1, c0:c1] |= m
        if target:
            for y, x in (points[0], points[-1]):
                (r0, r1, c0, c1), d2 = self._capsule(y, x, y, x, self.geo.marker_reach)
                grid[r0:r1, c0:c1] |= d2 <= self.geo.marker_reach**2

    def image(self, rng, path_length: int, positive: bool):
        geo = self.geo
        n = geo.size
        for _ in range(self.IMAGE_TRIES):
            forbidden = np.zeros((n, n), bool)
            snakes = []
            end = int(rng.integers(2))  # the end of snake A that a negative's marker uses
            try:
                for t in range(2):
                    around = None
                    if t == 1:  # B starts as far from A's chosen end as A's two ends are from each other
                        a = snakes[0][0]
                        radius = max(float(np.hypot(*(a[-1] - a[0]))), self.min_marker_distance)
                        around = (a[-end][0], a[-end][1], radius)
                    pts, steps = self._snake(rng, path_length, forbidden, True, around)
                    occupied = np.zeros((n, n), bool)
                    self._mark(occupied, pts, steps, True)
                    forbidden |= _dilate(occupied, geo.clearance)
                    snakes.append((pts, steps))
            except _SnakeFailed:
                continue
            break
        else:
            raise RuntimeError(
                f"pathfinder could not place two snakes of {path_length} dashes on a {n}px image in "
                f"{self.IMAGE_TRIES} tries: use a smaller path_length or a larger size"
            )
        distractor_len = max(1, int(round(path_length / 3)))
        distractors = []
        for _ in range(max(1, int(round(geo.distractor_dashes / distractor_len)))):
            try:
                pts, steps = self._snake(rng, distractor_len, forbidden, False)
            except _SnakeFailed:
                continue  # a crowded image gets one distractor fewer
            occupied = np.zeros((n, n), bool)
            self._mark(occupied, pts, steps, False)
            forbidden |= _dilate(occupied, geo.clearance)
            distractors.append((pts, steps))

        # markers
        # positive: both ends of A; negative: A's chosen end and B's start, at the same distance by construction
        (a, _), (b, _) = snakes
        pair = [a[0], a[-1]] if positive else [a[-end], b[0]]
        if rng.integers(2):
            pair = pair[::-1]

        # render: trace masks, dash ink, marker discs
        mask = np.zeros((n, n), bool)
        ink = np.zeros((n, n), np.float64)
        for pts, steps in snakes + distractors:
            for k, ((r0, r1, c0, c1), m) in enumerate(steps):
                mask[r0:r1, c0:c1] |= m
                (y0, x0), (y1, x1) = pts[k], pts[k + 1]
                if k > 0:  # the step is gap then dash: the dash is its last `dash` units
                    f = geo.gap / (geo.gap + geo.dash)
                    y0, x0 = y0 + f * (y1 - y0), x0 + f * (x1 - x0)
                box, d2 = self._capsule(y0, x0, y1, x1, geo.reach)
                sub = ink[box[0] : box[1], box[2] : box[3]]
                np.maximum(sub, np.clip(geo.reach - np.sqrt(d2), 0.0, 1.0), out=sub)
        marks = np.empty((2, 2), np.int64)
        for k, (y, x) in enumerate(pair):
            box, d2 = self._capsule(y, x, y, x, geo.marker_reach)
            mask[box[0] : box[1], box[2] : box[3]] |= d2 <= geo.marker_reach**2
            sub = ink[box[0] : box[1], box[2] : box[3]]
            np.maximum(sub, np.clip(geo.marker_reach - np.sqrt(d2), 0.0, 1.0), out=sub)
            marks[k] = int(round(y)), int(round(x))
        return np.rint(ink * 255.0).astype(np.uint8), mask, marks


def _dilate(grid, radius):
    """Binary dilation by a (2 radius + 1)^2 square (Chebyshev ball), separably."""
    tmp = grid.copy()
    for s in range(1, radius + 1):
        tmp[s:] |= grid[:-s]
        tmp[:-s] |= grid[s:]
    out = tmp.copy()
    for s in range(1, radius + 1):
        out[:, s:] |= tmp[:, :-s]
        out[:, :-s] |= tmp[:, s:]
    return out
