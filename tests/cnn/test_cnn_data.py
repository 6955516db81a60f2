"""rankcore.cnn.data: the long-range tasks (Is-Same-Class, Pathfinder) are seeded, balanced, cached and right.

The labels are checked independently of the generators' bookkeeping: Is-Same-Class objects are recovered by
matching each slot against the digits upsampled here, Pathfinder labels by a flood fill of the stroke mask.
"""

import errno
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from rankcore.cnn import data
from rankcore.cnn.regions import Region

ndimage = pytest.importorskip("scipy.ndimage")

EIGHT = np.ones((3, 3), bool)  # 8-connectivity
FOUR = ndimage.generate_binary_structure(2, 1)  # 4-connectivity


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "cnn_data"


def _same(a: data.TaskData, b: data.TaskData) -> bool:
    fields = ("images", "labels", "masks", "markers")
    return all(
        (getattr(a, f) is None and getattr(b, f) is None) or torch.equal(getattr(a, f), getattr(b, f))
        for f in fields
    ) and a.regions == b.regions


# ----------------------------------------------------------------------------------------------------------------
# Is-Same-Class


@pytest.fixture(scope="module")
def digits():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    d = sklearn_datasets.load_digits()
    return d.images.astype(np.float32) / 16.0, d.target


def _recover(task: data.TaskData, digits, object_size: int) -> np.ndarray:
    """load_digits index of each (pair, slot), by correlation with the digits upsampled here."""
    images, _ = digits
    up = torch.nn.functional.interpolate(
        torch.from_numpy(images)[:, None], size=(object_size, object_size), mode="bilinear", align_corners=False
    )[:, 0].reshape(len(images), -1).numpy().astype(np.float64)
    up = (up - up.mean(1, keepdims=True)) / np.linalg.norm(up - up.mean(1, keepdims=True), axis=1, keepdims=True)
    found = np.empty((len(task), 2), np.int64)
    for s, region in enumerate(task.regions):
        rows, cols = region.slices()
        x = task.images[:, 0, rows, cols].reshape(len(task), -1).numpy().astype(np.float64)
        x = (x - x.mean(1, keepdims=True)) / np.linalg.norm(x - x.mean(1, keepdims=True), axis=1, keepdims=True)
        corr = x @ up.T
        found[:, s] = corr.argmax(1)
        best = np.sort(corr, axis=1)[:, -2:]
        assert (best[:, 1] > 1 - 1e-6).all() and (best[:, 0] < 0.999).all()  # one exact match each
    return found


@pytest.mark.parametrize("canvas, distance, size", [(48, 6, 12), ((40, 60), 0, 16), (64, 31, 16)])
def test_is_same_class_layout_labels_and_balance(digits, canvas, distance, size):
    task = data.is_same_class(60, canvas=canvas, distance=distance, object_size=size, seed=1)
    h, w = (canvas, canvas) if isinstance(canvas, int) else canvas
    assert task.images.shape == (60, 1, h, w) and task.images.dtype == torch.float32
    assert task.labels.dtype == torch.float32 and len(task) == 60
    assert task.labels.sum().item() == 30 and set(task.labels.tolist()) == {0.0, 1.0}

    left, right = task.regions
    assert isinstance(left, Region) and left.height == left.width == right.height == right.width == size
    assert left.top == right.top == (h - size) // 2
    assert right.left - left.right == distance  # the gap between the objects
    assert abs(left.left - (w - right.right)) <= 1  # the pair centred horizontally
    outside = torch.ones(h, w, dtype=torch.bool)
    for r in task.regions:
        outside[r.slices()] = False
    assert (task.images[:, 0, outside] == 0).all()  # blank canvas

    found = _recover(task, digits, size)
    classes = digits[1][found]
    assert (found[:, 0] != found[:, 1]).all()
    assert np.array_equal(task.labels.numpy() == 1, classes[:, 0] == classes[:, 1])
    assert np.array_equal(found, task.meta["sources"])  # the bookkeeping agrees with what is drawn


def test_is_same_class_train_validation_and_test_use_disjoint_digits(digits):
    train = data.is_same_class(300, canvas=32, object_size=8, split="train")
    val = data.is_same_class(300, canvas=32, object_size=8, split="val")
    test = data.is_same_class(300, canvas=32, object_size=8, split="test")
    a, v, b = (set(_recover(d, digits, 8).ravel()) for d in (train, val, test))  # what the images show
    assert not a & b and not a & v and not v & b and len(a) > 200 and len(b) > 200 and len(v) > 150
    split = data.digit_split(digits[1])
    assert a <= set(split["train"]) and v <= set(split["val"]) and b <= set(split["test"])
    assert [len(split[k]) for k in ("train", "val", "test")] == [808, 270, 719]
    assert len(set(split["train"]) | set(split["val"]) | set(split["test"])) == len(digits[1])
    for c in range(10):  # stratified: every class in every part
        assert all((digits[1][split[k]] == c).sum() >= 20 for k in split)


def test_digit_split_keeps_version_1_test_part(digits):
    """Validation was carved out of the old train part: the test digits are those of the 60/40 split."""
    rng = np.random.default_rng(20220721)
    old_test = []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(digits[1] == c))
        old_test.append(idx[int(round(0.6 * len(idx))):])
    assert np.array_equal(np.sort(np.concatenate(old_test)), data.digit_split(digits[1])["test"])


def test_is_same_class_is_seeded_and_cached(cache):
    a = data.is_same_class(20, canvas=40, distance=4, object_size=12, seed=5)
    files = list(cache.glob("is_same_class-*.npz"))
    assert len(files) == 1
    b = data.is_same_class(20, canvas=40, distance=4, object_size=12, seed=5)  # cache hit
    assert _same(a, b)
    files[0].unlink()
    assert _same(a, data.is_same_class(20, canvas=40, distance=4, object_size=12, seed=5))  # regenerated
    c = data.is_same_class(20, canvas=40, distance=4, object_size=12, seed=6)
    assert not torch.equal(a.images, c.images)
    assert len(list(cache.glob("is_same_class-*.npz"))) == 2


# ----------------------------------------------------------------------------------------------------------------
# Pathfinder


def _ink(task):
    mean, std = task.meta["normalisation"]
    return task.images[:, 0].numpy() * std + mean


def _disc(shape, centre, radius):
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2


@pytest.mark.parametrize("size, length, seed", [(64, 9, 0), (64, 3, 1), (48, 6, 2), (32, 4, 3), (40, 1, 4)])
def test_pathfinder_label_is_the_flood_fill_of_the_mask(size, length, seed):
    n = 80
    task = data.pathfinder(n, size=size, path_length=length, seed=seed, progress=False)
    assert task.images.shape == (n, 1, size, size) and task.images.dtype == torch.float32
    assert task.masks.shape == (n, size, size) and task.masks.dtype == torch.bool
    assert task.markers.shape == (n, 2, 2) and task.regions is None
    assert task.labels.sum().item() == n // 2
    ink, masks, markers = _ink(task), task.masks.numpy(), task.markers.numpy()
    reach = task.meta["geometry"]["marker"] + 0.5
    for i in range(n):
        mask, (m0, m1), label = masks[i], markers[i], task.labels[i].item()
        assert ink[i][~mask].max() < 0.5 / 255  # every pixel with ink lies inside the mask
        assert ink[i][tuple(m0)] > 0.75 and ink[i][tuple(m1)] > 0.75  # markers are drawn where reported
        for structure in (EIGHT, FOUR):  # the trace of one snake is connected even 4-wise; snakes never touch
            lab, count = ndimage.label(mask, structure)
            assert lab[tuple(m0)] and lab[tuple(m1)]
            assert (lab[tuple(m0)] == lab[tuple(m1)]) == (label == 1), (i, label)
        assert count >= 3  # two target snakes and at least one distractor
        # at least two blank pixels (Chebyshev) between distinct snakes
        lab, count = ndimage.label(mask, EIGHT)
        for c in range(1, count + 1):
            grown = ndimage.binary_dilation(lab == c, np.ones((5, 5), bool))
            assert not (grown & mask & (lab != c)).any()
        # markers sit at snake ends: cutting a disc around one leaves the rest of its snake in one piece
        for m in (m0, m1) if length >= 3 else ():  # (shorter snakes are hardly longer than the disc)
            snake = lab == lab[tuple(m)]
            rest = snake & ~_disc(mask.shape, m, reach + 1.5)
            assert ndimage.label(rest, EIGHT)[1] <= 1, (i, m)


def test_pathfinder_is_seeded_cached_and_survives_a_corrupt_cache(cache, tmp_path, monkeypatch):
    a = data.pathfinder(10, size=32, path_length=4, seed=7, progress=False)
    (path,) = cache.glob("pathfinder-*.npz")
    b = data.pathfinder(10, size=32, path_length=4, seed=7, progress=False)  # cache hit
    assert _same(a, b)
    for damage in (b"not a zip file", path.read_bytes()[:200]):  # garbage, a truncated write
        path.write_bytes(damage)
        with pytest.warns(data.CacheWarning, match="does not load"):
            assert _same(a, data.pathfinder(10, size=32, path_length=4, seed=7, progress=False))
        with np.load(path) as z:  # rewritten whole
            assert z["ink"].shape == (10, 32, 32)
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "elsewhere"))  # same arrays without any cache
    assert _same(a, data.pathfinder(10, size=32, path_length=4, seed=7, progress=False))
    c = data.pathfinder(10, size=32, path_length=4, seed=8, progress=False)
    assert not torch.equal(a.images, c.images)
    assert not any(p.name.endswith(".tmp") or ".tmp" in p.name for p in cache.iterdir())


def test_pathfinder_progress_bar(capsys, monkeypatch):
    data.pathfinder(4, size=32, path_length=2, seed=0, progress=False)
    assert capsys.readouterr().err == ""
    data.pathfinder(4, size=32, path_length=2, seed=1, progress=True)
    assert "pathfinder" in capsys.readouterr().err
    data.pathfinder(4, size=32, path_length=2, seed=1, progress=True)  # cache hit: silent
    assert capsys.readouterr().err == ""
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # without tqdm: a plain line
    data.pathfinder(4, size=32, path_length=2, seed=2, progress=True)
    assert "4/4" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------------------
# bad arguments


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(num_pairs=3), ValueError, "even"),
        (dict(num_pairs=0), ValueError, ">= 2"),
        (dict(num_pairs=4.0), TypeError, "int"),
        (dict(num_pairs=True), TypeError, "int"),
        (dict(num_pairs=4, canvas=40), ValueError, "canvas"),  # 2 * 16 + 10 > 40
        (dict(num_pairs=4, canvas=(12, 64)), ValueError, "canvas"),  # object taller than the canvas
        (dict(num_pairs=4, canvas=(32, 64, 3)), ValueError, "canvas"),
        (dict(num_pairs=4, canvas=-5), ValueError, "canvas"),
        (dict(num_pairs=4, distance=-1), ValueError, "distance"),
        (dict(num_pairs=4, object_size=0), ValueError, "object_size"),
        (dict(num_pairs=4, split="valid"), ValueError, "split"),
        (dict(num_pairs=4, seed="0"), TypeError, "seed"),
        (dict(num_pairs=4, seed=-1), ValueError, "seed"),
    ],
)
def test_is_same_class_rejects_bad_arguments(kwargs, error, match):
    kwargs.setdefault("distance", 10)
    with pytest.raises(error, match=match):
        data.is_same_class(**kwargs)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(num_images=5), ValueError, "even"),
        (dict(num_images=-2), ValueError, ">= 2"),
        (dict(num_images=4, size=24), ValueError, "size"),
        (dict(num_images=4, size=64.0), TypeError, "size"),
        (dict(num_images=4, path_length=0), ValueError, "path_length"),
        (dict(num_images=4, path_length=2.5), TypeError, "path_length"),
        (dict(num_images=4, seed=None), TypeError, "seed"),
        (dict(num_images=4, seed=-3), ValueError, "seed"),
        (dict(num_images=2, size=32, path_length=40), ValueError, "path_length"),  # cannot fit
    ],
)
def test_pathfinder_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        data.pathfinder(progress=False, **kwargs)


# ----------------------------------------------------------------------------------------------------------------
# the cache: values checked on load, atomic writes, failed writes, a cache path that is not a directory


def _rewrite(path, change):
    """Apply ``change`` to the arrays of a cache file (its key kept) and write it back."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    np.savez(path, **arrays)


def _set(name, index, value):
    def change(a):
        a[name][index] = value
    return change


def _retype(name, dtype, poison=None):
    def change(a):
        a[name] = a[name].astype(dtype)
        if poison is not None:
            a[name].flat[0] = poison
    return change


def _flip_two_labels(a):
    # one positive and one negative swapped: still balanced, so only the labels' meaning is wrong
    labels = a["labels"]
    i, j = np.flatnonzero(labels == 1)[0], np.flatnonzero(labels == 0)[0]
    labels[i], labels[j] = 0, 1


def _same_digit_twice(a):
    i = np.flatnonzero(a["labels"] == 1)[0]  # a positive stays of one class with the same image twice
    a["sources"][i, 1] = a["sources"][i, 0]


def _other_split_same_class(a):
    d = pytest.importorskip("sklearn.datasets").load_digits()
    test_part = data.digit_split(d.target)["test"]
    c = d.target[a["sources"][0, 0]]
    a["sources"][0, 0] = test_part[d.target[test_part] == c][0]  # same class, so the label still matches


def _drop(name):
    def change(a):
        del a[name]
    return change


ISC = dict(num_pairs=12, canvas=24, distance=4, object_size=8, seed=2)

IS_SAME_CORRUPTIONS = {
    "label 2": _set("labels", 0, 2),
    "label -1": _set("labels", 1, -1),
    "labels not the classes": _flip_two_labels,
    "negative source": _set("sources", (0, 0), -1),
    "source out of range": _set("sources", (0, 1), 1797),
    "source from the other split": _other_split_same_class,
    "same image twice": _same_digit_twice,
    "float labels with NaN": _retype("labels", np.float64, np.nan),
    "float sources": _retype("sources", np.float64),
    "int32 sources": _retype("sources", np.int32),
    "labels missing": _drop("labels"),
    "key missing": _drop("key"),
}


@pytest.mark.parametrize("corruption", list(IS_SAME_CORRUPTIONS))
def test_is_same_class_regenerates_a_cache_with_wrong_values(cache, tmp_path, monkeypatch, corruption):
    fresh = data.is_same_class(**ISC)
    (path,) = cache.glob("is_same_class-*.npz")
    _rewrite(path, IS_SAME_CORRUPTIONS[corruption])
    with pytest.warns(data.CacheWarning, match="ignoring the cache file"):
        again = data.is_same_class(**ISC)
    assert _same(fresh, again)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the file was rewritten right: a clean hit now
        assert _same(fresh, data.is_same_class(**ISC))
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "elsewhere"))
    assert _same(fresh, data.is_same_class(**ISC))  # and equal to a draw without any cache


def _move_marker_off_the_mask(a):
    size = a["ink"].shape[1]
    mask = np.unpackbits(a["masks"][0], count=size * size).reshape(size, size)
    a["markers"][0, 0] = np.argwhere(mask == 0)[0]


def _ink_off_the_mask(a):
    size = a["ink"].shape[1]
    mask = np.unpackbits(a["masks"][0], count=size * size).reshape(size, size)
    r, c = np.argwhere(mask == 0)[0]
    a["ink"][0, r, c] = 255


PF = dict(num_images=10, size=32, path_length=4, seed=9, progress=False)

PATHFINDER_CORRUPTIONS = {
    "label 2": _set("labels", 0, 2),
    "labels flipped": _flip_two_labels,
    "negative marker": _set("markers", (0, 0, 0), -1),
    "marker out of the image": _set("markers", (1, 1, 1), 32),
    "marker off the mask": _move_marker_off_the_mask,
    "ink off the mask": _ink_off_the_mask,
    "float ink with NaN": _retype("ink", np.float32, np.nan),
    "float ink out of range": _retype("ink", np.float64, 1e6),
    "bool masks": _retype("masks", bool),
    "float labels": _retype("labels", np.float32),
    "markers missing": _drop("markers"),
}


@pytest.mark.parametrize("corruption", list(PATHFINDER_CORRUPTIONS))
def test_pathfinder_regenerates_a_cache_with_wrong_values(cache, tmp_path, monkeypatch, corruption):
    fresh = data.pathfinder(**PF)
    (path,) = cache.glob("pathfinder-*.npz")
    _rewrite(path, PATHFINDER_CORRUPTIONS[corruption])
    with pytest.warns(data.CacheWarning, match="ignoring the cache file"):
        again = data.pathfinder(**PF)
    assert _same(fresh, again)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _same(fresh, data.pathfinder(**PF))
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "elsewhere"))
    assert _same(fresh, data.pathfinder(**PF))


def test_a_failed_cache_write_warns_and_returns_the_data(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("RANKCORE_CACHE", str(tmp_path / "reference"))
    expected = data.pathfinder(**PF), data.is_same_class(**ISC)
    monkeypatch.setenv("RANKCORE_CACHE", str(cache.parent))

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", disk_full)
    with pytest.warns(data.CacheWarning, match="could not write the cache file.*No space left"):
        got = data.pathfinder(**PF)
    with pytest.warns(data.CacheWarning, match="could not write the cache file"):
        got = got, data.is_same_class(**ISC)
    assert all(_same(a, b) for a, b in zip(expected, got))
    assert list(cache.iterdir()) == []  # nothing half-written left behind


def test_an_interrupted_cache_write_leaves_no_file(cache, monkeypatch):
    real = np.savez_compressed

    def interrupted(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")  # what a Ctrl-C mid-write leaves in the file
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        data.pathfinder(**PF)
    assert list(cache.iterdir()) == []  # neither a truncated cache file nor a temporary one
    monkeypatch.setattr(np, "savez_compressed", real)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the next run starts clean
        data.pathfinder(**PF)
    assert [p.suffix for p in cache.iterdir()] == [".npz"]


def test_cache_files_are_moved_into_place_from_the_same_folder(cache, monkeypatch):
    moves = []
    real = os.replace

    def replace(src, dst):
        moves.append((Path(src), Path(dst)))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    data.is_same_class(**ISC)
    (path,) = cache.glob("is_same_class-*.npz")
    path.write_bytes(b"garbage")
    with pytest.warns(data.CacheWarning, match="does not load"):
        data.is_same_class(**ISC)  # regenerated over the bad file, again through os.replace
    assert [dst for _, dst in moves] == [path, path]
    assert all(src.parent == path.parent and src != path for src, _ in moves)


def test_cache_that_is_not_a_directory_is_a_clear_error(tmp_path, monkeypatch):
    not_a_dir = tmp_path / "cache-file"
    not_a_dir.write_text("")
    for value in (not_a_dir, not_a_dir / "below"):
        monkeypatch.setenv("RANKCORE_CACHE", str(value))
        for call in (lambda: data.is_same_class(**ISC), lambda: data.pathfinder(**PF)):
            with pytest.raises(ValueError, match="RANKCORE_CACHE") as info:
                call()
            assert str(not_a_dir) in str(info.value) and "\n" not in str(info.value)
    monkeypatch.setenv("RANKCORE_CACHE", "")  # empty: the default, not the working directory
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.cache_dir() == tmp_path / "home" / ".cache" / "rankcore" / "cnn_data"


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(RuntimeError, match=r"pip install 'rankcore\[cnn\]'"):
        data.is_same_class(**ISC)
