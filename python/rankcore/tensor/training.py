"""Gradient-descent training of tensor factorizations, with the measurements the papers track."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from ..graph.arguments import check_int


class GlobalAdaptiveGD(torch.optim.Optimizer):
    """Gradient descent with one global adaptive step size.

    p <- p - lr * g / (sqrt(v) + eps), where v is a (bias-corrected) exponential moving average, with
    factor ``beta``, of the squared norm of the whole gradient (all parameters together): the step
    is scaled by the root-mean-square of the gradient norm over recent iterations, so a step has norm
    about lr. One scalar scales every coordinate, so each step points along -g: the trajectory keeps
    the direction of gradient flow (unlike Adam's per-coordinate scaling) while the step size adapts
    to the gradient's overall scale (tiny at small init). ``beta = 0`` divides by the current norm.
    """

    def __init__(self, params, lr: float = 1e-2, beta: float = 0.99, eps: float = 1e-30):
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if not 0 <= beta < 1:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        if not 0 < eps < float("inf"):  # eps <= 0 can divide by zero (or flip the step) once the gradient vanishes
            raise ValueError(f"eps must be finite and > 0, got {eps}")
        super().__init__(params, dict(lr=lr, beta=beta, eps=eps))
        self.state["global"] = {"v": 0.0, "t": 0}

    def add_param_group(self, param_group: dict) -> None:
        """A group may have its own lr; beta and eps belong to the one global average, so they must agree."""
        super().add_param_group(param_group)
        lr = self.param_groups[-1]["lr"]
        if not (isinstance(lr, (int, float)) and 0 < lr < float("inf")):  # a group's own lr skipped __init__'s check
            self.param_groups.pop()
            raise ValueError(f"GlobalAdaptiveGD: a parameter group's lr must be finite and > 0, got {lr!r}")
        first = self.param_groups[0]
        for key in ("beta", "eps"):
            if self.param_groups[-1][key] != first[key]:
                self.param_groups.pop()
                raise ValueError(f"GlobalAdaptiveGD: {key} is global (one average of the whole gradient's norm); "
                                 f"a parameter group asked for {key}={param_group[key]} against {first[key]}")

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        grads = [p.grad for g in self.param_groups for p in g["params"] if p.grad is not None]
        if not grads:
            return loss
        mean_sq = float(sum((g.double() ** 2).sum() for g in grads))
        st = self.state["global"]
        group0 = self.param_groups[0]
        beta = group0["beta"]
        st["t"] += 1
        st["v"] = beta * st["v"] + (1 - beta) * mean_sq
        v_hat = st["v"] / (1 - beta ** st["t"])
        scale = 1.0 / (math.sqrt(v_hat) + group0["eps"])
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=-group["lr"] * scale)
        return loss


@dataclass
class History:
    """Measurements at the logged iterations (``component_norms``: the top-k, largest first)."""

    iterations: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    reconstruction_error: list = field(default_factory=list)
    component_norms: list = field(default_factory=list)
    stopped_early: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("iterations", "loss", "reconstruction_error", "component_norms",
                                              "stopped_early", "seconds")}


def train(model, problem, *, lr: float = 1e-2, max_iterations: int = 10_000, optimizer: str = "adaptive",
          beta: float = 0.99, log_every: int = 100, stop_loss: float | None = None,
          track_error: bool = True, top_k: int = 10) -> History:
    """Minimise ``problem.loss(model)`` by full-batch gradient descent.

    optimizer: ``"adaptive"`` (:class:`GlobalAdaptiveGD`, the papers' choice), ``"gd"`` (fixed step)
    or ``"adam"``. Every ``log_every`` iterations (and at the first and last) records the loss, the
    reconstruction error (``track_error`` and a problem with a target) and the ``top_k`` component
    norms. Stops early once the loss is below ``stop_loss``.
    """
    max_iterations, log_every, top_k = check_loop_arguments(max_iterations, log_every, top_k)
    opt = make_optimizer([p for p in model.parameters() if p.requires_grad], optimizer, lr, beta)

    hist = History()
    start = time.perf_counter()

    def record(it: int, loss_value: float) -> None:
        hist.iterations.append(it)
        hist.loss.append(loss_value)
        if track_error:
            hist.reconstruction_error.append(problem.reconstruction_error(model))
        if hasattr(model, "component_norms"):
            norms = model.component_norms().sort(descending=True).values[:top_k]
            hist.component_norms.append(norms.tolist())

    def evaluate():
        loss = problem.loss(model)
        return float(loss.detach()), loss.backward

    descent_loop(opt, evaluate, record, hist, max_iterations=max_iterations, log_every=log_every,
                 stop_loss=stop_loss)
    hist.seconds = time.perf_counter() - start
    return hist


def check_loop_arguments(max_iterations, log_every, top_k) -> tuple[int, int, int]:
    """The integers of :func:`train` (and of the distributed trainer) by check_int's rule: TypeError for a float
    or bool (top_k's was a ValueError, a max_iterations of 1.5 failed in range()), ValueError when out of range (a
    top_k of -1 sliced [:-1] and silently dropped the last norm; the distributed trainer did not check top_k)."""
    return (check_int("max_iterations", max_iterations, 0), check_int("log_every", log_every, 1),
            check_int("top_k", top_k, 0))


def make_optimizer(params, optimizer: str, lr: float, beta: float) -> torch.optim.Optimizer:
    """``"adaptive"`` (:class:`GlobalAdaptiveGD`), ``"gd"`` (fixed step) or ``"adam"`` over ``params``."""
    if optimizer == "adaptive":
        return GlobalAdaptiveGD(params, lr=lr, beta=beta)
    if optimizer == "gd":
        return torch.optim.SGD(params, lr=lr)
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"optimizer must be 'adaptive', 'gd' or 'adam', got {optimizer!r}")


def descent_loop(opt, evaluate, record, hist: History, *, max_iterations: int, log_every: int,
                 stop_loss: float | None) -> None:
    """The loop of :func:`train` (and of the distributed trainer): the loss at iterations
    0..max_iterations, recorded every ``log_every`` (and at the last, and at an early stop), a step after
    each but the last. ``evaluate()`` returns ``(loss value, backward)``: ``backward`` is called before a
    step, or None when evaluate already ran the backward (DDP needs every rank's backward each time)."""
    for it in range(max_iterations + 1):
        opt.zero_grad(set_to_none=True)
        loss_value, backward = evaluate()
        if not math.isfinite(loss_value):
            raise FloatingPointError(f"loss became {loss_value} at iteration {it}; lower lr")
        done = stop_loss is not None and loss_value < stop_loss
        if it % log_every == 0 or it == max_iterations or done:
            record(it, loss_value)
        if done:
            hist.stopped_early = it < max_iterations
            break
        if it == max_iterations:
            break
        if backward is not None:
            backward()
        opt.step()
