"""Cost of the anti-locality regulariser: one training step of a ResNet-18, plain vs regularised, same run.

    OMP_NUM_THREADS=2 python -m pytest bench/bench_cnn.py --benchmark-json=cnn.json
    python bench/report.py cnn.json          # medians; "time / rankcore" is relative to the one-pass step

Implementations (one SGD step each, model in train mode, float32, BCE-with-logits task loss):
* plain: forward over x, backward, step (the lambda = 0 step).
* rankcore: ``rankcore.cnn.train_step`` with lambda = 1: ONE forward over [x; x~], one input-gradient with
  create_graph=True, the task loss from the x half, one backward through both (double backward).
* two-pass: the published code's form: forward over x (its logits give the task loss and g), a second
  forward over x~ for g~, two input-gradients, then the same backward.

Configurations: ResNet-18 with the small stem, 1 input channel, batch 64 (the published batch size);
width 8 on a 64 x 64 canvas (the CPU experiment's scale; I, J 8 x 8 squares at distance >= 24, as for
Pathfinder), and width 16 on 32 x 32 (I, J 4 x 4 at distance >= 12).
"""

import pytest
import torch
import torch.nn.functional as F

from rankcore.cnn import (AntiLocalityRegularizer, DistantSquaresSampler, resnet18, swap_region, train_step)

CONFIGS = {"w8-64px": (8, 64, 8, 24.0), "w16-32px": (16, 32, 4, 12.0)}  # width, canvas, patch, min distance
BATCH = 64
IMPLS = ["plain", "rankcore", "two-pass"]


class FixedRegions:
    """A sampler that always returns the same (I, J), so the three implementations do the same work."""

    def __init__(self, regions):
        self.regions = regions

    def __call__(self, height, width, generator=None):
        return self.regions


def setup(config, seed=0):
    width, size, patch, min_distance = CONFIGS[config]
    torch.manual_seed(seed)
    model = resnet18(in_channels=1, num_outputs=1, width=width).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(BATCH, 1, size, size, generator=gen)
    y = (torch.rand(BATCH, generator=gen) > 0.5).float()
    regions = DistantSquaresSampler(patch, min_distance)(size, size, gen)
    return model, optimizer, x, y, regions


def plain_step(model, optimizer, x, y, regions):
    return train_step(model, optimizer, x, y)


def one_pass_step(model, optimizer, x, y, regions):
    return train_step(model, optimizer, x, y, AntiLocalityRegularizer(FixedRegions(regions)), lam=1.0)


def two_pass_step(model, optimizer, x, y, regions, eps=1e-12):
    """The published form: separate forwards (and input-gradients) for x and x~."""
    I, J = regions
    rows, cols = I.slices()
    x_in = x.detach().requires_grad_(True)
    logits = model(x_in).reshape(-1)
    (g,) = torch.autograd.grad(logits.sum(), x_in, create_graph=True)
    x_tilde = swap_region(x, J).requires_grad_(True)
    (g_tilde,) = torch.autograd.grad(model(x_tilde).sum(), x_tilde, create_graph=True)
    g, g_tilde = g[:, :, rows, cols].flatten(1), g_tilde[:, :, rows, cols].flatten(1)
    penalty = ((g * g_tilde).sum(1) / (g.norm(dim=1) * g_tilde.norm(dim=1) + eps)).abs().mean()
    task_loss = F.binary_cross_entropy_with_logits(logits, y)
    loss = task_loss + penalty
    optimizer.zero_grad(set_to_none=True)
    loss.backward(inputs=list(model.parameters()))
    optimizer.step()
    return {"loss": loss.item(), "task_loss": task_loss.item(), "penalty": penalty.item()}


STEPS = {"plain": plain_step, "rankcore": one_pass_step, "two-pass": two_pass_step}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("config", list(CONFIGS))
def test_cnn_train_step(benchmark, config, impl):
    model, optimizer, x, y, regions = setup(config)
    width, size, patch, min_distance = CONFIGS[config]
    benchmark.group = f"resnet18 train step {config} batch {BATCH} cpu"
    benchmark.extra_info.update(impl=impl, width=width, canvas=size, batch=BATCH, threads=torch.get_num_threads(),
                                I=str(regions[0]), J=str(regions[1]))
    stats = benchmark.pedantic(STEPS[impl], args=(model, optimizer, x, y, regions), rounds=5, iterations=1,
                               warmup_rounds=1)
    assert all(v is None or torch.isfinite(torch.tensor(v)) for v in stats.values())
