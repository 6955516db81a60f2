"""rankcore: walk counting, walk index and Walk Index Sparsification for GNNs, and tensor factorizations
with their implicit low-rank bias, as fast PyTorch custom ops (C++ / CUDA).

Graph API (see definitions §2): :func:`count_walks`, :func:`boundary`, :func:`walk_index`, :func:`wis`,
:func:`sparsify` (every sparsifier), :mod:`rankcore.pyg` (torch_geometric transforms, loaded lazily), and the
:class:`Graph` container that validates and normalises every accepted graph format once.

Tensor API (definitions §3): :func:`cp_eval` (the fused CP evaluation op) and :mod:`rankcore.tensor`
(CP factorization module, completion / sensing problems, trainer, rank measures).
"""

import torch  # noqa: F401  (must load before the native library, which links against it)

_REBUILD = ("rankcore is compiled against one torch release: reinstall it with the torch you use "
            "(pip install --no-build-isolation --force-reinstall --no-deps <rankcore source or sdist>)")
try:
    from . import _C
except ImportError as _err:  # typically undefined symbols: built against another torch
    raise ImportError(f"rankcore's native module does not load with torch {torch.__version__} ({_err}); "
                      f"{_REBUILD}") from _err
if _C.built_with_torch() != ".".join(torch.__version__.split("+")[0].split(".")[:2]):
    raise ImportError(f"rankcore was built against torch {_C.built_with_torch()} but torch {torch.__version__} "
                      f"is imported; {_REBUILD}")
from . import ops  # noqa: F401  (registers fake implementations)
from .graph import (Graph, GuardShortfallWarning, SparsifyResult, boundary, closed_walk_counts, count_walks, edge_common_neighbors,
                    singleton_scores, sparsify, walk_index, wis)
from .ops import cp_eval
from . import tensor

__version__ = _C.version()


def __getattr__(name):
    # rankcore.pyg imports torch_geometric: load it on first use so the core needs no PyG.
    if name == "pyg":
        import importlib

        return importlib.import_module(".pyg", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_info() -> dict:
    """How this copy of rankcore was built: version, CUDA kernels compiled in, OpenMP threads."""
    return {
        "version": _C.version(),
        "cuda_built": _C.cuda_built(),
        "cuda_available": bool(_C.cuda_built() and torch.cuda.is_available()),
        "openmp_threads": _C.openmp_threads(),
        "torch": torch.__version__,
    }


__all__ = ["Graph", "GuardShortfallWarning", "SparsifyResult", "boundary", "build_info", "closed_walk_counts", "count_walks", "cp_eval",
           "edge_common_neighbors", "singleton_scores", "sparsify", "tensor", "walk_index", "wis", "__version__"]
