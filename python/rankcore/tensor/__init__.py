"""Tensor factorizations and their implicit low-rank bias (DESIGN section 3).

* :class:`CPFactorization` — CP model on the fused :func:`rankcore.cp_eval` op.
* :class:`CompletionProblem`, :class:`SensingProblem` — learning a low-rank ground truth.
* :func:`train`, :class:`GlobalAdaptiveGD`, :class:`History` — gradient descent with one global
  adaptive step, tracking loss, reconstruction error and component norms.
* :func:`effective_rank`, :func:`matricize`, :func:`matricization_rank(s) <matricization_ranks>`,
  :func:`cp_als`, :func:`cp_rank_estimate` — rank measures.
"""

from .cp import CPFactorization
from .problems import CompletionProblem, SensingProblem, all_indices, random_cp_tensor
from .ranks import (
    cp_als,
    cp_rank_estimate,
    effective_rank,
    matricization_rank,
    matricization_ranks,
    matricize,
)
from .training import GlobalAdaptiveGD, History, train

__all__ = [
    "CPFactorization", "CompletionProblem", "GlobalAdaptiveGD", "History", "SensingProblem", "all_indices",
    "cp_als", "cp_rank_estimate", "effective_rank", "matricization_rank", "matricization_ranks", "matricize",
    "random_cp_tensor", "train",
]
