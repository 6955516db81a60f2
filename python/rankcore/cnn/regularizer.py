"""The anti-locality regulariser of Razin, Maman & Cohen (ICML 2022), definitions §4.

For a model ``f`` giving one logit per image, a batch ``x`` ([B, C, H, W]) and two disjoint regions ``I``, ``J``:

* ``x~`` is ``x`` (detached) with region ``J`` of sample ``b`` replaced by region ``J`` of sample ``(b + 1) % B``;
* ``g_b = d f(x_b) / d x_b`` restricted to ``I`` (all channels), flattened; ``g~_b`` the same at ``x~_b``;
* ``R = mean_b |<g_b, g~_b>| / (||g_b|| ||g~_b|| + eps)``; training minimises ``task loss + lam * R``.

If ``f`` has separation rank 1 between ``I`` and ``J`` (``f = g(x_I) h(x_J)`` or ``g(x_I) + h(x_J)``), the
direction of ``g_b`` does not depend on ``x_J``, so ``R = 1``; lowering ``R`` makes ``I`` and ``J`` interact.

Cost: ``g`` and ``g~`` come from ONE forward over ``torch.cat([x, x~])`` and ONE
``torch.autograd.grad(logits.sum(), inputs, create_graph=True)``; :func:`train_step` also takes the task loss
from the ``x`` half of that forward, so a regularised step runs one forward (of 2B images), not three.
The sum is exact for per-sample models: ``d(sum_c f(x_c)) / d x_b = d f(x_b) / d x_b`` when ``f(x_c)`` does
not depend on ``x_b`` for ``c != b``. The price is the double backward: the forward, the input-gradient
and the backward all run on 2B images and the backward also differentiates the input-gradient pass, about
4x a plain step by operation count and 5-6x measured on a CPU (bench/bench_cnn.py, bench/RESULTS.md).
One pass and the published two passes do the same arithmetic; one pass halves the kernel launches and
doubles the batch per kernel, which is what a GPU rewards (not yet measured); on a CPU they cost the same.

BatchNorm (train mode) breaks that independence, and this is what rankcore does about it:

* Gradients. As in the published code, ``g`` is the gradient of the batch sum, so besides ``d f(x_b)/d x_b``
  at fixed batch statistics it carries the terms through the statistics, ``(1/N) sum_c d f(x_c)/d(mean, var)
  . d(mean, var)/d x_b``: a batch average, each other sample contributing O(1/N) (N = 2B here, B in the
  published code). They belong to train-mode BatchNorm itself, i.e. to the function being trained, not to
  the one-pass trick. In eval mode, or without BatchNorm, ``g_b`` is exactly the per-sample gradient and one
  pass equals two separate passes to rounding (tested). In train mode the only difference from two passes is
  which samples the statistics average over ([x; x~] together instead of x and x~ apart): sampling noise of
  the order of the batch-to-batch noise BatchNorm always has.
* Running statistics. One forward over [x; x~] updates them once per call, with the moments of the 2B
  images. The published code's two forwards update them twice per step (once with x~ alone), which halves
  their effective averaging window. One update per step keeps BatchNorm's momentum meaning what it means
  in plain training, and since x~ is made of real samples' regions (the same per-pixel distribution as x),
  moments over [x; x~] estimate the same population moments as moments over x.
* Why not eval mode for the penalty: it would regularise a different function (normalised by running
  statistics that lag the weights, badly so early in training) and it would need its own forward.

The model is used in whatever mode it is in; :func:`train_step` does not switch modes.

A training loop to paste (what :func:`train_step` does, spelled out)::

    import torch
    import torch.nn.functional as F
    from rankcore.cnn import AntiLocalityRegularizer, DistantSquaresSampler, resnet18

    model = resnet18(in_channels=1, num_outputs=1, width=16)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    regularizer = AntiLocalityRegularizer(DistantSquaresSampler(patch=8, min_distance=24))
    lam = 1.0
    model.train()
    for x, y in loader:                                  # x [B, 1, H, W] float, y [B] in {0., 1.}
        result = regularizer(model, x)                   # one forward over [x; x~], one double-backward graph
        task_loss = F.binary_cross_entropy_with_logits(result.outputs, y)
        loss = task_loss + lam * result.penalty
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

or, equivalently, ``stats = train_step(model, optimizer, x, y, regularizer, lam=1.0)`` in the loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .regions import Region, check_region_pair


@dataclass(frozen=True)
class PenaltyResult:
    """What :class:`AntiLocalityRegularizer` returns.

    penalty: 0-d tensor R, differentiable w.r.t. the model's parameters (and ``x`` if it requires grad).
    cosines: [B] signed per-sample cosines, detached (for logging; R is the mean of their absolute values);
    [samples] when the regulariser evaluates R on a subset.
    I, J: the regions used. outputs: [B] logits of ``x`` from the shared forward (attached to the graph), so
    a training step needs no other forward for its task loss; None when R ran on a subset of the batch.
    """

    penalty: torch.Tensor
    cosines: torch.Tensor
    I: Region
    J: Region
    outputs: torch.Tensor | None = None


def _check_batch(x, values: bool = True) -> None:
    """Type, shape and batch size; with ``values`` also finiteness (a full pass over x: done once per call)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"x must be a batch of images [B, C, H, W], got shape {list(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got {x.dtype}")
    if x.shape[0] < 2:
        raise ValueError(f"the swap needs a batch of at least 2 images (sample b takes J from sample b + 1), "
                         f"got a batch of {x.shape[0]}")
    if values and not bool(torch.isfinite(x).all()):
        raise ValueError("x contains NaN or inf values")


def swap_region(x: torch.Tensor, J: Region) -> torch.Tensor:
    """``x`` detached, with region ``J`` of sample ``b`` replaced by region ``J`` of sample ``(b + 1) % B``."""
    _check_batch(x)
    if not isinstance(J, Region):
        raise TypeError(f"J must be a rankcore.cnn.Region, got {type(J).__name__}")
    J.check_inside(x.shape[2], x.shape[3])
    return _swap(x, J)


def _swap(x: torch.Tensor, J: Region) -> torch.Tensor:
    rows, cols = J.slices()
    x = x.detach()
    x_tilde = x.clone()
    x_tilde[:, :, rows, cols] = torch.roll(x[:, :, rows, cols], shifts=-1, dims=0)  # [b] <- [b + 1]
    return x_tilde


def _check_eps(eps) -> None:
    # inf would make every cosine 0 (R = 0 whatever the model), NaN every one NaN
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not (0 <= eps < float("inf")):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")


def _binary_targets(y, x: torch.Tensor) -> torch.Tensor:
    """``y`` as [B] targets of x's dtype; TypeError / ValueError unless it is a real tensor of B values in {0, 1},
    shaped [B] or [B, 1], on x's device. A 2 or a 0.5 would not fail in the loss: it would train on nonsense."""
    batch = x.shape[0]
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a torch.Tensor of targets, got {type(y).__name__}")
    if y.is_complex() or y.is_quantized:
        raise TypeError(f"y must be a bool, integer or floating-point tensor, got {y.dtype}")
    if tuple(y.shape) not in ((batch,), (batch, 1)):
        raise ValueError(f"y must hold the batch's targets, one per image: shape [{batch}] (or [{batch}, 1]); "
                         f"got {list(y.shape)}")
    if y.device != x.device:
        raise ValueError(f"y is on {y.device} but x is on {x.device}")
    if not bool(((y == 0) | (y == 1)).all()):
        bad = y[(y != 0) & (y != 1)].flatten()[:3].tolist()
        raise ValueError(f"y must hold binary targets in {{0, 1}}, got values such as {bad}")
    return y.reshape(batch).to(x.dtype)


def _logits(out, batch: int) -> torch.Tensor:
    """The model output as [batch] logits; [batch] and [batch, 1] are accepted."""
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"the model must return a tensor of logits, got {type(out).__name__}")
    if tuple(out.shape) not in ((batch,), (batch, 1)):
        raise ValueError(f"the model must return one logit per image, shape [B] or [B, 1] with B = {batch}; "
                         f"got {list(out.shape)} (for C classes, wrap it to return the true class's logit)")
    return out.reshape(batch)


def _safe_norm(v: torch.Tensor) -> torch.Tensor:
    # sqrt has an infinite derivative at 0 (0 * inf = NaN in the backward of a zero gradient); clamping the
    # squared norm at the smallest normal number changes no value above it and gives a zero derivative below.
    return (v * v).sum(1).clamp_min(torch.finfo(v.dtype).tiny).sqrt()


def _penalty(model, x: torch.Tensor, I: Region, J: Region, eps: float):
    """(R, signed cosines [B] with graph, logits of x [B] with graph): the shared one-pass computation."""
    if not callable(model):
        raise TypeError(f"model must be callable (an nn.Module), got {type(model).__name__}")
    _check_batch(x)
    check_region_pair(I, J)
    height, width = x.shape[2], x.shape[3]
    I.check_inside(height, width)
    J.check_inside(height, width)
    _check_eps(eps)
    batch = x.shape[0]
    inputs = torch.cat([x, _swap(x, J)])
    if not inputs.requires_grad:  # x from a loader: make the concatenation the leaf we differentiate by
        inputs.requires_grad_(True)
    logits = _logits(model(inputs), 2 * batch)
    (grad,) = torch.autograd.grad(logits.sum(), inputs, create_graph=True)
    rows, cols = I.slices()
    g = grad[:, :, rows, cols].reshape(2 * batch, -1)
    g, g_tilde = g[:batch], g[batch:]
    cosines = (g * g_tilde).sum(1) / (_safe_norm(g) * _safe_norm(g_tilde) + eps)
    return cosines.abs().mean(), cosines, logits[:batch]


def anti_locality_penalty(model, x: torch.Tensor, I: Region, J: Region,
                          eps: float = 1e-12) -> tuple[torch.Tensor, torch.Tensor]:
    """The penalty R for fixed regions: ``(R, cosines)``, R differentiable, cosines [B] signed and detached.

    ``model`` maps [N, C, H, W] to [N] or [N, 1] logits; ``x`` is [B, C, H, W] with B >= 2 and finite values;
    ``I`` and ``J`` are disjoint :class:`Region` s inside the image. ``eps`` is absolute: keep it well below
    the product of the two gradient norms (at 1e-12 it only matters for gradients that vanish).
    """
    penalty, cosines, _ = _penalty(model, x, I, J, eps)
    return penalty, cosines.detach()


class AntiLocalityRegularizer(torch.nn.Module):
    """R with regions drawn per batch by ``sampler(height, width, generator) -> (I, J)``.

    Example: ``AntiLocalityRegularizer(SlotPairSampler(slot_a, slot_b))`` for Is-Same-Class,
    ``AntiLocalityRegularizer(DistantSquaresSampler(patch=8, min_distance=24))`` for Pathfinder.
    Holds no parameters; ``forward(model, x, generator=None)`` returns a :class:`PenaltyResult`.

    ``samples`` (optional, >= 2): evaluate R on that many samples of the batch, drawn at random per call (the
    swap partner of a sample is the next one of the subset), instead of all B. R over a random subset is an
    unbiased estimate of R over the batch, with more variance; the double backward then costs in proportion
    to ``samples`` instead of B. :func:`train_step` takes the task loss from its own forward over x in that
    case (the penalty's forward covers the subset only), so BatchNorm's running statistics are updated by both
    forwards. With ``samples=B // 4`` a regularised step costs about 2x a plain step on a CPU instead of 5x
    (bench/RESULTS.md). Default None: every sample, the definition.
    """

    def __init__(self, sampler, eps: float = 1e-12, samples: int | None = None):
        super().__init__()
        if not callable(sampler):
            raise TypeError(f"sampler must be callable as sampler(height, width, generator) -> (I, J), "
                            f"got {type(sampler).__name__}")
        _check_eps(eps)
        if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int) or samples < 2):
            raise ValueError(f"samples must be None (the whole batch) or an int >= 2, got {samples!r}")
        self.sampler, self.eps, self.samples = sampler, float(eps), samples

    def forward(self, model, x: torch.Tensor, generator: torch.Generator | None = None) -> PenaltyResult:
        """R on the batch (or on ``samples`` random samples of it). ``outputs`` are the logits of the samples
        the penalty saw: all of ``x`` by default, else None (the subset's logits are no task loss)."""
        _check_batch(x, values=False)  # the sampler needs H and W; the penalty checks the values
        regions = self.sampler(x.shape[2], x.shape[3], generator)
        if not isinstance(regions, (tuple, list)) or len(regions) != 2:
            raise TypeError(f"the sampler must return the pair of regions (I, J), got {regions!r}")
        I, J = regions  # _penalty checks that they are disjoint Regions inside the image
        if self.samples is not None and self.samples < x.shape[0]:
            subset = torch.randperm(x.shape[0], generator=generator)[: self.samples].to(x.device)
            penalty, cosines, _ = _penalty(model, x[subset], I, J, self.eps)
            return PenaltyResult(penalty, cosines.detach(), I, J, None)
        penalty, cosines, outputs = _penalty(model, x, I, J, self.eps)
        return PenaltyResult(penalty, cosines.detach(), I, J, outputs)

    def extra_repr(self) -> str:
        return f"sampler={self.sampler!r}, eps={self.eps}" + (f", samples={self.samples}" if self.samples else "")


def train_step(model, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
               regularizer: AntiLocalityRegularizer | None = None, lam: float = 0.0, loss_fn=None,
               generator: torch.Generator | None = None) -> dict:
    """One optimiser step on ``loss_fn(logits, y) + lam * R``; returns ``dict(loss, task_loss, penalty)`` floats.

    ``y``: [B] (or [B, 1]) targets in {0, 1} (bool, integer or floating-point), on x's device; any other value
    (2, -1, 0.5, NaN), shape or device is a ValueError. ``loss_fn`` defaults to binary cross-entropy with logits
    and receives [B] logits and [B] targets of x's dtype. With ``lam == 0`` (or no regulariser) this is exactly
    the plain step and ``penalty`` is None: R is not evaluated, since its forward over [x; x~] would cost time
    and change BatchNorm's statistics; measure R on held-out data with :func:`anti_locality_penalty` instead.
    With ``lam > 0`` the task loss uses the ``x`` half of the regulariser's forward (one forward per step).
    The model's train/eval mode is left as it is.
    """
    if isinstance(lam, bool) or not isinstance(lam, (int, float)):
        raise TypeError(f"lam must be a number, got {type(lam).__name__}")
    if not lam >= 0 or lam == float("inf"):
        raise ValueError(f"lam must be finite and >= 0, got {lam}")
    if lam > 0 and regularizer is None:
        raise ValueError(f"lam = {lam} > 0 needs a regularizer (an AntiLocalityRegularizer)")
    if regularizer is not None and not isinstance(regularizer, AntiLocalityRegularizer):
        raise TypeError(f"regularizer must be an AntiLocalityRegularizer (wrap a sampler in one), "
                        f"got {type(regularizer).__name__}")
    _check_batch(x, values=lam == 0)  # with lam > 0 the penalty checks the values
    y = _binary_targets(y, x)
    loss_fn = F.binary_cross_entropy_with_logits if loss_fn is None else loss_fn
    if lam > 0:
        result = regularizer(model, x, generator)
        # the penalty's forward gives x's logits unless it ran on a subset of the batch
        outputs = result.outputs if result.outputs is not None else _logits(model(x), x.shape[0])
        task_loss = loss_fn(outputs, y)
        loss = task_loss + lam * result.penalty
        penalty = result.penalty.item()
    else:
        task_loss = loss = loss_fn(_logits(model(x), x.shape[0]), y)
        penalty = None
    optimizer.zero_grad(set_to_none=True)
    params = [p for group in optimizer.param_groups for p in group["params"] if p.requires_grad]
    # Only into the parameters: no gradient is accumulated into x (or the [x; x~] leaf) that nobody reads.
    loss.backward(inputs=params)
    optimizer.step()
    return {"loss": loss.item(), "task_loss": task_loss.item(), "penalty": penalty}
