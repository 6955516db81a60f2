"""The ``rankcore`` command.

    rankcore sparsify [GRAPH] [--method wis|random|spectral|local_degree] [--depth L] [--ratio R | --num-remove N]
                      [--seed S] [-o OUT.pt|.txt|.csv|.npz] [--nproc N]
    rankcore evaluate [--dataset cora] [--methods wis,random,spectral] [--models gcn,gin] [--seeds 3] [--out DIR]
    rankcore walk-index [GRAPH] [--partition FILE] [--depth L ...] [--target T]
    rankcore experiment NAME [--out DIR] [--quick] [--seed S]
        NAME: incremental-rank, natural-data-rank (CP); incremental-hierarchical-rank, locality, dmf-norms
        (HT / DMF); walk-index-validation (GNN); locality-regularizer [--task is-same|pathfinder]
        [--device cuda] [--full-scale] (CNN)

GRAPH is a built-in name (default ``karate``), a dataset name of ``rankcore.datasets.load`` (cora,
citeseer, sbm, power-law; needs torch_geometric; ``--root`` or ``$RANKCORE_DATA`` for the files), an
edge list (.txt / .csv, "u v" per line, ``#`` comments), a scipy sparse ``.npz`` or a ``.pt`` file
holding an edge_index tensor or a PyG ``Data``.
Every error is one line on stderr and a non-zero exit status, never a traceback.

One module per command: ``walks`` (walk-index), ``sparsify``, ``evaluate``, ``experiment``; ``common`` holds
``CliError`` and what they share. ``python -m rankcore.cli`` runs :func:`main`.
"""

from __future__ import annotations

import argparse
import sys

from ..command_options import OneLineParser
from ..graph.sparsify import ConvergenceError
from .common import CliError
from .evaluate import add_evaluate_parser
from .experiment import add_experiment_parser
from .sparsify import add_sparsify_parser
from .walks import add_walk_index_parser

__all__ = ["CliError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="rankcore", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    add_walk_index_parser(sub)
    add_sparsify_parser(sub)
    add_evaluate_parser(sub)
    add_experiment_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into `head` and friends: stop quietly
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:  # Ctrl-C: one line and the shell's 128 + SIGINT, no traceback
        print(f"rankcore {args.command}: interrupted", file=sys.stderr)
        return 130
    except (CliError, ValueError, TypeError, OverflowError, MemoryError, ConvergenceError) as err:
        # Library messages name the Python keyword; on the command line it is a flag.
        message = str(err).replace("symmetrize=True", "--symmetrize")
        print(f"rankcore {args.command}: error: {message}", file=sys.stderr)
        return 2
