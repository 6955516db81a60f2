"""Pathfinder (after Linsley et al. 2018): dashed snakes, two endpoint markers; label = the markers lie on the same
snake."""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .cache import _cache_load, _cache_path, _cache_store
from .task import PATHFINDER_VERSION, TaskData, _even_count, _int

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
    turns by at most 0.6 rad and is drawn as a dash followed by a gap. Label 1 (exactly half the images of
    one draw, shuffled: a split cut from the draw is about half, e.g. 48-52% in the experiment's test sets): the
    two markers sit at the two ends of target snake A; label 0: one at an end of A, the other at the start of
    target snake B, which is grown from a point exactly as far from that end as A's two ends are from each other
    (but at least ``2 marker + clearance + 2.5`` pixels, which only binds for snakes of one or two dashes). The
    geometry is drawn before the label is used, so neither the number of long snakes nor the distance between the
    markers gives the label away (same distribution under both labels).

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
