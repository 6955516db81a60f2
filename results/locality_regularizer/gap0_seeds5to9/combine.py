import json, sys
from rankcore.experiments import locality_regularizer as L
a = json.load(open("results/locality_regularizer/locality_regularizer_is_same.json"))
b = json.load(open(sys.argv[1]))
runs = [r for r in a["runs"] if r["range"] == 0] + [r for r in b["runs"] if r["range"] == 0]
seeds = sorted({r["seed"] for r in runs})
def cell(lam): return [next(r for r in runs if r["seed"] == s and r["lambda"] == lam) for s in seeds]
base = [r["test_accuracy"] for r in cell(0.0)]
picks = [L.choose_lambda([r for r in runs if r["seed"] == s]) for s in seeds]
out = {"seeds": seeds, "lambda0": L.describe(base),
       "chosen_lambda": [p["lambda"] for p in picks],
       "chosen": L.describe([p["test_accuracy"] for p in picks]),
       "gain_chosen": L.paired_gain([p["test_accuracy"] for p in picks], base)}
for lam in (0.3, 1.0):
    out[f"lambda{lam:g}"] = L.describe([r["test_accuracy"] for r in cell(lam)])
    out[f"gain{lam:g}"] = L.paired_gain([r["test_accuracy"] for r in cell(lam)], base)
    out[f"R{lam:g}"] = L.describe([r["heldout_penalty"] for r in cell(lam)])
out["R0"] = L.describe([r["heldout_penalty"] for r in cell(0.0)])
print(json.dumps({k: ({kk: vv for kk, vv in v.items() if kk != "values"} | {"values": [round(x, 4) for x in v["values"]]} if isinstance(v, dict) else v) for k, v in out.items()}, indent=1))
print("gain chosen:", L._gain_cell(out["gain_chosen"]), "| lambda0", L._ci_cell(out["lambda0"]), "| chosen", L._ci_cell(out["chosen"]))
for lam in ("0.3", "1"):
    print(lam, L._ci_cell(out["lambda" + lam]), L._gain_cell(out["gain" + lam]), L._ci_cell(out["R" + lam], 1.0, 3))
print("R0", L._ci_cell(out["R0"], 1.0, 3))
