"""rankcore on torch.distributed (definitions §5): the graph ops on a row-partitioned :class:`DistGraph`
with the exact single-process results, distributed sparsification with the single-process removal
orders, data-parallel tensor training, and a launcher.

Every function here is collective: call it on every rank of the process group, in the same order, with
the same arguments (those a rank holds its own part of aside: shards, own-row masks). Every function
checks that they agree, raising the same ValueError on every rank when they do not.
"""

from .graph import Ball, DistGraph, HaloPlan, agree
from .launch import RankFailed, run_local
from .sparsify import sparsify
from .structure import closed_walk_counts, edge_common_neighbors, singleton_scores
from .walks import boundary, count_walks, gather, walk_index
from .training import distributed_train, shard_entries

__all__ = ["DistGraph", "HaloPlan", "Ball", "agree", "run_local", "RankFailed", "count_walks", "boundary",
           "walk_index", "gather", "edge_common_neighbors", "closed_walk_counts", "singleton_scores", "sparsify", "distributed_train", "shard_entries"]
