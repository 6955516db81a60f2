"""``rankcore evaluate``: train GNNs on sparsified graphs, accuracy against the share of edges removed."""

from __future__ import annotations

import sys

from .. import datasets
from ..command_options import plain_int
from ..experiments import sparsification
from ..graph.progress import progress_reporter
from ..io import load_dataset
from .common import CliError, check_out_dir

# What `rankcore evaluate` runs when an option is not given; a preset replaces some of them.
EVALUATE_DEFAULTS = {"methods": "wis,random,spectral", "models": "gcn,gin", "seeds": 3,
                     "ratios": ",".join(f"{i / 10:.1f}" for i in range(10))}
# The published protocol (Razin, Verbin & Cohen 2023): random 80/10/10 vertex splits, 10 per removal level,
# GCN and GIN of depth 3, width 64, LayerNorm, early stopping on validation, 0-90% removed in 10% steps.
EVALUATE_PRESETS = {
    "paper": {**EVALUATE_DEFAULTS, "methods": "random,local_degree,spectral,wis,wis:3,k_neighbor,degree", "seeds": 10},
}


def cmd_evaluate(args) -> int:
    def split(text):
        return [t for t in (part.strip() for part in text.split(",")) if t]

    for option, value in EVALUATE_PRESETS.get(args.preset, EVALUATE_DEFAULTS).items():
        if getattr(args, option) is None:  # options given on the command line win
            setattr(args, option, value)
    try:
        ratios = [float(r) for r in split(args.ratios)]
    except ValueError:
        raise CliError(f"--ratios must be comma-separated numbers in [0, 1), got {args.ratios!r}") from None
    # --threads 0 and --wis-depth 1 failed with the library's words ("set_num_threads expects a positive integer",
    # "depth must be >= 2"), which name no option
    for option, least in (("seeds", 1), ("epochs", 1), ("jobs", 1), ("threads", 1), ("wis_depth", 2)):
        if getattr(args, option) is not None and getattr(args, option) < least:
            raise CliError(f"--{option.replace('_', '-')} must be >= {least}, got {getattr(args, option)}")
    methods = split(args.methods)
    for spec in methods:
        sparsification.parse_method(spec)  # ValueError before loading anything
    models = split(args.models)
    for model in models:
        if model not in sparsification.MODELS:
            raise CliError(f"unknown model {model!r}; expected one of {', '.join(sparsification.MODELS)}")
    names = split(args.dataset)
    for option, given in (("--dataset", names), ("--methods", methods), ("--models", models)):
        # An empty list ran nothing and exited 0 (--dataset ","), trained no model and failed in the plot after
        # writing the JSON (--models ","), or was a StopIteration traceback (--methods ",").
        if not given:
            raise CliError(f"{option} names nothing, got {getattr(args, option[2:])!r}")
        repeated = sorted({item for item in given if given.count(item) > 1})
        if repeated:  # "karate,karate" trained everything twice and wrote the same files twice
            raise CliError(f"{option} names {', '.join(repeated)} more than once")
    check_out_dir(args.out)  # before any training: the results are written only at the end
    loaded = [(name, load_dataset(name, args.root)) for name in names]  # every dataset found before any run
    for name, data in loaded:
        total = len(methods) * len(ratios) * len(models) * args.seeds
        report, close = _evaluate_progress(args, total, name)
        try:
            out = sparsification.run(name, methods, ratios, models, args.seeds, out_dir=args.out,
                                     wis_depth=args.wis_depth, epochs=args.epochs, threads=args.threads, data=data,
                                     progress=report, name=f"sparsification_{datasets.canonical_name(name)}",
                                     jobs=args.jobs, training=args.training)
        except RuntimeError as err:  # matplotlib missing: the JSON and table were written
            raise CliError(str(err)) from None
        finally:
            if close is not None:
                close()
        print(out["table"])
        print(f"({out['total_seconds']:.1f} s, {args.jobs} job(s) of {out['threads']} thread(s)); wrote "
              f"{out['png']} and .json/.md next to it")
    return 0


def _evaluate_progress(args, total: int, name: str):
    """(report, close): per-run lines with --verbose, nothing with --quiet, else a progress bar."""
    if args.quiet:
        return None, None
    if args.verbose:
        return (lambda line: print(line, file=sys.stderr, flush=True)), None

    bar = {"done": 0}  # drawn at the first finished run, so argument errors print no empty bar

    def report(line):
        if "update" not in bar:
            bar["update"], bar["close"] = progress_reporter(True, total, unit="run", desc=f"evaluate {name}")
        bar["done"] += 1
        bar["update"](bar["done"])

    def close():
        if "close" in bar:
            bar["close"]()
    return report, close


def add_evaluate_parser(sub) -> None:
    ev = sub.add_parser("evaluate", help="train GNNs on sparsified graphs: accuracy vs %% of edges removed")
    ev.add_argument("--dataset", default="cora", help="comma-separated: cora, citeseer, karate, sbm, power-law "
                    "(default cora); one table, JSON and PNG each")
    ev.add_argument("--preset", choices=sorted(EVALUATE_PRESETS), default=None,
                    help="paper: the published protocol (random 80/10/10 splits, 10 seeds, GCN and GIN, methods "
                         "random, local_degree, spectral, 1-WIS, 2-WIS, k_neighbor, degree, 0-90%% removed); "
                         "options given explicitly win")
    ev.add_argument("--methods", default=None, help="comma-separated (wis, wis:L, random, spectral, local_degree, "
                    "k_neighbor, k_neighbor:degree, degree; default wis,random,spectral)")
    ev.add_argument("--ratios", default=None, help="comma-separated fractions removed (default 0,0.1,...,0.9)")
    ev.add_argument("--models", default=None, help="comma-separated: gcn, gin (default both)")
    ev.add_argument("--seeds", type=plain_int, default=None, help="runs per point (split + init seeds 0..S-1; default 3)")
    ev.add_argument("--epochs", type=plain_int, default=None, help="most epochs per run (early stopping on validation "
                    "accuracy; default 200, or 10000 with --training published)")
    ev.add_argument("--training", choices=sorted(sparsification.TRAINING), default="default",
                    help="default: a random 80/10/10 split per seed, Adam lr 0.01 wd 5e-4, patience 50; published: the "
                         "published code's configuration (one fixed split, Adam lr 5e-4 wd 1e-3, patience 1000)")
    ev.add_argument("--wis-depth", type=plain_int, default=2, help="L of the (L-1)-WIS used for 'wis' (default 2: 1-WIS)")
    ev.add_argument("--threads", type=plain_int, default=1, help="torch threads per job (default 1: small graphs train "
                    "faster)")
    ev.add_argument("--jobs", type=plain_int, default=1, help="trainings side by side in N processes (results equal "
                    "the one-process run's)")
    ev.add_argument("--root", default=None, help="dataset folder (default $RANKCORE_DATA)")
    ev.add_argument("--out", default="rankcore_results", help="output folder (default ./rankcore_results; the committed results are in results/)")
    talk = ev.add_mutually_exclusive_group()
    talk.add_argument("--quiet", action="store_true", help="no progress output")
    talk.add_argument("--verbose", action="store_true", help="one line per finished run instead of a progress bar")
    ev.set_defaults(func=cmd_evaluate)
