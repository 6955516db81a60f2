"""The CNN half (definitions §4): the anti-locality regulariser, a ResNet-18 of any width, the long-range
synthetic tasks.

* :class:`AntiLocalityRegularizer` / :func:`anti_locality_penalty`: the penalty R (one forward over [x; x~],
  one double backward; ``form="cosine"``, the published mean |cos|, or ``form="angle"``, rankcore's variant with
  a non-zero slope at R = 1), :func:`swap_region`, :func:`train_step`;
* :class:`Region` and the samplers :class:`SlotPairSampler` (Is-Same-Class) and :class:`DistantSquaresSampler`
  (Pathfinder);
* :func:`resnet18` / :class:`ResNet`;
* :mod:`rankcore.cnn.data` (Is-Same-Class, Pathfinder), loaded on first use.
"""

from .regions import DistantSquaresSampler, Region, SlotPairSampler
from .regularizer import AntiLocalityRegularizer, PenaltyResult, anti_locality_penalty, swap_region, train_step
from .resnet import ResNet, resnet18


def __getattr__(name):
    # The data sets are not needed to train or regularise a model: import them on first use.
    if name == "data":
        import importlib

        return importlib.import_module(".data", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AntiLocalityRegularizer", "DistantSquaresSampler", "PenaltyResult", "Region", "ResNet", "SlotPairSampler",
           "anti_locality_penalty", "data", "resnet18", "swap_region", "train_step"]
