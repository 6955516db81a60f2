"""Prints pathfinder_protocol_pilots.jsonl as the markdown table of pathfinder_pilots.md (one row per pilot)."""
import json
from pathlib import Path

rows = [json.loads(line) for line in Path(__file__).with_name("pathfinder_protocol_pilots.jsonl").open()]
print("| pilot | config | length | lambda | seed | validation % per epoch | epochs (best) | best val % | test % "
      "| train % | held-out R | s / epoch |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    curve = " ".join(f"{100 * v:.0f}" for v in r["val_accuracy_curve"])
    cfg = ", ".join(f"{k} {v}" for k, v in r["config"].items())
    sec = sorted(r["epoch_seconds"])[len(r["epoch_seconds"]) // 2]
    print(f"| {r['name']} | {cfg} | {r['path_length']} | {r['lambda']:g} | {r['seed']} | {curve} | {r['epochs']} "
          f"({r['best_epoch']}) | {100 * r['val_accuracy']:.1f} | {100 * r['test_accuracy']:.1f} | "
          f"{100 * r['train_accuracy']:.1f} | {r['heldout_penalty']:.3f} | {sec:.0f} |")
