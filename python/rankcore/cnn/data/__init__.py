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

from .cache import CacheWarning, cache_dir
from .is_same import SPLIT_FRACTIONS, SPLITS, digit_split, is_same_class, upsample_digits
from .pathfinder import PATHFINDER_MEAN, PATHFINDER_STD, PathfinderGeometry, pathfinder
from .task import IS_SAME_CLASS_VERSION, PATHFINDER_VERSION, TaskData

__all__ = ["TaskData", "is_same_class", "pathfinder", "cache_dir", "CacheWarning", "IS_SAME_CLASS_VERSION",
           "PATHFINDER_VERSION", "PATHFINDER_MEAN", "PATHFINDER_STD", "PathfinderGeometry", "SPLITS", "SPLIT_FRACTIONS",
           "digit_split", "upsample_digits"]
