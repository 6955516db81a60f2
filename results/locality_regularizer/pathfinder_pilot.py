"""Pathfinder pilot: one lambda, seed 0 by default, test accuracy after every epoch (pathfinder_pilots.md).

    OMP_NUM_THREADS=1 python pathfinder_pilot.py SIZE LENGTH TRAIN EPOCHS WIDTH STEM LAMBDA [SAMPLES|all [LR [SEED]]]
    e.g. python pathfinder_pilot.py 64 9 20000 8 16 imagenet 0.1
    PILOT_ACT=silu python pathfinder_pilot.py ...   # SiLU instead of ReLU, average instead of max pooling

The experiment's training loop (rankcore.experiments.locality_regularizer.train_one) with an evaluation per
epoch; 2000 test images; I and J squares of side SIZE // 8 at least SIZE // 4 apart.
"""
import sys, time, json, torch
torch.set_num_threads(1)
from rankcore.cnn import data as D, resnet18, train_step, AntiLocalityRegularizer, DistantSquaresSampler
from rankcore.experiments.locality_regularizer import _accuracy, heldout_penalty
size, L, ntr, epochs, width, stem, lam = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], float(sys.argv[7])
samples = int(sys.argv[8]) if len(sys.argv) > 8 and sys.argv[8] != "all" else None
lr = float(sys.argv[9]) if len(sys.argv) > 9 else 1e-2
nte = 2000; seed = int(sys.argv[10]) if len(sys.argv) > 10 else 0
t = time.time(); d = D.pathfinder(ntr + nte, size=size, path_length=L, seed=seed, progress=False); print("gen", time.time()-t, flush=True)
xtr, ytr, xte, yte = d.images[:ntr], d.labels[:ntr], d.images[ntr:], d.labels[ntr:]
torch.manual_seed(seed)
model = resnet18(in_channels=1, num_outputs=1, width=width, stem=stem)
import os
if os.environ.get("PILOT_ACT") == "silu":
    from torch import nn
    def swap(mod):
        for n, c in mod.named_children():
            if isinstance(c, nn.ReLU): setattr(mod, n, nn.SiLU())
            elif isinstance(c, nn.MaxPool2d): setattr(mod, n, nn.AvgPool2d(3, 2, 1))
            else: swap(c)
    swap(model)
opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
sampler = DistantSquaresSampler(size // 8, size // 4)
reg = AntiLocalityRegularizer(sampler, samples=samples) if lam > 0 else None
gen = torch.Generator().manual_seed(seed)
bs = 64
for ep in range(epochs):
    model.train(); t = time.time(); perm = torch.randperm(ntr, generator=gen); losses = []; pens = []
    for k in range(0, ntr - bs + 1, bs):
        idx = perm[k:k+bs]; x = xtr[idx]
        r = torch.randint(8, (1,), generator=gen).item(); x = torch.rot90(x, r % 4, dims=(2, 3)); x = x.flip(3) if r >= 4 else x
        s = train_step(model, opt, x, ytr[idx], reg, lam, generator=gen); losses.append(s["task_loss"]); pens.append(s["penalty"] or 0)
    te = _accuracy(model, xte, yte, "cpu"); tr = _accuracy(model, xtr[:2000], ytr[:2000], "cpu")
    print(f"ep {ep} loss {sum(losses)/len(losses):.4f} pen {sum(pens)/len(pens):.3f} train {tr:.3f} test {te:.3f} {time.time()-t:.0f}s", flush=True)
print("R", heldout_penalty(model, xte[:300], sampler, "cpu"))
