"""Tensor factorizations and their implicit low-rank bias (definitions §3).

* :class:`CPFactorization` — CP model on the fused :func:`rankcore.cp_eval` op.
* :class:`HTFactorization` — hierarchical tensor factorization on the fused HT pooling ops;
  :class:`DeepMatrixFactorization` — W = W_1 ... W_depth.
* :func:`hierarchical_ranks` (full tensor) and :func:`ht_hierarchical_ranks` (from the factors, via
  subtree Gram matrices) — hierarchical tensor rank; effective-rank variants likewise.
* :class:`CompletionProblem`, :class:`SensingProblem` — learning a low-rank ground truth.
* :func:`train`, :class:`GlobalAdaptiveGD`, :class:`History` — gradient descent with one global
  adaptive step, tracking loss, reconstruction error and component norms.
* :func:`effective_rank`, :func:`matricize`, :func:`matricization_rank(s) <matricization_ranks>`,
  :func:`cp_als`, :func:`cp_rank_estimate` — rank measures.
"""

from .cp import CPFactorization
from .dmf import DeepMatrixFactorization, MatrixCompletion, matrix_norms, positive_determinant_
from .ht import HTFactorization, ModeTree, default_tree
from .problems import CompletionProblem, SensingProblem, all_indices, random_cp_tensor
from .ranks import (
    cp_als,
    cp_rank_estimate,
    effective_rank,
    hierarchical_effective_ranks,
    hierarchical_ranks,
    hierarchical_singular_values,
    ht_effective_ranks,
    ht_hierarchical_ranks,
    ht_singular_values,
    matricization_rank,
    matricization_ranks,
    matricize,
)
from .training import GlobalAdaptiveGD, History, train

__all__ = [
    "CPFactorization", "CompletionProblem", "GlobalAdaptiveGD", "History", "SensingProblem", "all_indices",
    "DeepMatrixFactorization", "HTFactorization", "MatrixCompletion", "ModeTree", "default_tree",
    "hierarchical_effective_ranks", "hierarchical_ranks", "hierarchical_singular_values", "ht_effective_ranks",
    "ht_hierarchical_ranks", "ht_singular_values", "matrix_norms", "positive_determinant_",
    "cp_als", "cp_rank_estimate", "effective_rank", "matricization_rank", "matricization_ranks", "matricize",
    "random_cp_tensor", "train",
]
