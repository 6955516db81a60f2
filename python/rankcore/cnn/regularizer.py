"""The anti-locality regulariser of Razin, Maman & Cohen (ICML 2022), definitions §4.

For a model ``f`` giving one logit per image, a batch ``x`` ([B, C, H, W]) and two disjoint regions ``I``, ``J``:

* ``x~`` is ``x`` (detached) with region ``J`` of sample ``b`` replaced by region ``J`` of sample ``(b + 1) % B``;
* ``g_b = d f(x_b) / d x_b`` restricted to ``I`` (all channels), flattened; ``g~_b`` the same at ``x~_b``;
* ``R = mean_b |<g_b, g~_b>| / (||g_b|| ||g~_b|| + eps)``; training minimises ``task loss + lam * R``.

If ``f`` has separation rank 1 between ``I`` and ``J`` (``f = g(x_I) h(x_J)`` or ``g(x_I) + h(x_J)``), the
direction of ``g_b`` does not depend on ``x_J``, so ``R = 1``; lowering ``R`` makes ``I`` and ``J`` interact.

``form="angle"`` (rankcore's variant, not the published penalty; definitions §4): ``R = mean_b (1 - (2/pi) phi_b)``
with ``phi_b = arccos |cos_b|`` in [0, pi/2], the angle between the lines spanned by ``g_b`` and ``g~_b``. Same
value 1 on separation-rank-1 models, same minimiser (``phi = pi/2``, orthogonal gradients), but its slope at
``phi = 0`` is ``2/pi`` where ``|cos|``'s is 0 (``|cos| = 1 - phi^2 / 2 + ...``): a model whose interaction is of
size ``epsilon`` gets a push of order ``epsilon`` from the published form and of order 1 from the angle form.

Cost: ``g`` and ``g~`` come from ONE forward over ``torch.cat([x, x~])`` and ONE
``torch.autograd.grad(logits.sum(), inputs, create_graph=True)``; :func:`train_step` also takes the task loss
from the ``x`` half of that forward, so a regularised step runs one forward (of 2B images), not three.
The sum is exact for per-sample models: ``d(sum_c f(x_c)) / d x_b = d f(x_b) / d x_b`` when ``f(x_c)`` does
not depend on ``x_b`` for ``c != b``. The price is the double backward: the forward, the input-gradient
and the backward all run on 2B images and the backward also differentiates the input-gradient pass, about
4x a plain step by operation count and 5-6x measured on a CPU (bench/bench_cnn.py, bench/RESULTS.md).
One pass and the published two passes do the same arithmetic; one pass halves the kernel launches and
doubles the batch per kernel, which is what a GPU rewards (not yet measured); on a CPU they cost the same.
The ``finite_difference`` estimator (:class:`AntiLocalityRegularizer`) replaces the double backward by a
second forward at [x; x~] + h u and first-order backwards: R's value is the same, its gradient a forward
difference (exact to O(h) on smooth models; on ReLU networks dominated by the units that change sign, see
definitions §4).

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

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.func import functional_call

from ..graph.arguments import check_int
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


ESTIMATORS = ("exact", "finite_difference")


def _check_estimator(estimator, fd_step) -> None:
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    if fd_step is None:
        return
    if estimator != "finite_difference":
        raise ValueError(f"fd_step is the step of the finite_difference estimator; the {estimator!r} estimator "
                         f"takes none (got fd_step={fd_step!r})")
    if isinstance(fd_step, bool) or not isinstance(fd_step, (int, float)):
        raise TypeError(f"fd_step must be a number, got {type(fd_step).__name__}")
    if not 0 < fd_step < float("inf"):
        raise ValueError(f"fd_step must be a finite number > 0, got {fd_step!r}")


def _default_fd_step(dtype: torch.dtype) -> float:
    """3 sqrt(machine epsilon): where a forward difference's O(h) truncation and O(eps / h) rounding errors
    balance (1.0e-3 in float32, the best of 1e-1 ... 1e-5 measured on smooth ResNets; 4.5e-8 in float64)."""
    return 3 * torch.finfo(dtype).eps ** 0.5


def _inputs(x: torch.Tensor, J: Region) -> torch.Tensor:
    """[x; x~], a tensor the input gradient can be taken with respect to."""
    inputs = torch.cat([x, _swap(x, J)])
    if not inputs.requires_grad:  # x from a loader: make the concatenation the leaf we differentiate by
        inputs.requires_grad_(True)
    return inputs


FORMS = ("cosine", "angle")


def _check_form(form) -> None:
    if not isinstance(form, str) or form not in FORMS:
        raise ValueError(f"form must be one of {FORMS} (the published |cos| penalty, or rankcore's angle "
                         f"variant), got {form!r}")


def _line_angles(g: torch.Tensor, g_tilde: torch.Tensor, n: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """phi_b in [0, pi/2]: the angle between the lines spanned by g_b and g~_b, i.e. arccos |cos_b|, computed
    without arccos (whose derivative is infinite at |cos| = 1, exactly where the angle form needs its slope).

    With the unit vectors a = g / ||g||, b = g~ / ||g~||, the angle between the vectors is 2 atan2(||a - b||,
    ||a + b||) (accurate to rounding at every angle, also near 0 and pi), and between the lines it is the
    smaller of that and pi minus it: 2 atan2(min(||a - b||, ||a + b||), max(...)). The norms are smoothed at 0
    (:func:`_safe_norm`), so a = b gives phi = 0 with a finite derivative. Where g_b = 0 or g~_b = 0 the
    angle is undefined: phi = pi/2 there, with no gradient. ``n``, ``m``: the smoothed norms of g and g~.
    """
    a, b = g / n.unsqueeze(1), g_tilde / m.unsqueeze(1)
    minus, plus = _safe_norm(a - b), _safe_norm(a + b)
    phi = 2 * torch.atan2(torch.minimum(minus, plus), torch.maximum(minus, plus))
    zero = ((g * g).sum(1) == 0) | ((g_tilde * g_tilde).sum(1) == 0)
    return torch.where(zero, torch.full_like(phi, math.pi / 2), phi)


def _penalty_of(g: torch.Tensor, g_tilde: torch.Tensor, eps: float, form: str):
    """(R, signed cosines). Per sample, a function s of the angle phi between the lines of g_b and g~_b, damped by
    w = ||g|| ||g~|| / (||g|| ||g~|| + eps) exactly as eps damps the published cosine: ``form="cosine"``:
    s = cos phi, i.e. R = mean |<g, g~>| / (||g|| ||g~|| + eps); ``"angle"``: s = 1 - (2/pi) phi. w is 1 up to
    eps / (||g|| ||g~||) and takes a term to 0 continuously as a gradient vanishes (in either form)."""
    n, m = _safe_norm(g), _safe_norm(g_tilde)
    nm = n * m
    cosines = (g * g_tilde).sum(1) / (nm + eps)
    if form == "cosine":
        return cosines.abs().mean(), cosines
    return ((1 - (2 / math.pi) * _line_angles(g, g_tilde, n, m)) * (nm / (nm + eps))).mean(), cosines


def _exact(model, x: torch.Tensor, I: Region, J: Region, eps: float, form: str = "cosine"):
    batch = x.shape[0]
    inputs = _inputs(x, J)
    logits = _logits(model(inputs), 2 * batch)
    (grad,) = torch.autograd.grad(logits.sum(), inputs, create_graph=True)
    rows, cols = I.slices()
    g = grad[:, :, rows, cols].reshape(2 * batch, -1)
    penalty, cosines = _penalty_of(g[:batch], g[batch:], eps, form)
    return penalty, cosines, logits[:batch]


def _without_buffer_updates(model):
    """``model`` as a function that leaves its buffers alone: a train-mode BatchNorm would otherwise count the
    perturbed batch in its running statistics (the exact estimator updates them once per call)."""
    if not isinstance(model, torch.nn.Module) or next(model.buffers(), None) is None:
        return model
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    return lambda inputs: functional_call(model, buffers, (inputs,))


def _finite_difference(model, x: torch.Tensor, I: Region, J: Region, eps: float, fd_step: float | None,
                       form: str = "cosine"):
    """R exactly, and a surrogate whose parameter gradient is the forward-difference estimate of R's.

    With F(X) = sum of the logits of the batch X = [x; x~] and u = dR/dg (input space, zero outside I):
    dR/dtheta = d/dtheta (u . grad_X F(X)) at fixed u = D_u grad_theta F(X) (mixed partials commute)
              ~ (grad_theta F(X + h u) - grad_theta F(X)) / h, the parameter gradient of
    S = (F(X + h u) - F(X)) / h. One batch F and one h for all samples, so train-mode BatchNorm's coupling of
    the samples is differentiated as the exact form does. Cost: first-order passes only (a second forward
    and a backward through both forwards), no double backward.
    """
    batch = x.shape[0]
    inputs = _inputs(x, J)
    logits = _logits(model(inputs), 2 * batch)
    # First order only; the graph stays for the backward of the task loss and of -F(X) / h.
    (grad,) = torch.autograd.grad(logits.sum(), inputs, retain_graph=True)
    rows, cols = I.slices()
    g = grad[:, :, rows, cols].reshape(2 * batch, -1).detach().requires_grad_(True)
    penalty, cosines = _penalty_of(g[:batch], g[batch:], eps, form)
    (u,) = torch.autograd.grad(penalty, g)
    # h relative to the data: u scaled to RMS 1 over I (in float64: u may be tiny, 1 / RMS huge), the step
    # fd_step times the RMS of the batch's pixels.
    u = u.double()
    u_rms = float(u.pow(2).mean().sqrt())
    if u_rms == 0:  # R is stationary in g (cosine form at |cos| = 1, or g = 0 everywhere): the estimate is 0
        surrogate = 0 * logits.sum()
    else:
        step = (_default_fd_step(x.dtype) if fd_step is None else fd_step) \
            * (float(inputs.detach().double().pow(2).mean().sqrt()) or 1.0)
        direction = torch.zeros_like(inputs.detach())
        direction[:, :, rows, cols] = (u / u_rms).to(x.dtype).reshape(2 * batch, x.shape[1], I.height, I.width)
        perturbed = _logits(_without_buffer_updates(model)(inputs + step * direction), 2 * batch)
        surrogate = (perturbed.sum() - logits.sum()) * (u_rms / step)
    # The value of R, the gradient of the surrogate: S - S.detach() is 0 (S is finite).
    return penalty.detach() + (surrogate - surrogate.detach()), cosines.detach(), logits[:batch]


def _penalty(model, x: torch.Tensor, I: Region, J: Region, eps: float, estimator: str = "exact",
             fd_step: float | None = None, form: str = "cosine"):
    """(R, signed cosines [B], logits of x [B] with graph): the shared one-pass computation."""
    if not callable(model):
        raise TypeError(f"model must be callable (an nn.Module), got {type(model).__name__}")
    _check_batch(x)
    check_region_pair(I, J)
    height, width = x.shape[2], x.shape[3]
    I.check_inside(height, width)
    J.check_inside(height, width)
    _check_eps(eps)
    _check_estimator(estimator, fd_step)
    _check_form(form)
    if estimator == "exact":
        return _exact(model, x, I, J, eps, form)
    return _finite_difference(model, x, I, J, eps, fd_step, form)


def anti_locality_penalty(model, x: torch.Tensor, I: Region, J: Region, eps: float = 1e-12,
                          estimator: str = "exact", fd_step: float | None = None,
                          form: str = "cosine") -> tuple[torch.Tensor, torch.Tensor]:
    """The penalty R for fixed regions: ``(R, cosines)``, R differentiable, cosines [B] signed and detached.

    ``model`` maps [N, C, H, W] to [N] or [N, 1] logits; ``x`` is [B, C, H, W] with B >= 2 and finite values;
    ``I`` and ``J`` are disjoint :class:`Region` s inside the image. ``eps`` is absolute: keep it well below
    the product of the two gradient norms (at 1e-12 it only matters for gradients that vanish).
    ``estimator`` / ``fd_step``: how R's gradient is computed; ``form``: ``"cosine"`` (the published R, default) or
    ``"angle"`` (rankcore's variant); see :class:`AntiLocalityRegularizer`. ``cosines`` are the signed cosines
    whatever the form.
    """
    penalty, cosines, _ = _penalty(model, x, I, J, eps, estimator, fd_step, form)
    return penalty, cosines.detach()


class AntiLocalityRegularizer(torch.nn.Module):
    """R with regions drawn per batch by ``sampler(height, width, generator) -> (I, J)``.

    Example: ``AntiLocalityRegularizer(SlotPairSampler(slot_a, slot_b))`` for Is-Same-Class,
    ``AntiLocalityRegularizer(DistantSquaresSampler(patch=8, min_distance=24))`` for Pathfinder.
    Holds no parameters; ``forward(model, x, generator=None)`` returns a :class:`PenaltyResult`.

    ``samples`` (optional, >= 2): evaluate R on that many samples of the batch, drawn at random per call (the
    swap partner of a sample is the next one of the subset), instead of all B. R over a random subset is an
    unbiased estimate of R over the batch, with more variance; the penalty then costs in proportion to
    ``samples`` instead of B. :func:`train_step` takes the task loss from its own forward over x in that
    case (the penalty's forward covers the subset only), so BatchNorm's running statistics are updated by both
    forwards. With ``samples=B // 4`` a regularised step costs 2.2-2.6x a plain step on a CPU instead of 5.1-5.7x,
    with ``B // 8`` 1.7-2.0x (bench/RESULTS.md). Default None: every sample, the definition.

    ``estimator``: how R's parameter gradient is computed (the value of R is exact either way; definitions §4):

    * ``"exact"`` (default): the input gradient with create_graph=True and a double backward.
    * ``"finite_difference"``: first-order passes only. u = dR/dg (an input-space direction, zero outside I),
      then R's gradient = the directional derivative of the parameter gradient of F (the batch's summed logit)
      along u, as the forward difference (grad F(X + h u) - grad F(X)) / h: a second forward at X + h u and
      one backward through both forwards. The step: ``fd_step`` times the RMS pixel of the batch, as the RMS
      of h u over I; default ``3 sqrt(machine eps)`` of x's dtype (1e-3 in float32). Bias O(h) on smooth
      models (relative error 1e-3 ... 1e-1 in float32 on SiLU ResNets). On ReLU / max-pool networks the
      forward difference sees the units that change sign between X and X + h u, which the exact gradient
      does not: there the two gradients are unrelated (cosine about 0), whatever h. 12-17% cheaper than
      the exact form on the whole batch, hardly cheaper on a subset: use it for smooth models.
      The model must be deterministic (no dropout); BatchNorm's running statistics see the X forward only.

    ``form``: which function of the two gradients R is (with either estimator, with or without ``samples``):

    * ``"cosine"`` (default): the published R = mean_b |cos(g_b, g~_b)|.
    * ``"angle"``: rankcore's variant R = mean_b (1 - (2/pi) phi_b), phi_b = arccos |cos_b| the angle between
      the lines of g_b and g~_b (computed stably, :func:`_line_angles`). Also 1 on separation-rank-1 models
      and smallest at orthogonal gradients, but with slope 2/pi at phi = 0, where |cos| = 1 - phi^2/2 + ...
      has slope 0: near R = 1 (almost no interaction) the published form's gradient vanishes with the
      interaction, the angle form's does not. Not the published penalty: results with it are rankcore's.

    ``every`` (default 1): lazy regularisation (as StyleGAN2's lazy R1). :func:`train_step` evaluates R on its
    1st, (every + 1)th, (2 every + 1)th ... call with this regulariser, weighted ``every * lam``, and takes plain
    steps in between: the same penalty gradient in expectation over steps, at 1 / every of its cost (a training
    step then costs ``(every - 1 + c) / every`` plain steps on average, c the cost of a regularised one), with
    the penalty's push arriving in bursts (momentum smooths them). :meth:`take_turn` is the counter.
    """

    def __init__(self, sampler, eps: float = 1e-12, samples: int | None = None, estimator: str = "exact",
                 fd_step: float | None = None, form: str = "cosine", every: int = 1):
        super().__init__()
        if not callable(sampler):
            raise TypeError(f"sampler must be callable as sampler(height, width, generator) -> (I, J), "
                            f"got {type(sampler).__name__}")
        _check_eps(eps)
        if samples is not None:  # None: the whole batch; check_int: a float or bool is a TypeError
            samples = check_int("samples", samples, 2)
        _check_estimator(estimator, fd_step)
        _check_form(form)
        every = check_int("every", every, 1)  # evaluate R on every k-th training step
        self.sampler, self.eps, self.samples = sampler, float(eps), samples
        self.estimator, self.fd_step, self.form, self.every = estimator, fd_step, form, every
        self.calls = 0  # training steps seen (take_turn)

    def take_turn(self) -> bool:
        """Counts one training step; True when R is evaluated on it (the 1st, then every ``every``-th)."""
        due = self.calls % self.every == 0
        self.calls += 1
        return due

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
            penalty, cosines, _ = _penalty(model, x[subset], I, J, self.eps, self.estimator, self.fd_step,
                                           self.form)
            return PenaltyResult(penalty, cosines.detach(), I, J, None)
        penalty, cosines, outputs = _penalty(model, x, I, J, self.eps, self.estimator, self.fd_step, self.form)
        return PenaltyResult(penalty, cosines.detach(), I, J, outputs)

    def extra_repr(self) -> str:
        return (f"sampler={self.sampler!r}, eps={self.eps}" + (f", samples={self.samples}" if self.samples else "")
                + (f", estimator={self.estimator!r}" if self.estimator != "exact" else "")
                + (f", fd_step={self.fd_step}" if self.fd_step is not None else "")
                + (f", form={self.form!r}" if self.form != "cosine" else "")
                + (f", every={self.every}" if self.every != 1 else ""))


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
    A regulariser built with ``every = k > 1`` is evaluated on one step in k, weighted ``k * lam``; the other
    steps are plain (``penalty`` None). The model's train/eval mode is left as it is.
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
    _check_batch(x)  # values too: a penalty on a subset checks only the subset, the task loss sees all of x
    y = _binary_targets(y, x)
    due = lam > 0 and regularizer.take_turn()  # counted only once the arguments are valid
    loss_fn = F.binary_cross_entropy_with_logits if loss_fn is None else loss_fn
    if due:
        result = regularizer(model, x, generator)
        # the penalty's forward gives x's logits unless it ran on a subset of the batch
        outputs = result.outputs if result.outputs is not None else _logits(model(x), x.shape[0])
        task_loss = loss_fn(outputs, y)
        loss = task_loss + (lam * regularizer.every) * result.penalty
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
