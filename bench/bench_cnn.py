"""Cost of the anti-locality regulariser: one training step of a ResNet-18, plain vs regularised, same run.

    OMP_NUM_THREADS=1 python -m pytest bench/bench_cnn.py --benchmark-json=cnn.json
    python bench/report.py cnn.json          # medians; "time / plain": the cost in plain steps

Implementations (one SGD step each, model in train mode, float32, BCE-with-logits task loss):
* plain: forward over x, backward, step (the lambda = 0 step).
* rankcore: ``rankcore.cnn.train_step`` with lambda = 1: ONE forward over [x; x~], one input-gradient with
  create_graph=True, the task loss from the x half, one backward through both (double backward).
* rankcore-quarter / rankcore-eighth: the same with ``AntiLocalityRegularizer(samples=B // 4)`` (``B // 8``):
  R on a random quarter (eighth) of the batch (an unbiased estimate), the task loss from a plain forward over x.
* rankcore-fd, rankcore-fd-quarter, rankcore-fd-eighth: ``estimator="finite_difference"`` on the whole batch,
  a quarter, an eighth: R from first-order input gradients, its gradient by a second forward at
  [x; x~] + h u and one backward through both forwards (no double backward).
* rankcore-eighth-every2: lazy regularisation, ``AntiLocalityRegularizer(samples=B // 8, every=2)`` kept across
  steps: the eighth step at 2 lambda on every other step, plain steps between; timed as the mean of two consecutive
  steps (one of each), i.e. the average cost of a training step.
* two-pass: the published code's form: forward over x (its logits give the task loss and g), a second
  forward over x~ for g~, two input-gradients, then the same backward.

Configurations: those of the CPU experiment (``rankcore experiment locality-regularizer``), 1 input channel,
batch 64 (the published batch size):
* pathfinder: ResNet-18 width 16 with the ImageNet stem on a 64 x 64 image, I and J 8 x 8 squares at
  distance >= 16;
* is-same: ResNet-18 width 8 with the small stem on an 8 x 72 canvas, I and J the two 8 x 8 object slots
  40 px apart (the longest gap).
"""

import pytest
import torch
import torch.nn.functional as F

from rankcore.cnn import AntiLocalityRegularizer, DistantSquaresSampler, Region, resnet18, swap_region, train_step

# width, stem, (height, width) of the canvas, regions: (patch, min distance) for random squares, or two slots
CONFIGS = {"pathfinder-w16-imagenet-64x64": (16, "imagenet", (64, 64), (8, 16.0)),
           "is-same-w8-small-8x72": (8, "small", (8, 72), (Region(0, 8, 8, 8), Region(0, 56, 8, 8)))}
BATCH = 64
REPORT_BASELINE = "plain"  # bench/report.py: the ratio column is the cost in plain steps
IMPLS = ["plain", "rankcore", "two-pass", "rankcore-quarter", "rankcore-eighth", "rankcore-fd", "rankcore-fd-quarter",
         "rankcore-fd-eighth", "rankcore-eighth-every2"]


class FixedRegions:
    """A sampler that always returns the same (I, J), so the three implementations do the same work."""

    def __init__(self, regions):
        self.regions = regions

    def __call__(self, height, width, generator=None):
        return self.regions


def setup(config, seed=0):
    width, stem, (height, canvas_width), regions = CONFIGS[config]
    torch.manual_seed(seed)
    model = resnet18(in_channels=1, num_outputs=1, width=width, stem=stem).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(BATCH, 1, height, canvas_width, generator=gen)
    y = (torch.rand(BATCH, generator=gen) > 0.5).float()
    if not isinstance(regions[0], Region):
        regions = DistantSquaresSampler(*regions)(height, canvas_width, gen)
    return model, optimizer, x, y, regions


def plain_step(model, optimizer, x, y, regions):
    return train_step(model, optimizer, x, y)


def regularized_step(estimator="exact", fraction=1):
    """train_step with lambda = 1 and R by ``estimator`` on a random batch // fraction of the batch."""

    def step(model, optimizer, x, y, regions):
        samples = None if fraction == 1 else x.shape[0] // fraction
        reg = AntiLocalityRegularizer(FixedRegions(regions), samples=samples, estimator=estimator)
        return train_step(model, optimizer, x, y, reg, lam=1.0, generator=torch.Generator().manual_seed(0))

    return step


def lazy_step(fraction=8, every=2):
    """train_step with lambda = 1 and one regulariser kept across calls, so that it is evaluated on one call in
    ``every`` (its counter lives in the regulariser)."""
    kept = {}

    def step(model, optimizer, x, y, regions):
        if "reg" not in kept:
            kept["reg"] = AntiLocalityRegularizer(FixedRegions(regions), samples=x.shape[0] // fraction, every=every)
        return train_step(model, optimizer, x, y, kept["reg"], lam=1.0, generator=torch.Generator().manual_seed(0))

    return step


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


STEPS = {"plain": plain_step, "rankcore": regularized_step(), "two-pass": two_pass_step,
         "rankcore-quarter": regularized_step(fraction=4), "rankcore-eighth": regularized_step(fraction=8),
         "rankcore-fd": regularized_step("finite_difference"),
         "rankcore-fd-quarter": regularized_step("finite_difference", 4),
         "rankcore-fd-eighth": regularized_step("finite_difference", 8)}
# Steps whose regulariser keeps state across calls (its counter, its regions): a fresh one per benchmark, and
# how many consecutive steps one timed round takes (their mean is the average cost of a training step).
STATEFUL_STEPS = {"rankcore-eighth-every2": (lazy_step, 2)}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("config", list(CONFIGS))
def test_cnn_train_step(benchmark, config, impl):
    torch.set_num_threads(1)  # the experiment's setting (one thread per training process)
    model, optimizer, x, y, regions = setup(config)
    benchmark.group = f"resnet18 train step {config} batch {BATCH} cpu"
    benchmark.extra_info.update(impl=impl, canvas=list(x.shape[2:]), batch=BATCH, threads=torch.get_num_threads(),
                                I=str(regions[0]), J=str(regions[1]))
    if impl in STATEFUL_STEPS:
        make, iterations = STATEFUL_STEPS[impl]
        step = make()
    else:
        step, iterations = STEPS[impl], 1
    stats = benchmark.pedantic(step, args=(model, optimizer, x, y, regions), rounds=7, iterations=iterations,
                               warmup_rounds=1)
    assert all(v is None or torch.isfinite(torch.tensor(v)) for v in stats.values())
