"""The README's numbers from this folder's run (seeds 10-19, the pre-registered test), and, for description only,
the pool of every gap-0 run of this configuration (seeds 0-4, 5-9, 10-19). Run from the repository root."""
import json

from rankcore.experiments import locality_regularizer as L

here = "results/locality_regularizer/gap0_confirmation/locality_regularizer_is_same.json"
files = ["results/locality_regularizer/locality_regularizer_is_same.json",
         "results/locality_regularizer/gap0_seeds5to9/locality_regularizer_is_same.json", here]


def report(runs, title):
    seeds = sorted({r["seed"] for r in runs})
    def cell(lam): return [next(r for r in runs if r["seed"] == s and r["lambda"] == lam) for s in seeds]
    base = [r["test_accuracy"] for r in cell(0.0)]
    picks = [L.choose_lambda([r for r in runs if r["seed"] == s]) for s in seeds]
    print(f"## {title}: seeds {seeds[0]}-{seeds[-1]} ({len(seeds)})")
    print("lambda 0:", L._ci_cell(L.describe(base)), "| R", L._ci_cell(L.describe([r["heldout_penalty"] for r in cell(0.0)]), 1.0, 3))
    for lam in (0.3, 1.0):
        acc = [r["test_accuracy"] for r in cell(lam)]
        print(f"lambda {lam:g}:", L._ci_cell(L.describe(acc)), "| gain", L._gain_cell(L.paired_gain(acc, base)),
              "| R", L._ci_cell(L.describe([r["heldout_penalty"] for r in cell(lam)]), 1.0, 3),
              "| min", f"{100 * min(acc):.1f}")
    chosen = [p["test_accuracy"] for p in picks]
    g = L.paired_gain(chosen, base)
    print("chosen lambdas:", [p["lambda"] for p in picks])
    print("chosen:", L._ci_cell(L.describe(chosen)), "| gain", L._gain_cell(g))
    print("per-seed gains:", ", ".join(f"{100 * (c - b):+.1f}" for c, b in zip(chosen, base)))
    print(f"lower bound {100 * g['low']:+.2f} -> {'met' if g['low'] >= -0.02 else 'NOT met'} (rule: >= -2)")


mine = json.load(open(here))
report([r for r in mine["runs"] if r["range"] == 0], "pre-registered test")
print("wall", mine["wall_seconds"], "s")
pool = [r for f in files for r in json.load(open(f))["runs"] if r["range"] == 0]
report(pool, "descriptive pool (not a test)")
