"""The pre-registered decision of this folder's test (README.md), from the experiment's own JSON.

    python results/locality_regularizer/gap0_second_confirmation/decide.py [RESULT_JSON]

Reads the per-seed paired gains of the validation-chosen lambda over lambda 0 that the experiment computed
(summary.chosen.gain, gap 0, seeds 30-49) and prints the two-sided 95% and 97.5% Student t intervals of their
mean, in points. The rule: met iff the 97.5% interval's lower bound is >= -2 points. Written and committed
before the run's result was read.
"""

import json
import math
import sys
from pathlib import Path

from scipy import stats

EXPECTED_SEEDS = list(range(30, 50))
BOUND_POINTS = -2.0


def main(path: str) -> None:
    result = json.loads(Path(path).read_text())
    if result["ranges"] != [0] or sorted(result["seeds"]) != EXPECTED_SEEDS:
        raise SystemExit(f"not the pre-registered run: ranges {result['ranges']}, seeds {result['seeds']}")
    cfg = result["config"]
    setting = (result["task"], result["quick"], result["smoke_run"], result["full_scale"], cfg["penalty"],
               cfg["penalty_form"], [float(v) for v in cfg["lambdas"]], list(cfg["canvas"]))
    if setting != ("is-same", False, False, False, "eighth", "angle", [0.0, 0.3, 1.0], [8, 104]):
        raise SystemExit(f"not the pre-registered configuration: {setting}")
    gains = [100 * g for g in result["summary"]["chosen"]["gain"][0]["values"]]
    n = len(gains)
    if n != len(EXPECTED_SEEDS):
        raise SystemExit(f"{n} paired gains, expected {len(EXPECTED_SEEDS)}: the run did not finish")
    mean = sum(gains) / n
    sd = math.sqrt(sum((g - mean) ** 2 for g in gains) / (n - 1))
    print(f"seeds {EXPECTED_SEEDS[0]}-{EXPECTED_SEEDS[-1]}: paired gain of the validation-chosen lambda over lambda 0, "
          f"points: mean {mean:+.2f}, sd {sd:.2f}, n {n}")
    print("per seed: " + ", ".join(f"{g:+.2f}" for g in gains))
    print("chosen lambda per seed: " + ", ".join(str(v) for v in result["summary"]["chosen"]["lambda_per_seed"][0]))
    for level in (0.95, 0.975):
        half = stats.t.ppf(1 - (1 - level) / 2, n - 1) * sd / math.sqrt(n)
        print(f"{100 * level:g}% t interval: [{mean - half:+.2f}, {mean + half:+.2f}]")
    half = stats.t.ppf(1 - 0.025 / 2, n - 1) * sd / math.sqrt(n)
    met = mean - half >= BOUND_POINTS
    print(f"decision (97.5% lower bound {mean - half:+.2f} >= {BOUND_POINTS:+.0f}): {'MET' if met else 'NOT MET'}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).with_name("locality_regularizer_is_same.json")))
