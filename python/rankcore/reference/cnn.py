"""The anti-locality penalty written straight from definitions §4 (the tests' oracle for rankcore.cnn).

Two separate passes, as the published code does: one forward and input-gradient at x, another at x~, then a
per-sample loop for the cosines. No shortcuts: x~ is built sample by sample, norms are torch.linalg norms
(no zero-gradient guard beyond eps). Use with models whose per-sample output does not depend on the rest of
the batch (no train-mode BatchNorm); there g_b is exactly d f(x_b) / d x_b.
"""

from __future__ import annotations

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


def anti_locality_penalty_reference(model, x: torch.Tensor, I, J, eps: float = 1e-12):
    """(R, cosines [B]) with R = mean_b |<g_b, g~_b>| / (||g_b|| ||g~_b|| + eps), g restricted to I."""
    grad = input_gradient_reference(model, x)
    grad_tilde = input_gradient_reference(model, swap_region_reference(x, J))
    rows, cols = I.slices()
    cosines = []
    for b in range(x.shape[0]):
        g = grad[b][:, rows, cols].flatten()
        g_tilde = grad_tilde[b][:, rows, cols].flatten()
        cosines.append(torch.dot(g, g_tilde) / (torch.linalg.vector_norm(g) * torch.linalg.vector_norm(g_tilde) + eps))
    cosines = torch.stack(cosines)
    return cosines.abs().mean(), cosines
