"""The command-line options the rankcore command shares with the torchrun entry point
(``python -m rankcore.distributed.run``), so that neither imports the other."""

from __future__ import annotations

import argparse

from .graph.arguments import parse_int
from .graph.sparsify import METHODS

__all__ = ["OneLineParser", "add_sparsify_options", "plain_int"]


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2), like every other error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def plain_int(text: str) -> int:
    """argparse ``type=`` for integer options: :func:`rankcore.graph.arguments.parse_int` (``type=int`` read
    ``--depth 1_0`` as 10 and ``--target ١`` as 1)."""
    try:
        return parse_int(text, "the value")
    except ValueError as err:  # argparse names the option: "argument --depth: the value must be ..."
        raise argparse.ArgumentTypeError(str(err)) from None


def add_sparsify_options(parser: argparse.ArgumentParser) -> None:
    """The options ``rankcore sparsify`` shares with ``torchrun -m rankcore.distributed.run sparsify``."""
    parser.add_argument("--method", choices=METHODS, default="wis")
    parser.add_argument("--depth", type=plain_int, default=2, help="GNN depth L for wis ((L-1)-WIS; default 2 = 1-WIS)")
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument("--ratio", type=float, default=None, help="fraction of undirected edges to remove (default 0.5)")
    amount.add_argument("--num-remove", type=plain_int, default=None, help="number of undirected edges to remove")
    parser.add_argument("--seed", type=plain_int, default=0, help="seed of the random methods (random, spectral, k_neighbor)")
    parser.add_argument("--symmetrize", action="store_true", help="add missing reverse edges instead of failing")
    parser.add_argument("--timings", action="store_true", help="print the wall time of read / build / sparsify / write")
