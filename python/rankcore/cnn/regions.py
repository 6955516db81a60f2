"""Image regions for the anti-locality regulariser (definitions §4) and the samplers that pick them.

A :class:`Region` is a half-open pixel rectangle ``[top, top + height) x [left, left + width)`` taken over
all channels. A *sampler* is any callable ``sampler(image_height, image_width, generator) -> (I, J)`` that
returns two disjoint regions inside the image; the regulariser calls it once per batch. Two are provided:

* :class:`SlotPairSampler` -- two fixed slots (Is-Same-Class: the two object positions), which one is ``I``
  chosen at random per batch;
* :class:`DistantSquaresSampler` -- ``I`` a uniformly random square, ``J`` a uniformly random square of the
  same side at least ``min_distance`` pixels away (Pathfinder).

Randomness comes from an optional ``torch.Generator``, so a seeded generator reproduces the regions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def _check_int(name: str, value, minimum: int) -> None:
    # bool is an int subclass; a True height is a bug, not a 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


@dataclass(frozen=True)
class Region:
    """Half-open pixel rectangle ``rows [top, top + height) x columns [left, left + width)``, all channels."""

    top: int
    left: int
    height: int
    width: int

    def __post_init__(self):
        _check_int("Region.top", self.top, 0)
        _check_int("Region.left", self.left, 0)
        _check_int("Region.height", self.height, 1)
        _check_int("Region.width", self.width, 1)

    @property
    def bottom(self) -> int:
        """One past the last row."""
        return self.top + self.height

    @property
    def right(self) -> int:
        """One past the last column."""
        return self.left + self.width

    def slices(self) -> tuple[slice, slice]:
        """(row slice, column slice): ``x[..., rows, cols]`` is the region of an image tensor."""
        return slice(self.top, self.bottom), slice(self.left, self.right)

    def overlaps(self, other: Region) -> bool:
        """True when the two rectangles share at least one pixel (touching edges do not overlap)."""
        return (self.top < other.bottom and other.top < self.bottom
                and self.left < other.right and other.left < self.right)

    def distance(self, other: Region) -> float:
        """Euclidean distance between the rectangles' closest points; 0 if they touch or overlap.

        Pixels are unit squares, so two regions with ``k`` pixel columns between them (same rows) are ``k``
        apart, and diagonal gaps combine as ``hypot(row gap, column gap)``.
        """
        row_gap = max(0, other.top - self.bottom, self.top - other.bottom)
        col_gap = max(0, other.left - self.right, self.left - other.right)
        return math.hypot(row_gap, col_gap)

    def check_inside(self, height: int, width: int) -> None:
        """Raise ValueError unless the region lies inside a ``height x width`` image."""
        if self.bottom > height or self.right > width:
            raise ValueError(f"{self} does not fit inside a {height}x{width} image "
                             f"(needs rows < {self.bottom} and columns < {self.right})")


def check_region_pair(first: Region, second: Region) -> None:
    for name, region in (("I", first), ("J", second)):
        if not isinstance(region, Region):
            raise TypeError(f"region {name} must be a rankcore.cnn.Region, got {type(region).__name__}")
    if first.overlaps(second):
        raise ValueError(f"regions I and J must be disjoint, got I={first} and J={second}")


class SlotPairSampler:
    """Two fixed, disjoint slots; per call one of them (uniformly at random) is ``I`` and the other ``J``."""

    def __init__(self, slot_a: Region, slot_b: Region):
        check_region_pair(slot_a, slot_b)
        self.slot_a, self.slot_b = slot_a, slot_b

    def __call__(self, image_height: int, image_width: int,
                 generator: torch.Generator | None = None) -> tuple[Region, Region]:
        self.slot_a.check_inside(image_height, image_width)
        self.slot_b.check_inside(image_height, image_width)
        if torch.randint(2, (1,), generator=generator).item():
            return self.slot_b, self.slot_a
        return self.slot_a, self.slot_b

    def __repr__(self):
        return f"SlotPairSampler({self.slot_a}, {self.slot_b})"


class DistantSquaresSampler:
    """``I`` a random ``patch x patch`` square, ``J`` a random square of the same side at distance >= ``min_distance``.

    Sampling is exact, not trial and error: every candidate position is enumerated. ``I`` is uniform over the
    positions that have at least one valid partner (all of them when the image is large enough), ``J`` uniform
    over the valid partners of ``I``. ``J`` never overlaps ``I``, even with ``min_distance == 0`` (touching is
    allowed then). Distances are :meth:`Region.distance`. If no pair fits the image, ValueError says so.
    """

    def __init__(self, patch: int, min_distance: float):
        _check_int("patch", patch, 1)
        if isinstance(min_distance, bool) or not isinstance(min_distance, (int, float)):
            raise TypeError(f"min_distance must be a number, got {type(min_distance).__name__}")
        if not (math.isfinite(min_distance) and min_distance >= 0):
            raise ValueError(f"min_distance must be finite and >= 0, got {min_distance}")
        self.patch, self.min_distance = patch, float(min_distance)

    def _valid(self, row_diff: torch.Tensor, col_diff: torch.Tensor) -> torch.Tensor:
        """Which offsets (row_diff [R, 1], col_diff [1, C] between top-left corners) make a valid pair."""
        row_gap = (row_diff.abs() - self.patch).clamp_min(0).double()
        col_gap = (col_diff.abs() - self.patch).clamp_min(0).double()
        overlap = (row_diff.abs() < self.patch) & (col_diff.abs() < self.patch)
        return (row_gap ** 2 + col_gap ** 2 >= self.min_distance ** 2) & ~overlap

    def __call__(self, image_height: int, image_width: int,
                 generator: torch.Generator | None = None) -> tuple[Region, Region]:
        _check_int("image_height", image_height, 1)
        _check_int("image_width", image_width, 1)
        if self.patch > min(image_height, image_width):
            raise ValueError(f"patch {self.patch} does not fit inside a {image_height}x{image_width} image")
        rows = torch.arange(image_height - self.patch + 1)
        cols = torch.arange(image_width - self.patch + 1)
        # I has a partner iff the farthest placement of J (a corner: largest row and column offsets) is valid,
        # because validity only grows with either offset. O(positions) memory, not O(positions^2).
        far_row = torch.maximum(rows, rows[-1] - rows)[:, None]
        far_col = torch.maximum(cols, cols[-1] - cols)[None, :]
        has_partner = self._valid(far_row, far_col)
        if not bool(has_partner.any()):
            raise ValueError(f"no two {self.patch}x{self.patch} squares at distance >= {self.min_distance} fit inside "
                             f"a {image_height}x{image_width} image")
        ti, li = self._pick(has_partner, generator)
        tj, lj = self._pick(self._valid((rows - ti)[:, None], (cols - li)[None, :]), generator)
        return Region(ti, li, self.patch, self.patch), Region(tj, lj, self.patch, self.patch)

    @staticmethod
    def _pick(mask: torch.Tensor, generator) -> tuple[int, int]:
        """A uniformly random (row, column) among the True entries of a 2D mask."""
        candidates = mask.nonzero()
        k = torch.randint(candidates.shape[0], (1,), generator=generator).item()
        return int(candidates[k, 0]), int(candidates[k, 1])

    def __repr__(self):
        return f"DistantSquaresSampler(patch={self.patch}, min_distance={self.min_distance})"
