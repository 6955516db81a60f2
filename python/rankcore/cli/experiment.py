"""``rankcore experiment NAME``: one experiment of rankcore.experiments (JSON + PNG into --out)."""

from __future__ import annotations

import importlib
import inspect

from ..command_options import plain_int
from ..experiments import EXPERIMENTS
from ..graph.arguments import parse_int
from .common import CliError, check_out_dir


def cmd_experiment(args) -> int:
    """Runs one experiment of rankcore.experiments (JSON + PNG into --out)."""
    module = importlib.import_module(EXPERIMENTS[args.name])
    # Options only some experiments take (--task, --device, --full-scale): passed where run() accepts them,
    # an error where it does not and the option was given.
    accepted = inspect.signature(module.run).parameters
    extra = {}
    for option, default in (("task", None), ("device", "cpu"), ("full_scale", False), ("jobs", 1),
                            ("penalty", "exact"), ("penalty_form", "cosine")):
        value = getattr(args, option)
        if option in accepted:
            if value is not None:
                extra[option] = value
        elif value not in (None, default):
            raise CliError(f"experiment {args.name} has no --{option.replace('_', '-')} option")
    if args.lambdas is not None:  # the locality regulariser's lambda grid, through its cfg override
        if "penalty_form" not in accepted:
            raise CliError(f"experiment {args.name} has no --lambdas option")
        try:
            extra.setdefault("cfg", {})["lambdas"] = module.check_lambda_grid(args.lambdas, "--lambdas")
        except ValueError as err:
            raise CliError(str(err)) from None
    # The locality regulariser's ranges, seed count and equal-compute switch, also through its cfg override.
    if args.ranges is not None:
        if "penalty_form" not in accepted:
            raise CliError(f"experiment {args.name} has no --ranges option")
        if any(v < 0 for v in args.ranges):
            raise CliError(f"--ranges must be >= 0 (distances in px / path lengths), got {args.ranges}")
        extra.setdefault("cfg", {})["ranges"] = tuple(sorted(set(args.ranges)))
    if args.seeds is not None:
        if "penalty_form" not in accepted:
            raise CliError(f"experiment {args.name} has no --seeds option")
        if args.seeds < 1:
            raise CliError(f"--seeds must be >= 1 (the seeds are --seed, --seed + 1, ...), got {args.seeds}")
        extra.setdefault("cfg", {})["seeds"] = args.seeds
    if args.no_equal_compute:
        if "penalty_form" not in accepted:
            raise CliError(f"experiment {args.name} has no --no-equal-compute option")
        extra.setdefault("cfg", {})["equal_compute"] = False
    if args.pool is not None:  # no training: pool committed results
        return _print_pool(module, args, accepted)
    if args.set is not None:
        if "penalty_form" not in accepted:
            raise CliError(f"experiment {args.name} has no --set option")
        overrides = _config_overrides(module, args)
        extra.setdefault("cfg", {}).update(overrides)
    check_out_dir(args.out)  # before any training: the results are written only at the end
    try:
        module.run(out_dir=args.out, quick=args.quick, seed=args.seed, **extra)
    except RuntimeError as err:  # missing optional dependency (matplotlib, scikit-learn), no CUDA
        raise CliError(str(err)) from None
    stem = args.name.replace('-', '_') + (f"_{args.task.replace('-', '_')}" if extra.get("task") else "")
    print(f"wrote {args.out}/{stem}.json and .png" + (" and .md" if "task" in accepted else ""))
    return 0


def _print_pool(module, args, accepted) -> int:
    """``--pool FILE ... --ranges VALUE``: the pooled table of committed result JSONs (no training)."""
    import json

    if "penalty_form" not in accepted:
        raise CliError(f"experiment {args.name} has no --pool option")
    if args.ranges is None or len(args.ranges) != 1:
        raise CliError("--pool needs one --ranges VALUE (the distance or path length to pool)")
    results = []
    for path in args.pool:
        try:
            with open(path) as f:
                results.append(json.load(f))
        except (OSError, ValueError) as err:
            raise CliError(f"--pool {path}: {err}") from None
    try:
        print(module.pooled_markdown(results, args.ranges[0]))
    except (KeyError, ValueError) as err:
        raise CliError(f"--pool: {err}") from None
    return 0


# Keys with an option of their own (--lambdas, --ranges, --seeds, --no-equal-compute): --set refuses them.
_OWN_OPTIONS = {"lambdas": "--lambdas", "ranges": "--ranges", "seeds": "--seeds", "equal_compute": "--no-equal-compute"}


def _config_overrides(module, args) -> dict:
    """``--set KEY=VALUE ...``: entries of the task's configuration (``module.config(task, quick, full_scale)``),
    each VALUE read as the type of the entry it replaces (int, float, bool, str; a tuple as comma-separated
    values of its elements' type)."""
    base = module.config(args.task or "is-same", args.quick, args.full_scale)
    out = {}
    for item in args.set:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise CliError(f"--set takes KEY=VALUE, got {item!r}")
        if key in _OWN_OPTIONS:
            raise CliError(f"--set {key}: use {_OWN_OPTIONS[key]}")
        if key not in base:
            raise CliError(f"--set {key}: no such configuration entry; the entries are {', '.join(sorted(base))}")
        old = base[key]
        try:
            if isinstance(old, tuple):
                kind = type(old[0]) if old else int
                value = tuple(_read_as(kind, part) for part in text.split(","))
            elif isinstance(old, bool):
                if text.lower() not in ("true", "false"):
                    raise ValueError(text)
                value = text.lower() == "true"
            else:
                value = _read_as(type(old), text)
        except ValueError:
            expected = f"{type(old).__name__} like the configuration's {old!r}"
            raise CliError(f"--set {key}={text}: expected {expected}") from None
        out[key] = value
    return out


def _read_as(kind: type, text: str):
    """``text`` as a value of ``kind``; an int by the rule of every integer the user types (int() read 1_0 as 10)."""
    return parse_int(text, "the value") if kind is int else kind(text)


def add_experiment_parser(sub) -> None:
    ex = sub.add_parser("experiment", help="run an experiment of rankcore.experiments (writes JSON + PNG)")
    ex.add_argument("name", choices=sorted(EXPERIMENTS))
    ex.add_argument("--out", default="rankcore_results", help="output folder (default ./rankcore_results; the committed results are in results/)")
    ex.add_argument("--quick", action="store_true", help="smaller, faster configuration")
    ex.add_argument("--seed", type=plain_int, default=0)
    ex.add_argument("--task", choices=("is-same", "pathfinder"), default=None,
                    help="locality-regularizer: the long-range task (default is-same)")
    ex.add_argument("--device", default="cpu", help="locality-regularizer: torch device, e.g. cuda (default cpu)")
    ex.add_argument("--full-scale", action="store_true",
                    help="locality-regularizer: the published sizes (224 px / 150 px, width 64; for --device cuda)")
    ex.add_argument("--penalty", choices=("exact", "quarter", "eighth", "fd", "fd-quarter", "fd-eighth",
                                          "eighth-every2"),
                    default="exact", help="locality-regularizer: how R and its gradient are computed (exact double "
                    "backward on the batch, on a quarter / eighth of it, or finite differences; eighth-every2: "
                    "eighth on every other step at twice lambda; docs/definitions.md section 4)")
    ex.add_argument("--penalty-form", choices=("cosine", "angle"), default="cosine",
                    help="locality-regularizer: the published mean |cos| (default) or rankcore's angle form, whose "
                    "push does not vanish at R = 1 (docs/definitions.md section 4)")
    ex.add_argument("--lambdas", type=float, nargs="+", default=None, metavar="LAMBDA",
                    help="locality-regularizer: the lambda grid, 0 included (default: the configuration's)")
    ex.add_argument("--ranges", type=plain_int, nargs="+", default=None, metavar="RANGE",
                    help="locality-regularizer: the distances (is-same, px) or path lengths (pathfinder) to run "
                    "(default: the configuration's)")
    ex.add_argument("--seeds", type=plain_int, default=None, metavar="N",
                    help="locality-regularizer: how many seeds, --seed, --seed + 1, ... (default: the configuration's)")
    ex.add_argument("--no-equal-compute", action="store_true",
                    help="locality-regularizer: skip lambda 0's equal-compute readings (the converged runs are the same)")
    ex.add_argument("--set", nargs="+", default=None, metavar="KEY=VALUE",
                    help="locality-regularizer: replace entries of the task's configuration, e.g. --set "
                    "canvas=8,104 min_epochs=60 max_epochs=60 (module rankcore.experiments.locality_regularizer, "
                    "CPU / FULL_SCALE); how the pilots in results/locality_regularizer/ are re-run")
    ex.add_argument("--pool", nargs="+", default=None, metavar="RESULT_JSON",
                    help="locality-regularizer: print the pooled table of committed results of one configuration "
                    "(disjoint seeds) at the one --ranges VALUE; trains nothing")
    ex.add_argument("--jobs", type=plain_int, default=1,
                    help="locality-regularizer: CPU processes training side by side, one thread each (default 1)")
    ex.set_defaults(func=cmd_experiment)
