"""Descent on R alone (pathfinder_pilots.md): 60 SGD steps on the penalty of fixed or random regions, R on held-out images.

    OMP_NUM_THREADS=1 python penalty_only_pilot.py fixed|random LR [relu|silu]
"""
import torch, sys
torch.set_num_threads(1)
from rankcore.cnn import data as D, resnet18, AntiLocalityRegularizer, DistantSquaresSampler, Region, anti_locality_penalty
d = D.pathfinder(22000, size=64, path_length=3, seed=0, progress=False)
fixed = sys.argv[1] == "fixed"; lr = float(sys.argv[2])
torch.manual_seed(0)
m = resnet18(in_channels=1, num_outputs=1, width=16, stem="imagenet")
from torch import nn
def swap(mod):
    for n, c in mod.named_children():
        if isinstance(c, nn.ReLU): setattr(mod, n, nn.SiLU())
        elif isinstance(c, nn.MaxPool2d): setattr(mod, n, nn.AvgPool2d(3, 2, 1))
        else: swap(c)
if len(sys.argv) > 3 and sys.argv[3] == "silu": swap(m)
opt = torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9)
reg = AntiLocalityRegularizer(DistantSquaresSampler(8, 16))
g = torch.Generator().manual_seed(0)
I, J = Region(10, 10, 8, 8), Region(40, 40, 8, 8)
for t in range(60):
    x = d.images[64*t:64*t+64]
    if fixed:
        R, _ = anti_locality_penalty(m, x, I, J)
    else:
        R = reg(m, x, g).penalty
    opt.zero_grad(); R.backward(); opt.step()
    if t % 5 == 0:
        with torch.no_grad(): pass
        Rf, _ = anti_locality_penalty(m, d.images[-64:], I, J)
        print(t, f"{R.item():.3f} heldout-fixed {Rf.item():.3f}", flush=True)
