"""Is-Same pilot for issue 24 item 4 (is_same_pilots.md): one (canvas, gap, lambda, seed) per call, the
experiment's training loop (rankcore.experiments.locality_regularizer.train_one), validation accuracy after every
epoch, test accuracy and held-out R of the best validation epoch. Appends one JSON line to OUT.

    OMP_NUM_THREADS=1 PYTHONPATH=python python is_same_pilot.py WIDTH GAP LAMBDA MIN_EPOCHS MAX_EPOCHS OUT [SEED [FORM]]
    e.g. ... is_same_pilot.py 104 80 1 30 50 /tmp/pilots.jsonl
         ... is_same_pilot.py 104 56 0.3 30 60 /tmp/pilots.jsonl 0 angle

FORM: the penalty's form, ``cosine`` (the published |cos|, default) or ``angle`` (rankcore's variant,
definitions §4); recorded as ``penalty_form``.

The CPU Is-Same configuration (8 px digits, height 8, ResNet-18 width 8 with the small stem, 2000 / 1000 / 2000
pairs, SGD lr 1e-2, batch 64, patience 10, penalty "eighth") with the canvas width, gap and epochs given.
"""
import json
import sys
import time

import torch

torch.set_num_threads(1)
from rankcore.experiments import locality_regularizer as L  # noqa: E402

width, gap, lam, lo, hi, out = (int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]),
                                int(sys.argv[5]), sys.argv[6])
seed = int(sys.argv[7]) if len(sys.argv) > 7 else 0
form = sys.argv[8] if len(sys.argv) > 8 else "cosine"
if form not in L.PENALTY_FORMS:
    sys.exit(f"FORM must be one of {L.PENALTY_FORMS}, got {form!r}")
cfg = {**L.config("is-same"), "canvas": (8, width), "min_epochs": lo, "max_epochs": hi, "penalty": "eighth",
       "penalty_form": form}
t = time.time()
tr, va, te = L._data("is-same", cfg, gap, seed)
rec = L.train_one("is-same", cfg, tr, va, te, lam, seed)
rec = {"canvas": [8, width], "gap": gap, **{k: rec[k] for k in (
    "lambda", "seed", "epochs", "best_epoch", "val_accuracy", "test_accuracy", "train_accuracy", "heldout_penalty",
    "train_seconds", "seconds_per_step", "val_accuracy_curve", "penalty")}, "penalty_form": form,
       "wall": round(time.time() - t, 1)}
with open(out, "a") as f:
    f.write(json.dumps(rec) + "\n")
