"""Pathfinder pilot under the experiment's protocol (issue 24 item 4): one (path length, lambda, seed) trained by
rankcore.experiments.locality_regularizer.train_one (validation split, early stopping, test read once), with the
validation accuracy printed after every epoch and the run's record appended to pathfinder_protocol_pilots.jsonl.

    OMP_NUM_THREADS=1 python pathfinder_protocol_pilot.py NAME LENGTH LAMBDA SEED '{"size": 96, ...}'

The JSON overrides the experiment's CPU Pathfinder configuration (CPU["pathfinder"]), plus pilot-only keys:
"blocks" (BasicBlocks per stage, default [2, 2, 2, 2]: fewer blocks = a smaller receptive field). penalty `eighth`
and the angle form unless the JSON says otherwise. The data are the experiment's (_data: one seeded draw sliced into
train / validation / test).
"""
import json
import sys
import time
from pathlib import Path

import torch

torch.set_num_threads(1)
import rankcore.cnn as cnn  # noqa: E402
from rankcore.experiments import locality_regularizer as LR  # noqa: E402

name, length, lam, seed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
over = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
cfg = {**LR.CPU["pathfinder"], "penalty": "eighth", "penalty_form": "angle", **over}
blocks = tuple(cfg.pop("blocks", (2, 2, 2, 2)))
if blocks != (2, 2, 2, 2):
    from rankcore.cnn.resnet import ResNet
    cnn.resnet18 = lambda **kw: ResNet(blocks=blocks, **kw)  # train_one imports resnet18 from rankcore.cnn
t0 = time.time()
data = LR._data("pathfinder", cfg, length, seed)
gen_s = time.time() - t0
print(f"{name}: data {gen_s:.0f} s; cfg {json.dumps(over)} length {length} lambda {lam} seed {seed}", flush=True)
start = [time.time()]


epoch_stats = []


def step_logged(*args, _orig=cnn.train_step, **kw):
    s = _orig(*args, **kw)
    epoch_stats.append((s["task_loss"], s["penalty"]))
    return s


def val_logged(model, x, y, device, _orig=LR._validation_accuracy):
    v = _orig(model, x, y, device)
    loss = sum(a for a, _ in epoch_stats) / max(len(epoch_stats), 1)
    pens = [b for _, b in epoch_stats if b is not None]
    pen = f" train penalty {sum(pens) / len(pens):.3f}" if pens else ""
    print(f"  epoch val {v:.3f} loss {loss:.4f}{pen} ({time.time() - start[0]:.0f} s)", flush=True)
    epoch_stats.clear()
    start[0] = time.time()
    return v


cnn.train_step = step_logged  # train_one imports train_step from rankcore.cnn


LR._validation_accuracy = val_logged
rec = LR.train_one("pathfinder", cfg, *data, lam, seed)
rec.update(name=name, path_length=length, config=over, blocks=list(blocks), data_seconds=round(gen_s, 1),
           date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
with open(Path(__file__).with_name("pathfinder_protocol_pilots.jsonl"), "a") as f:
    f.write(json.dumps(rec) + "\n")
print(json.dumps({k: rec[k] for k in ("name", "lambda", "seed", "epochs", "best_epoch", "val_accuracy",
                                      "test_accuracy", "train_accuracy", "heldout_penalty")}), flush=True)
