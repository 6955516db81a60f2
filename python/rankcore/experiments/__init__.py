"""Reproductions of the thesis' figures; each experiment writes a JSON of its numbers and a PNG.

Run them with ``rankcore experiment NAME [--out DIR] [--quick]``.
"""

EXPERIMENTS = {
    "incremental-rank": "rankcore.experiments.incremental_rank",
    "natural-data-rank": "rankcore.experiments.natural_data_rank",
    "incremental-hierarchical-rank": "rankcore.experiments.incremental_hierarchical_rank",
    "locality": "rankcore.experiments.locality",
    "dmf-norms": "rankcore.experiments.dmf_norms",
    "walk-index-validation": "rankcore.experiments.walk_index_validation",
    "locality-regularizer": "rankcore.experiments.locality_regularizer",
    "sparsification-homophily": "rankcore.experiments.sparsification_homophily",
}
