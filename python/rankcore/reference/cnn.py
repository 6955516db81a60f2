"""The anti-locality penalty written straight from definitions §4 (the tests' oracle for rankcore.cnn).

Two separate passes, as the published code does: one forward and input-gradient at x, another at x~, then a
per-sample loop for the cosines. No shortcuts: x~ is built sample by sample, norms are torch.linalg norms
(no zero-gradient guard beyond eps). Use with models whose per-sample output does not depend on the rest of
the batch (no train-mode BatchNorm); there g_b is exactly d f(x_b) / d x_b.
"""

from __future__ import annotations

import math

import torch


def swap_region_reference(x: torch.Tensor, J) -> torch.Tensor:
    """x~_b = x_b (detached) with region J taken from x_{(b + 1) mod B}."""
    x = x.detach()
    batch = x.shape[0]
    rows, cols = J.slices()
    swapped = []
    for b in range(batch):
        image = x[b].clone()
        image[:, rows, cols] = x[(b + 1) % batch][:, rows, cols]
        swapped.append(image)
    return torch.stack(swapped)


def input_gradient_reference(model, x: torch.Tensor) -> torch.Tensor:
    """d(sum_b f(x_b)) / dx with create_graph=True, from a forward over x alone."""
    inputs = x if x.requires_grad else x.detach().requires_grad_(True)
    logits = model(inputs).reshape(x.shape[0])
    (grad,) = torch.autograd.grad(logits.sum(), inputs, create_graph=True)
    return grad


def anti_locality_penalty_reference(model, x: torch.Tensor, I, J, eps: float = 1e-12, form: str = "cosine"):
    """(R, cosines [B]), g restricted to I; cosines are the signed <g_b, g~_b> / (||g_b|| ||g~_b|| + eps).

    ``form="cosine"`` (published): R = mean_b |<g_b, g~_b>| / (||g_b|| ||g~_b|| + eps).
    ``form="angle"`` (rankcore's variant, definitions §4): R = mean_b (1 - (2/pi) phi_b) w_b with
    phi_b = arccos(|<g_b, g~_b>| / (||g_b|| ||g~_b||)), the angle between the lines of g_b and g~_b, and
    w_b = ||g_b|| ||g~_b|| / (||g_b|| ||g~_b|| + eps) (eps's damping of the published form); the term is 0 where a
    gradient is 0. Written with arccos, as the definition reads: its value is the oracle; its derivative is
    infinite at phi = 0, so compare gradients only away from it.
    """
    grad = input_gradient_reference(model, x)
    grad_tilde = input_gradient_reference(model, swap_region_reference(x, J))
    rows, cols = I.slices()
    cosines, terms = [], []
    for b in range(x.shape[0]):
        g = grad[b][:, rows, cols].flatten()
        g_tilde = grad_tilde[b][:, rows, cols].flatten()
        norms = torch.linalg.vector_norm(g) * torch.linalg.vector_norm(g_tilde)
        cosines.append(torch.dot(g, g_tilde) / (norms + eps))
        if form == "angle":
            if norms == 0:
                terms.append(torch.zeros((), dtype=g.dtype))
            else:
                phi = torch.arccos((torch.dot(g, g_tilde).abs() / norms).clamp(max=1))
                terms.append((1 - 2 / math.pi * phi) * norms / (norms + eps))
        elif form != "cosine":
            raise ValueError(f"form must be 'cosine' or 'angle', got {form!r}")
    cosines = torch.stack(cosines)
    return (torch.stack(terms).mean() if form == "angle" else cosines.abs().mean()), cosines


def penalty_direction_reference(g: torch.Tensor, g_tilde: torch.Tensor, eps: float = 1e-12):
    """(dR/dg, dR/dg~) for R = mean_b |cos_b|, by hand: with c = <g, g~>, n = |g|, m = |g~|, d = n m + eps,
    d cos / d g = g~ / d - c m g / (n d^2) (and symmetrically), times sign(cos_b) / B. Rows: samples; no row
    may be zero (the norm's derivative is undefined there)."""
    c = (g * g_tilde).sum(1, keepdim=True)
    n = torch.linalg.vector_norm(g, dim=1, keepdim=True)
    m = torch.linalg.vector_norm(g_tilde, dim=1, keepdim=True)
    d = n * m + eps
    scale = torch.sign(c / d) / g.shape[0]
    return scale * (g_tilde / d - c * m * g / (n * d * d)), scale * (g / d - c * n * g_tilde / (m * d * d))


def finite_difference_surrogate_reference(model, x: torch.Tensor, I, J, eps: float = 1e-12, step: float = 1e-6):
    """S whose parameter gradient is the forward-difference estimate of R's (definitions §4), two passes:

    u = dR/dg over region I; h u has RMS ``step`` x RMS(pixels of [x; x~]) over I;
    S = sum_b [f(x_b + h u_b) - f(x_b)] / h + sum_b [f(x~_b + h u~_b) - f(x~_b)] / h.
    Per-sample models only (the forwards of x and x~ are separate, as in anti_locality_penalty_reference).
    """
    x = x.detach()
    x_tilde = swap_region_reference(x, J)
    rows, cols = I.slices()
    g = input_gradient_reference(model, x)[:, :, rows, cols].flatten(1).detach()
    g_tilde = input_gradient_reference(model, x_tilde)[:, :, rows, cols].flatten(1).detach()
    u, u_tilde = penalty_direction_reference(g, g_tilde, eps)
    u_rms = torch.cat([u, u_tilde]).pow(2).mean().sqrt()
    h = step * torch.cat([x, x_tilde]).pow(2).mean().sqrt() / u_rms

    def difference(images, direction):
        shifted = images.clone()
        shifted[:, :, rows, cols] += h * direction.reshape(shifted[:, :, rows, cols].shape)
        return (model(shifted).sum() - model(images).sum()) / h

    return difference(x, u) + difference(x_tilde, u_tilde)
