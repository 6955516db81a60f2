"""rankcore.cnn: the anti-locality penalty (definitions §4), its region samplers, train_step and resnet18.

Tiny models and images only. The oracle is rankcore.reference.cnn (two separate passes from the definition).
"""

import math

import pytest
import torch
from torch import nn
from torch.func import functional_call

from rankcore.cnn import (AntiLocalityRegularizer, DistantSquaresSampler, Region, ResNet, SlotPairSampler,
                          anti_locality_penalty, resnet18, swap_region, train_step)
from rankcore.reference.cnn import (anti_locality_penalty_reference, finite_difference_surrogate_reference,
                                    input_gradient_reference, penalty_direction_reference, swap_region_reference)

SHAPE = (2, 6, 8)  # C, H, W of the small test images
I_REGION = Region(0, 0, 3, 3)
J_REGION = Region(3, 5, 3, 3)


def images(batch=5, shape=SHAPE, seed=0, dtype=torch.float64):
    return torch.randn(batch, *shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def mask_without(region: Region, shape=SHAPE, dtype=torch.float64) -> torch.Tensor:
    mask = torch.ones(shape, dtype=dtype)
    rows, cols = region.slices()
    mask[:, rows, cols] = 0
    return mask


def tanh_mlp(inputs: int, hidden: int, bias: bool = True) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(inputs, hidden), nn.Tanh(), nn.Linear(hidden, 1, bias=bias))


class SeparableModel(nn.Module):
    """f = g(x without J) * h(x without I) or g + h: separation rank 1 between I and J for any other pixels."""

    def __init__(self, form: str, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        size = math.prod(SHAPE)
        self.g = tanh_mlp(size, 8)
        self.h = tanh_mlp(size, 8, bias=False)  # odd in x: takes either sign over a batch of N(0, 1) images
        self.form = form
        self.register_buffer("not_j", mask_without(J_REGION))
        self.register_buffer("not_i", mask_without(I_REGION))
        self.double()

    def forward(self, x):
        # Scaled so the gradients are O(1): eps is absolute and would show at 1e-6 on gradients of 1e-4.
        g, h = 10 * self.g(x * self.not_j), 10 * self.h(x * self.not_i)
        return g * h if self.form == "product" else g + h


class InteractingModel(nn.Module):
    """f = sum_k tanh(a_k . x_I + b_k . x_J)^2: I and J interact, so R < 1."""

    def __init__(self, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        size = SHAPE[0] * 9
        self.a = nn.Parameter(torch.randn(4, size, generator=gen, dtype=torch.float64) / 3)
        self.b = nn.Parameter(torch.randn(4, size, generator=gen, dtype=torch.float64) / 3)

    def forward(self, x):
        (ri, ci), (rj, cj) = I_REGION.slices(), J_REGION.slices()
        z = x[:, :, ri, ci].flatten(1) @ self.a.T + x[:, :, rj, cj].flatten(1) @ self.b.T
        return torch.tanh(z).pow(2).sum(1)


def smooth_conv_model(channels=SHAPE[0], seed=0, batchnorm=False) -> nn.Module:
    """Tanh conv net (smooth: no ReLU kinks), [N, C, H, W] -> [N, 1]."""
    torch.manual_seed(seed)
    layers = [nn.Conv2d(channels, 2, 3, padding=1)]
    if batchnorm:
        layers.append(nn.BatchNorm2d(2))
    layers += [nn.Tanh(), nn.Conv2d(2, 2, 3, padding=1), nn.Tanh(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Linear(2, 1)]
    model = nn.Sequential(*layers).double()
    if batchnorm:  # eval-mode BatchNorm with non-trivial statistics: per sample, but not the identity
        bn = layers[1]
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.5, 0.5)
        model.eval()
    return model


# --------------------------------------------------------------------------------------------------
# the penalty's value


@pytest.mark.parametrize("form", ["product", "sum"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_separation_rank_one_gives_one(form, seed):
    model = SeparableModel(form, seed)
    penalty, cosines = anti_locality_penalty(model, images(6, seed=seed), I_REGION, J_REGION)
    assert abs(penalty.item() - 1) < 1e-6
    torch.testing.assert_close(cosines.abs(), torch.ones(6, dtype=torch.float64), rtol=0, atol=1e-6)


def test_product_form_with_sign_changes_still_gives_one():
    # h(x_J) changes sign when J is swapped for some samples: the cosine is -1 there and |cos| is 1.
    model = SeparableModel("product", seed=0)
    penalty, cosines = anti_locality_penalty(model, images(16, seed=3), I_REGION, J_REGION)
    assert (cosines < 0).any() and (cosines > 0).any()
    assert abs(penalty.item() - 1) < 1e-6


def test_separation_rank_one_in_float32():
    model = SeparableModel("product", seed=1).float()
    penalty, _ = anti_locality_penalty(model, images(6, seed=1, dtype=torch.float32), I_REGION, J_REGION)
    assert abs(penalty.item() - 1) < 1e-6


def test_interaction_gives_less_than_one():
    penalty, cosines = anti_locality_penalty(InteractingModel(), images(8), I_REGION, J_REGION)
    assert penalty.item() < 0.9
    assert (cosines.abs() <= 1 + 1e-12).all()


def test_zero_gradient_gives_zero_and_no_nan():
    # f ignores region I entirely: g = 0, cos = 0 by eps, and the double backward stays finite.
    model = SeparableModel("sum", seed=0)
    model.g = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(SHAPE), 1)).double()
    nn.init.zeros_(model.g[1].weight)
    penalty, cosines = anti_locality_penalty(model, images(4), I_REGION, J_REGION)
    assert penalty.item() == 0 and (cosines == 0).all()
    penalty.backward()
    for p in model.parameters():
        assert p.grad is None or torch.isfinite(p.grad).all()


# --------------------------------------------------------------------------------------------------
# one pass against the two-pass reference


def _compare_with_reference(model, x, I, J):
    penalty, cosines = anti_locality_penalty(model, x, I, J)
    expected, expected_cosines = anti_locality_penalty_reference(model, x, I, J)
    torch.testing.assert_close(penalty, expected, rtol=0, atol=1e-10)
    torch.testing.assert_close(cosines, expected_cosines.detach(), rtol=0, atol=1e-10)
    params = [p for p in model.parameters() if p.requires_grad]
    # The last layer's bias does not reach the input gradient: unused, compared as None on both sides.
    grads = torch.autograd.grad(penalty, params, allow_unused=True)
    expected_grads = torch.autograd.grad(expected, params, allow_unused=True)
    assert sum(g is not None for g in grads) >= len(params) - 1
    for got, want in zip(grads, expected_grads):
        assert (got is None) == (want is None)
        if got is not None:
            torch.testing.assert_close(got, want, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("batchnorm", [False, True])
def test_one_pass_equals_two_pass_reference(batchnorm):
    _compare_with_reference(smooth_conv_model(batchnorm=batchnorm), images(5), I_REGION, J_REGION)


def test_one_pass_equals_reference_on_resnet_in_eval_mode():
    torch.manual_seed(0)
    model = resnet18(in_channels=2, width=2).double()
    model.train()
    for _ in range(3):  # give BatchNorm non-trivial running statistics, then evaluate per sample
        model(images(8, seed=5))
    model.eval()
    _compare_with_reference(model, images(4, seed=6), Region(1, 0, 2, 3), Region(0, 4, 6, 4))


def test_gradient_with_respect_to_x_matches_reference():
    # x~ is detached: R depends on x through g only, in both implementations.
    model = smooth_conv_model()
    x = images(4).requires_grad_(True)
    (got,) = torch.autograd.grad(anti_locality_penalty(model, x, I_REGION, J_REGION)[0], x)
    (want,) = torch.autograd.grad(anti_locality_penalty_reference(model, x, I_REGION, J_REGION)[0], x)
    torch.testing.assert_close(got, want, rtol=1e-8, atol=1e-10)


def test_swap_region_matches_reference_and_definition():
    x = images(4)
    swapped = swap_region(x, J_REGION)
    torch.testing.assert_close(swapped, swap_region_reference(x, J_REGION), rtol=0, atol=0)
    rows, cols = J_REGION.slices()
    assert torch.equal(swapped[3, :, rows, cols], x[0, :, rows, cols])  # the last sample takes from the first
    outside = mask_without(J_REGION).bool().expand_as(x)
    assert torch.equal(swapped[outside], x[outside])
    assert not swap_region(x.clone().requires_grad_(True), J_REGION).requires_grad


# --------------------------------------------------------------------------------------------------
# gradients against finite differences (float64, through the double backward)


@pytest.mark.parametrize("form", ["cosine", "angle"])
def test_gradcheck_parameters(form):
    model = smooth_conv_model(channels=1)
    x = images(3, shape=(1, 5, 6))
    I, J = Region(0, 0, 2, 2), Region(3, 3, 2, 3)
    names = [name for name, _ in model.named_parameters()]

    def penalty_of(*params):
        call = lambda inputs: functional_call(model, dict(zip(names, params)), (inputs,))  # noqa: E731
        return anti_locality_penalty(call, x, I, J, form=form)[0]

    params = tuple(p.detach().clone().requires_grad_(True) for p in model.parameters())
    assert torch.autograd.gradcheck(penalty_of, params, eps=1e-6, atol=1e-7)


def test_gradcheck_input():
    # With x~ held fixed (it is detached by definition), R as a function of x; the fast path's x-gradient
    # equals the reference's (test above), and this checks that gradient against finite differences.
    model = smooth_conv_model(channels=1)
    x0 = images(3, shape=(1, 5, 6))
    I, J = Region(0, 0, 2, 2), Region(3, 3, 2, 3)
    grad_tilde = input_gradient_reference(model, swap_region(x0, J)).detach()
    rows, cols = I.slices()

    def penalty_of(x):
        g = input_gradient_reference(model, x)[:, :, rows, cols].flatten(1)
        gt = grad_tilde[:, :, rows, cols].flatten(1)
        return ((g * gt).sum(1) / (g.norm(dim=1) * gt.norm(dim=1) + 1e-12)).abs().mean()

    assert torch.autograd.gradcheck(penalty_of, (x0.clone().requires_grad_(True),), eps=1e-6, atol=1e-7)


# --------------------------------------------------------------------------------------------------
# regions and samplers


def test_region_geometry():
    a = Region(0, 0, 2, 3)
    assert a.slices() == (slice(0, 2), slice(0, 3))
    assert a.distance(Region(0, 3, 2, 2)) == 0 and not a.overlaps(Region(0, 3, 2, 2))  # touching
    assert a.distance(Region(0, 7, 2, 2)) == 4  # four pixel columns between them
    assert a.distance(Region(5, 6, 1, 1)) == math.hypot(3, 3)  # three rows and three columns between them
    assert a.overlaps(Region(1, 2, 5, 5)) and a.distance(Region(1, 2, 5, 5)) == 0
    a.check_inside(2, 3)
    with pytest.raises(ValueError, match="does not fit"):
        a.check_inside(2, 2)
    with pytest.raises(ValueError, match=">= 1"):
        Region(0, 0, 0, 2)
    with pytest.raises(ValueError, match=">= 0"):
        Region(-1, 0, 2, 2)
    with pytest.raises(TypeError):
        Region(0, 0, 2.0, 2)


def test_region_distance_brute_force():
    gen = torch.Generator().manual_seed(0)
    for _ in range(200):
        t1, l1, t2, l2 = torch.randint(0, 10, (4,), generator=gen).tolist()
        h1, w1, h2, w2 = torch.randint(1, 4, (4,), generator=gen).tolist()
        a, b = Region(t1, l1, h1, w1), Region(t2, l2, h2, w2)
        # closest points of the closed squares [r, r + 1] x [c, c + 1] of the two pixel sets
        best = min(math.hypot(max(0, abs(r1 - r2) - 1), max(0, abs(c1 - c2) - 1))
                   for r1 in range(t1, t1 + h1) for c1 in range(l1, l1 + w1)
                   for r2 in range(t2, t2 + h2) for c2 in range(l2, l2 + w2))
        assert a.distance(b) == pytest.approx(best)
        assert a.overlaps(b) == bool(set((r, c) for r in range(t1, t1 + h1) for c in range(l1, l1 + w1))
                                     & set((r, c) for r in range(t2, t2 + h2) for c in range(l2, l2 + w2)))


@pytest.mark.parametrize("height,width,patch,min_distance", [(12, 12, 3, 4.0), (9, 16, 4, 6.5), (8, 8, 2, 0),
                                                             (6, 20, 3, 12)])
def test_distant_squares_respect_shape_inside_and_distance(height, width, patch, min_distance):
    sampler = DistantSquaresSampler(patch, min_distance)
    seen_i = set()
    for seed in range(300):
        I, J = sampler(height, width, torch.Generator().manual_seed(seed))
        for region in (I, J):
            assert (region.height, region.width) == (patch, patch)
            region.check_inside(height, width)
        assert I.distance(J) >= min_distance and not I.overlaps(J)
        seen_i.add((I.top, I.left))
    assert len(seen_i) > 10  # I moves around the image


def test_distant_squares_cover_exactly_the_valid_pairs():
    height, width, patch, min_distance = 6, 7, 2, 2.5
    positions = [(t, l) for t in range(height - patch + 1) for l in range(width - patch + 1)]
    valid = {(a, b) for a in positions for b in positions
             if Region(*a, patch, patch).distance(Region(*b, patch, patch)) >= min_distance}
    sampler, gen, drawn = DistantSquaresSampler(patch, min_distance), torch.Generator().manual_seed(0), set()
    for _ in range(4000):
        I, J = sampler(height, width, gen)
        drawn.add(((I.top, I.left), (J.top, J.left)))
    assert drawn <= valid and len(drawn) > 0.9 * len(valid)


def test_samplers_are_deterministic_given_a_generator():
    for sampler in (DistantSquaresSampler(3, 5.0), SlotPairSampler(I_REGION, J_REGION)):
        first = [sampler(16, 16, g) for g in [torch.Generator().manual_seed(7)] for _ in range(20)]
        gen = torch.Generator().manual_seed(7)
        assert first == [sampler(16, 16, gen) for _ in range(20)]


def test_slot_pair_sampler_picks_either_order():
    sampler, gen = SlotPairSampler(I_REGION, J_REGION), torch.Generator().manual_seed(0)
    orders = {sampler(SHAPE[1], SHAPE[2], gen) for _ in range(50)}
    assert orders == {(I_REGION, J_REGION), (J_REGION, I_REGION)}


def test_sampler_errors():
    with pytest.raises(ValueError, match="disjoint"):
        SlotPairSampler(Region(0, 0, 3, 3), Region(2, 2, 3, 3))
    with pytest.raises(ValueError, match="does not fit"):
        SlotPairSampler(I_REGION, Region(0, 6, 3, 3))(6, 8)
    with pytest.raises(ValueError, match="no two 4x4 squares"):
        DistantSquaresSampler(4, 10)(10, 10)
    with pytest.raises(ValueError, match="does not fit"):
        DistantSquaresSampler(9, 0)(8, 16)
    with pytest.raises(ValueError, match="min_distance"):
        DistantSquaresSampler(3, -1.0)
    with pytest.raises(ValueError, match="patch"):
        DistantSquaresSampler(0, 1.0)


# --------------------------------------------------------------------------------------------------
# bad inputs


def test_bad_inputs_raise_clear_errors():
    model, x = SeparableModel("sum"), images(4)
    with pytest.raises(ValueError, match="does not fit"):
        anti_locality_penalty(model, x, I_REGION, Region(4, 6, 3, 3))
    with pytest.raises(ValueError, match="disjoint"):
        anti_locality_penalty(model, x, I_REGION, Region(2, 2, 2, 2))
    with pytest.raises(ValueError, match="at least 2"):
        anti_locality_penalty(model, x[:1], I_REGION, J_REGION)
    for bad in (float("nan"), float("inf")):
        x_bad = x.clone()
        x_bad[1, 0, 2, 2] = bad
        with pytest.raises(ValueError, match="NaN or inf"):
            anti_locality_penalty(model, x_bad, I_REGION, J_REGION)
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        anti_locality_penalty(model, x[0], I_REGION, J_REGION)
    with pytest.raises(TypeError, match="floating-point"):
        anti_locality_penalty(model, x.long(), I_REGION, J_REGION)
    with pytest.raises(TypeError, match="Region"):
        anti_locality_penalty(model, x, (0, 0, 3, 3), J_REGION)
    with pytest.raises(ValueError, match=r"one logit per image"):
        anti_locality_penalty(lambda inputs: model(inputs).repeat(1, 2), x, I_REGION, J_REGION)
    with pytest.raises(TypeError, match="callable"):
        anti_locality_penalty("model", x, I_REGION, J_REGION)
    with pytest.raises(TypeError, match="sampler"):
        AntiLocalityRegularizer(sampler=None)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    regularizer = AntiLocalityRegularizer(SlotPairSampler(I_REGION, J_REGION))
    with pytest.raises(ValueError, match="lam"):
        train_step(model, optimizer, x, torch.zeros(4), regularizer, lam=-0.5)
    with pytest.raises(ValueError, match="needs a regularizer"):
        train_step(model, optimizer, x, torch.zeros(4), None, lam=1.0)
    with pytest.raises(ValueError, match="targets"):
        train_step(model, optimizer, x, torch.zeros(3), regularizer, lam=1.0)
    x_bad = x.clone()
    x_bad[0, 0, 0, 0] = float("nan")
    for lam in (0.0, 1.0):  # checked by train_step itself, or by the penalty
        with pytest.raises(ValueError, match="NaN or inf"):
            train_step(model, optimizer, x_bad, torch.zeros(4), regularizer, lam=lam)
    with pytest.raises(ValueError, match="at least 2"):
        regularizer(model, x[:1])


NAN = float("nan")


@pytest.mark.parametrize("y, error, match", [
    (torch.tensor([0.0, 1, 2, 0]), ValueError, r"\{0, 1\}"),
    (torch.tensor([0, -1, 1, 0]), ValueError, r"\{0, 1\}"),
    (torch.tensor([0.5, 1, 0, 0]), ValueError, r"\{0, 1\}"),
    (torch.tensor([NAN, 1, 0, 0]), ValueError, r"\{0, 1\}"),
    (torch.tensor([float("inf"), 1, 0, 0]), ValueError, r"\{0, 1\}"),
    (torch.zeros(2, 2), ValueError, r"shape \[4\]"),  # 4 values, but not one per image
    (torch.zeros(4, 2), ValueError, r"shape \[4\]"),
    (torch.zeros(1, 4), ValueError, r"shape \[4\]"),
    (torch.zeros(3), ValueError, r"shape \[4\]"),
    (torch.zeros(()), ValueError, r"shape \[4\]"),
    (torch.zeros(4, device="meta"), ValueError, "device|on meta"),
    (torch.zeros(4, dtype=torch.complex64), TypeError, "complex"),
    ([0, 1, 0, 1], TypeError, "torch.Tensor"),
])
@pytest.mark.parametrize("lam", [0.0, 1.0])
def test_train_step_rejects_targets_that_are_not_binary(y, error, match, lam):
    model, x = SeparableModel("sum"), images(4)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    regularizer = AntiLocalityRegularizer(SlotPairSampler(I_REGION, J_REGION))
    with pytest.raises(error, match=match):
        train_step(model, optimizer, x, y, regularizer, lam=lam)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # no step was taken


@pytest.mark.parametrize("y", [torch.tensor([False, True, True, False]), torch.tensor([0, 1, 1, 0]),
                               torch.tensor([0, 1, 1, 0], dtype=torch.uint8), torch.tensor([[0.0], [1], [1], [0]])])
def test_train_step_accepts_binary_targets_of_any_real_dtype(y):
    x = images(4)
    losses = []
    for targets in (torch.tensor([0.0, 1, 1, 0], dtype=torch.float64), y):
        model = SeparableModel("sum")
        stats = train_step(model, torch.optim.SGD(model.parameters(), lr=0.1), x, targets,
                           AntiLocalityRegularizer(SlotPairSampler(I_REGION, J_REGION)), lam=1.0,
                           generator=torch.Generator().manual_seed(0))
        losses.append(stats["loss"])
    assert losses[0] == losses[1]


def test_other_entry_points_reject_bad_regions_and_numbers():
    model, x = SeparableModel("sum"), images(4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    regularizer = AntiLocalityRegularizer(SlotPairSampler(I_REGION, J_REGION))
    for lam in (NAN, float("inf"), -1.0):
        with pytest.raises(ValueError, match="lam"):
            train_step(model, optimizer, x, torch.zeros(4), regularizer, lam=lam)
    with pytest.raises(TypeError, match="AntiLocalityRegularizer"):  # a sampler is not a regulariser
        train_step(model, optimizer, x, torch.zeros(4), SlotPairSampler(I_REGION, J_REGION), lam=1.0)
    for eps in (NAN, float("inf"), -1e-12):
        with pytest.raises(ValueError, match="eps"):
            anti_locality_penalty(model, x, I_REGION, J_REGION, eps=eps)
        with pytest.raises(ValueError, match="eps"):
            AntiLocalityRegularizer(SlotPairSampler(I_REGION, J_REGION), eps=eps)
    # regions: empty, negative, out of the canvas, overlapping (also when a custom sampler returns them)
    for args in ((0, 0, 0, 3), (0, 0, 3, 0), (-1, 0, 2, 2), (0, -1, 2, 2)):
        with pytest.raises(ValueError, match="Region"):
            Region(*args)
    with pytest.raises(TypeError, match="Region"):
        Region(0.0, 0, 2, 2)
    for bad in (Region(5, 0, 2, 2), Region(0, 7, 1, 2)):  # rows 5..6 of 6, columns 7..8 of 8
        with pytest.raises(ValueError, match="does not fit"):
            anti_locality_penalty(model, x, bad, J_REGION)
        with pytest.raises(ValueError, match="does not fit"):
            swap_region(x, bad)
    for sampled in ((I_REGION, Region(1, 1, 3, 3)), (I_REGION, Region(4, 6, 3, 3)), (I_REGION,),
                    (I_REGION, (3, 5, 3, 3)), None):
        reg = AntiLocalityRegularizer(lambda h, w, g, sampled=sampled: sampled)
        with pytest.raises((ValueError, TypeError), match="disjoint|does not fit|pair of regions|Region"):
            reg(model, x)
    with pytest.raises(TypeError, match=r"blocks\[1\] must be an int"):  # check_int's rule (was a ValueError)
        ResNet(blocks=(2, True, 2, 2))


# --------------------------------------------------------------------------------------------------
# the regulariser module, train_step, BatchNorm statistics, resnet18


def test_regularizer_module_uses_the_sampled_regions():
    model, x = smooth_conv_model(), images(4)
    regularizer = AntiLocalityRegularizer(SlotPairSampler(I_REGION, J_REGION))
    result = regularizer(model, x, torch.Generator().manual_seed(1))
    expected, cosines = anti_locality_penalty(model, x, result.I, result.J)
    torch.testing.assert_close(result.penalty, expected, rtol=0, atol=0)
    torch.testing.assert_close(result.cosines, cosines, rtol=0, atol=0)
    torch.testing.assert_close(result.outputs, model(x).reshape(4), rtol=0, atol=1e-12)


def test_one_forward_of_the_concatenated_batch_and_one_batchnorm_update():
    torch.manual_seed(0)
    model = resnet18(in_channels=1, width=2)
    batch_sizes = []
    model.register_forward_hook(lambda module, args, out: batch_sizes.append(args[0].shape[0]))
    x, y = torch.randn(6, 1, 8, 8), torch.tensor([0.0, 1, 0, 1, 1, 0])
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
    sampler = DistantSquaresSampler(2, 2.0)
    stats = train_step(model, optimizer, x, y, AntiLocalityRegularizer(sampler), lam=1.0)
    assert batch_sizes == [12] and 0 <= stats["penalty"] <= 1
    assert stats["loss"] == pytest.approx(stats["task_loss"] + stats["penalty"])
    assert int(model.stem[1].num_batches_tracked) == 1
    stats = train_step(model, optimizer, x, y, AntiLocalityRegularizer(sampler), lam=0.0)
    assert batch_sizes == [12, 6] and stats["penalty"] is None and stats["loss"] == stats["task_loss"]
    assert int(model.stem[1].num_batches_tracked) == 2


def test_train_step_reduces_the_loss():
    # A trivially learnable task (label = the sign of the image mean); a few steps must lower the loss.
    torch.manual_seed(0)
    model = resnet18(in_channels=1, width=4)
    x = torch.randn(16, 1, 8, 8) + torch.randn(16, 1, 1, 1)
    y = (x.mean((1, 2, 3)) > 0).float()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    regularizer = AntiLocalityRegularizer(DistantSquaresSampler(2, 3.0))
    gen = torch.Generator().manual_seed(0)
    losses = [train_step(model, optimizer, x, y, regularizer, lam=0.1, generator=gen)["task_loss"] for _ in range(8)]
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("samples", [None, 2])
def test_lazy_regularisation_penalises_one_step_in_every_with_every_times_lambda(samples):
    """every = 3: steps 0 and 3 of six are the every = 1 step at 3 * lam (same regions, same subset draw), the
    others plain steps; parameters follow that schedule exactly."""
    x, y = images(6), torch.tensor([0.0, 1, 0, 1, 1, 0], dtype=torch.float64)
    lazy_model, ref_model = smooth_conv_model(seed=3), smooth_conv_model(seed=3)
    lazy_opt = torch.optim.SGD(lazy_model.parameters(), lr=0.1)
    ref_opt = torch.optim.SGD(ref_model.parameters(), lr=0.1)
    sampler = SlotPairSampler(I_REGION, J_REGION)
    lazy = AntiLocalityRegularizer(sampler, samples=samples, every=3, form="angle")
    assert "every=3" in repr(lazy)
    for step in range(6):
        got = train_step(lazy_model, lazy_opt, x, y, lazy, lam=0.2, generator=torch.Generator().manual_seed(step))
        if step % 3 == 0:
            eager = AntiLocalityRegularizer(sampler, samples=samples, form="angle")
            want = train_step(ref_model, ref_opt, x, y, eager, lam=0.6, generator=torch.Generator().manual_seed(step))
            assert got["penalty"] == pytest.approx(want["penalty"], rel=1e-12)
        else:
            want = train_step(ref_model, ref_opt, x, y)
            assert got["penalty"] is None
        assert got["loss"] == pytest.approx(want["loss"], rel=1e-12)
        for a, b in zip(lazy_model.parameters(), ref_model.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    assert lazy.calls == 6
    bad = x.clone()
    bad[0, 0, 0, 0] = float("nan")
    for step in range(3):  # penalised (on a subset that may miss sample 0) or plain: x is checked whole
        with pytest.raises(ValueError, match="NaN or inf"):
            train_step(lazy_model, lazy_opt, bad, y, lazy, lam=0.2, generator=torch.Generator().manual_seed(step))
        lazy.take_turn()
    for every in (0, -1):
        with pytest.raises(ValueError, match="every"):
            AntiLocalityRegularizer(sampler, every=every)
    for every in (1.5, True):  # check_int's rule: a float or bool is a TypeError (was a ValueError)
        with pytest.raises(TypeError, match="every must be an int"):
            AntiLocalityRegularizer(sampler, every=every)


@pytest.mark.parametrize("in_channels,width,size,stem,num_outputs", [(1, 2, 8, "small", 1), (3, 4, 17, "small", 3),
                                                                      (1, 1, 32, "imagenet", 1),
                                                                      (2, 3, 9, "imagenet", 2)])
def test_resnet18_shapes(in_channels, width, size, stem, num_outputs):
    model = resnet18(in_channels=in_channels, num_outputs=num_outputs, width=width, stem=stem)
    out = model(torch.randn(3, in_channels, size, size + 3))
    assert out.shape == (3, num_outputs)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size != (1, 1)]
    assert len(convs) == 17  # stem + 16 block convolutions: ResNet-18
    assert model.head.in_features == 8 * width


def test_resnet18_errors():
    with pytest.raises(ValueError, match="stem"):
        resnet18(stem="cifar")
    with pytest.raises(ValueError, match="width"):
        resnet18(width=0)
    for value in (2.0, True):  # check_int's rule: a float or bool is a TypeError (was a ValueError)
        with pytest.raises(TypeError, match="width must be an int"):
            resnet18(width=value)
    with pytest.raises(ValueError, match=r"\[B, 1, H, W\]"):
        resnet18(width=2)(torch.randn(2, 3, 8, 8))


def test_penalty_on_a_random_subset_equals_the_penalty_of_that_subset():
    from rankcore.cnn import AntiLocalityRegularizer, Region, anti_locality_penalty

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.Tanh(), torch.nn.Flatten(),
                                torch.nn.Linear(3 * 6 * 10, 1)).double()
    x = torch.randn(12, 1, 6, 10, dtype=torch.float64)
    I, J = Region(0, 0, 3, 3), Region(3, 6, 3, 4)

    def fixed(h, w, g):
        return I, J

    reg = AntiLocalityRegularizer(fixed, samples=5)
    result = reg(model, x, torch.Generator().manual_seed(7))
    subset = torch.randperm(12, generator=torch.Generator().manual_seed(7))[:5]
    expected, cosines = anti_locality_penalty(model, x[subset], I, J)
    assert result.outputs is None and result.cosines.shape == (5,)
    assert torch.allclose(result.penalty, expected, atol=1e-12) and torch.allclose(result.cosines, cosines)
    # train_step with a subset regulariser still trains on the whole batch
    from rankcore.cnn import train_step

    stats = train_step(model, torch.optim.SGD(model.parameters(), lr=1e-3), x, (x.sum((1, 2, 3)) > 0).double(),
                       reg, lam=1.0)
    assert stats["penalty"] is not None and stats["task_loss"] > 0
    for bad in (1, 0):
        with pytest.raises(ValueError, match="samples"):
            AntiLocalityRegularizer(fixed, samples=bad)
    for bad in (True, 2.5):  # check_int's rule: a float or bool is a TypeError (was a ValueError)
        with pytest.raises(TypeError, match="samples must be an int"):
            AntiLocalityRegularizer(fixed, samples=bad)


# --------------------------------------------------------------------------------------------------
# the finite-difference estimator: R exactly, its gradient by first-order passes (definitions §4)

FD = "finite_difference"


def smoothed(model: nn.Module) -> nn.Module:
    """``model`` with ReLU -> SiLU and max-pool -> average pool: the same network without kinks."""
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, nn.ReLU):
                setattr(module, name, nn.SiLU())
            elif isinstance(child, nn.MaxPool2d):
                setattr(module, name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding))
    return model


def small_resnet(seed=0, train=True, smooth=True, stem="small", dtype=torch.float64) -> nn.Module:
    torch.manual_seed(seed)
    model = resnet18(in_channels=SHAPE[0], width=2, stem=stem).to(dtype)
    if smooth:
        smoothed(model)
    model.train()
    for _ in range(2):  # non-trivial running statistics (used in eval mode)
        model(images(8, seed=seed + 10, dtype=dtype))
    return model.train(train)


def parameter_gradient(penalty, model) -> torch.Tensor:
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(penalty, params, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).flatten() for g, p in zip(grads, params)])


def agreement(got: torch.Tensor, want: torch.Tensor) -> tuple[float, float]:
    """(cosine, relative error) of two gradient vectors."""
    got, want = got.detach().double(), want.detach().double()
    return float(got @ want / (got.norm() * want.norm())), float((got - want).norm() / want.norm())


SMOOTH_MODELS = {
    "tanh-convnet": lambda: smooth_conv_model(),
    "tanh-convnet-eval-batchnorm": lambda: smooth_conv_model(batchnorm=True),
    "silu-resnet-train": lambda: small_resnet(train=True),  # train-mode BatchNorm couples the samples
    "silu-resnet-eval": lambda: small_resnet(train=False),
    "silu-resnet-imagenet-stem": lambda: small_resnet(stem="imagenet"),
}


@pytest.mark.parametrize("name", [*SMOOTH_MODELS, "relu-resnet"])
def test_finite_difference_value_is_the_exact_value(name):
    model = small_resnet(smooth=False) if name == "relu-resnet" else SMOOTH_MODELS[name]()
    shape = (SHAPE[0], 12, 12) if "imagenet" in name else SHAPE  # the ImageNet stem down-samples 4x
    x = images(6, shape=shape, seed=1)
    I, J = Region(0, 0, 3, 3), Region(shape[1] - 3, shape[2] - 3, 3, 3)
    exact, exact_cosines = anti_locality_penalty(model, x, I, J)
    got, cosines = anti_locality_penalty(model, x, I, J, estimator=FD)
    torch.testing.assert_close(got, exact.detach(), rtol=1e-10, atol=0)
    torch.testing.assert_close(cosines, exact_cosines, rtol=1e-10, atol=1e-12)
    assert got.requires_grad


def test_finite_difference_value_in_float32():
    model = small_resnet(smooth=False, dtype=torch.float32)
    x = images(6, seed=1, dtype=torch.float32)
    exact, _ = anti_locality_penalty(model, x, I_REGION, J_REGION)
    got, _ = anti_locality_penalty(model, x, I_REGION, J_REGION, estimator=FD)
    torch.testing.assert_close(got, exact.detach(), rtol=1e-5, atol=0)


@pytest.mark.parametrize("name", list(SMOOTH_MODELS))
def test_finite_difference_gradient_agrees_with_the_double_backward(name):
    # float64 and the default step (4.5e-8): the O(h) bias is ~1e-7 relative; rounding adds ~1e-8.
    model = SMOOTH_MODELS[name]()
    shape = (SHAPE[0], 12, 12) if "imagenet" in name else SHAPE
    x = images(6, shape=shape, seed=2)
    I, J = Region(0, 0, 3, 3), Region(shape[1] - 3, shape[2] - 3, 3, 3)
    exact = parameter_gradient(anti_locality_penalty(model, x, I, J)[0], model)
    got = parameter_gradient(anti_locality_penalty(model, x, I, J, estimator=FD)[0], model)
    cosine, relative = agreement(got, exact)
    assert cosine >= 0.99 and relative < 1e-4, (cosine, relative)


def test_finite_difference_error_is_first_order_in_the_step():
    # A forward difference: the error shrinks 10x when the step does (a central one would shrink 100x, a bug
    # in the direction or the step size would not shrink at all).
    model, x = small_resnet(), images(6, seed=3)
    exact = parameter_gradient(anti_locality_penalty(model, x, I_REGION, J_REGION)[0], model)
    errors = [agreement(parameter_gradient(anti_locality_penalty(model, x, I_REGION, J_REGION, estimator=FD,
                                                                 fd_step=step)[0], model), exact)[1]
              for step in (1e-3, 1e-4)]
    assert 5 < errors[0] / errors[1] < 20, errors


@pytest.mark.parametrize("batchnorm", [False, True])
def test_finite_difference_gradient_equals_the_two_pass_reference(batchnorm):
    # Same step, same formula, written independently (dR/dg by hand, separate passes): equal to rounding.
    model, x = smooth_conv_model(batchnorm=batchnorm), images(5, seed=4)
    got = parameter_gradient(anti_locality_penalty(model, x, I_REGION, J_REGION, estimator=FD, fd_step=1e-5)[0],
                             model)
    want = parameter_gradient(finite_difference_surrogate_reference(model, x, I_REGION, J_REGION, step=1e-5), model)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-12)


def test_penalty_direction_reference_is_the_gradient_of_r():
    gen = torch.Generator().manual_seed(0)
    g, g_tilde = (torch.randn(4, 7, generator=gen, dtype=torch.float64) for _ in range(2))
    leaves = (g.clone().requires_grad_(True), g_tilde.clone().requires_grad_(True))
    r = ((leaves[0] * leaves[1]).sum(1) / (leaves[0].norm(dim=1) * leaves[1].norm(dim=1) + 1e-12)).abs().mean()
    for got, want in zip(penalty_direction_reference(g, g_tilde), torch.autograd.grad(r, leaves)):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-14)


def test_finite_difference_gradient_with_respect_to_x():
    model = smooth_conv_model()
    x = images(4, seed=5).requires_grad_(True)
    (want,) = torch.autograd.grad(anti_locality_penalty(model, x, I_REGION, J_REGION)[0], x)
    (got,) = torch.autograd.grad(anti_locality_penalty(model, x, I_REGION, J_REGION, estimator=FD)[0], x)
    cosine, relative = agreement(got.flatten(), want.flatten())
    assert cosine >= 0.99 and relative < 1e-4, (cosine, relative)


def test_finite_difference_matches_on_relu_networks_when_no_unit_changes_sign():
    # ReLU kinks: the forward difference sees a unit that changes sign between X and X + h u, the exact
    # gradient does not. With a step far below the distance to every kink both are the same (float64 only).
    model, x = small_resnet(smooth=False), images(6, seed=6)
    exact = parameter_gradient(anti_locality_penalty(model, x, I_REGION, J_REGION)[0], model)
    got = parameter_gradient(anti_locality_penalty(model, x, I_REGION, J_REGION, estimator=FD, fd_step=1e-9)[0],
                             model)
    cosine, relative = agreement(got, exact)
    assert cosine >= 0.99 and relative < 1e-3, (cosine, relative)


@pytest.mark.parametrize("form", ["product", "sum"])
def test_finite_difference_on_separation_rank_one(form):
    model, x = SeparableModel(form, seed=1), images(6, seed=1)
    exact, _ = anti_locality_penalty(model, x, I_REGION, J_REGION)
    penalty, cosines = anti_locality_penalty(model, x, I_REGION, J_REGION, estimator=FD)
    assert abs(penalty.item() - 1) < 1e-6 and bool((cosines.abs() > 1 - 1e-6).all())
    # R = 1 is its maximum over g: its gradient is 0 by either estimator
    assert parameter_gradient(exact, model).abs().max() < 1e-8
    assert parameter_gradient(penalty, model).abs().max() < 1e-8


def test_finite_difference_zero_gradient_gives_zero_and_no_nan():
    model = SeparableModel("sum", seed=0)
    model.g = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(SHAPE), 1)).double()
    nn.init.zeros_(model.g[1].weight)
    penalty, cosines = anti_locality_penalty(model, images(4), I_REGION, J_REGION, estimator=FD)
    assert penalty.item() == 0 and (cosines == 0).all()
    assert (parameter_gradient(penalty, model) == 0).all()


def test_finite_difference_is_deterministic():
    model, x = small_resnet(smooth=False, dtype=torch.float32), images(6, seed=7, dtype=torch.float32)
    runs = [anti_locality_penalty(model, x, I_REGION, J_REGION, estimator=FD) for _ in range(2)]
    assert torch.equal(runs[0][0], runs[1][0]) and torch.equal(runs[0][1], runs[1][1])
    assert torch.equal(parameter_gradient(runs[0][0], model), parameter_gradient(runs[1][0], model))


def test_finite_difference_updates_batchnorm_statistics_as_the_exact_estimator():
    # One update per call, from the forward over [x; x~]; the perturbed forward leaves the buffers alone.
    models = [small_resnet(smooth=False, dtype=torch.float32) for _ in range(2)]
    x = images(6, seed=8, dtype=torch.float32)
    anti_locality_penalty(models[0], x, I_REGION, J_REGION)
    anti_locality_penalty(models[1], x, I_REGION, J_REGION, estimator=FD)
    for (name, a), b in zip(models[0].named_buffers(), models[1].buffers()):
        assert torch.equal(a, b), name
    assert int(models[1].stem[1].num_batches_tracked) == 3  # two warm-up forwards + this call


def test_finite_difference_in_train_step_and_on_a_subset():
    model, x = small_resnet(), images(8, seed=9)
    y = (x.mean((1, 2, 3)) > 0).double()
    fixed = lambda h, w, g: (I_REGION, J_REGION)  # noqa: E731
    reg = AntiLocalityRegularizer(fixed, samples=4, estimator=FD, fd_step=1e-6)
    assert "finite_difference" in repr(reg) and "fd_step=1e-06" in repr(reg)
    result = reg(model, x, torch.Generator().manual_seed(3))
    subset = torch.randperm(8, generator=torch.Generator().manual_seed(3))[:4]
    expected, _ = anti_locality_penalty(model, x[subset], I_REGION, J_REGION, estimator=FD, fd_step=1e-6)
    assert result.outputs is None and torch.equal(result.penalty, expected)
    # A step on lam * R moves the parameters as the exact estimator's step does (smooth model, float64).
    steps = []
    for estimator in ("exact", FD):
        trained = small_resnet()
        optimizer = torch.optim.SGD(trained.parameters(), lr=0.1)
        stats = train_step(trained, optimizer, x, y, AntiLocalityRegularizer(fixed, estimator=estimator), lam=1.0)
        assert stats["loss"] == pytest.approx(stats["task_loss"] + stats["penalty"])
        steps.append(torch.cat([(p - q).flatten() for p, q in zip(trained.parameters(), model.parameters())]))
    cosine, relative = agreement(steps[1], steps[0])
    assert cosine > 0.9999 and relative < 1e-4


def test_bad_estimator_arguments():
    model, x = smooth_conv_model(), images(4)
    sampler = SlotPairSampler(I_REGION, J_REGION)
    with pytest.raises(ValueError, match=r"estimator must be one of \('exact', 'finite_difference'\)"):
        anti_locality_penalty(model, x, I_REGION, J_REGION, estimator="finite-difference")
    with pytest.raises(ValueError, match="estimator must be one of"):
        AntiLocalityRegularizer(sampler, estimator="jvp")
    for bad in (0, 0.0, -1e-3, NAN, float("inf")):
        with pytest.raises(ValueError, match="fd_step must be a finite number > 0"):
            anti_locality_penalty(model, x, I_REGION, J_REGION, estimator=FD, fd_step=bad)
        with pytest.raises(ValueError, match="fd_step must be a finite number > 0"):
            AntiLocalityRegularizer(sampler, estimator=FD, fd_step=bad)
    for bad in (True, "1e-3", torch.tensor(1e-3)):
        with pytest.raises(TypeError, match="fd_step must be a number"):
            AntiLocalityRegularizer(sampler, estimator=FD, fd_step=bad)
    with pytest.raises(ValueError, match="takes none"):
        AntiLocalityRegularizer(sampler, fd_step=1e-3)  # the exact estimator has no step


# --------------------------------------------------------------------------------------------------
# the angle form (rankcore's variant, definitions §4): R = mean_b (1 - (2/pi) phi_b), phi_b = arccos |cos_b|

FORMS = ["cosine", "angle"]
ESTIMATORS = ["exact", FD]


def angle_penalty(model, x, I=I_REGION, J=J_REGION, **kwargs):
    return anti_locality_penalty(model, x, I, J, form="angle", **kwargs)


@pytest.mark.parametrize("name", ["tanh-convnet", "tanh-convnet-eval-batchnorm", "silu-resnet-eval", "relu-resnet-eval"])
def test_angle_form_value_and_gradient_equal_the_reference(name):
    # Per-sample models (no train-mode BatchNorm), float64; the reference is written with arccos, from the
    # definition, the implementation with atan2 of unit-vector differences.
    model = small_resnet(train=False, smooth=False) if name == "relu-resnet-eval" else (
        SMOOTH_MODELS[name]() if name in SMOOTH_MODELS else small_resnet(train=False))
    x = images(6, seed=11)
    penalty, cosines = angle_penalty(model, x)
    expected, expected_cosines = anti_locality_penalty_reference(model, x, I_REGION, J_REGION, form="angle")
    torch.testing.assert_close(penalty, expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(cosines, expected_cosines.detach(), rtol=0, atol=1e-10)
    assert 0 < penalty.item() < 1 and bool((cosines.abs() < 1 - 1e-7).all())  # phi > 4e-4: arccos is smooth there
    got = parameter_gradient(penalty, model)
    want = parameter_gradient(expected, model)
    torch.testing.assert_close(got, want, rtol=1e-7, atol=1e-10)
    assert got.norm() > 0


def test_angle_form_is_one_minus_the_scaled_arccos_of_the_cosines():
    model, x = InteractingModel(seed=2), images(8, seed=2)
    penalty, cosines = angle_penalty(model, x)
    cosine_penalty, same_cosines = anti_locality_penalty(model, x, I_REGION, J_REGION)
    assert torch.equal(cosines, same_cosines)
    torch.testing.assert_close(penalty.detach(), (1 - 2 / math.pi * torch.arccos(cosines.abs())).mean(), rtol=1e-12,
                               atol=0)
    # 1 - (2/pi) arccos c <= c on [0, 1]: the angle form lies below the published one
    assert penalty.item() <= cosine_penalty.item()


def test_angle_form_gradient_with_respect_to_x_matches_reference():
    # x~ is detached (a finite-difference check in x would also move x~): compared with the reference instead
    model = smooth_conv_model()
    x = images(4, seed=5).requires_grad_(True)
    (got,) = torch.autograd.grad(angle_penalty(model, x)[0], x)
    (want,) = torch.autograd.grad(anti_locality_penalty_reference(model, x, I_REGION, J_REGION, form="angle")[0], x)
    torch.testing.assert_close(got, want, rtol=1e-8, atol=1e-10)
    assert got.norm() > 0


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("separable", ["product", "sum"])
@pytest.mark.parametrize("seed", [0, 1])
def test_separation_rank_one_gives_one_in_both_forms(separable, form, estimator, seed):
    # 16 samples: the product form's h changes sign for some (antiparallel gradients: the lines still coincide)
    # eps = 0: R = 1 to rounding (the default eps = 1e-12 damps every term by 1 - eps / (||g|| ||g~||), both forms)
    model = SeparableModel(separable, seed)
    x = images(16, seed=seed + 3)
    penalty, cosines = anti_locality_penalty(model, x, I_REGION, J_REGION, form=form, estimator=estimator, eps=0)
    assert abs(penalty.item() - 1) < 1e-12
    assert bool((cosines.abs() > 1 - 1e-12).all())
    damped, _ = anti_locality_penalty(model, x, I_REGION, J_REGION, form=form, estimator=estimator)
    assert abs(damped.item() - 1) < 1e-9
    if separable == "product":
        assert (cosines < 0).any() and (cosines > 0).any()
    # R = 1 is R's maximum and stays 1 under any change of the parameters (the model stays separable): the
    # parameter gradient is 0 up to rounding (the forward difference: up to its O(h) error, h = 4.5e-8)
    assert parameter_gradient(penalty, model).abs().max() < (1e-8 if estimator == "exact" else 1e-5)


@pytest.mark.parametrize("form", FORMS)
def test_separation_rank_one_gives_one_in_float32(form):
    model = SeparableModel("product", seed=1).float()
    penalty, _ = anti_locality_penalty(model, images(6, seed=1, dtype=torch.float32), I_REGION, J_REGION, form=form)
    assert abs(penalty.item() - 1) < 1e-5


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_angle_form_zero_gradient_gives_zero_and_no_nan(estimator):
    # f ignores region I: g = g~ = 0, the angle is undefined, the term is 0 (as |cos| is), the gradient 0.
    model = SeparableModel("sum", seed=0)
    model.g = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(SHAPE), 1)).double()
    nn.init.zeros_(model.g[1].weight)
    penalty, cosines = angle_penalty(model, images(4), estimator=estimator)
    assert penalty.item() == 0 and (cosines == 0).all()
    grad = parameter_gradient(penalty, model)
    assert bool(torch.isfinite(grad).all()) and (grad == 0).all()


def test_angle_form_zero_gradient_in_some_samples_only():
    # A model whose gradient in I vanishes for half the batch (ReLU off): those terms are 0, the rest finite.
    torch.manual_seed(0)
    model = InteractingModel(seed=1)
    x = images(6, seed=4)
    rows, cols = I_REGION.slices()
    x[::2, :, rows, cols] = 0
    gate = lambda inputs: model(inputs) * torch.relu(inputs[:, 0, rows, cols].sum((1, 2)))  # noqa: E731
    penalty, _ = angle_penalty(gate, x)
    expected, _ = anti_locality_penalty_reference(gate, x, I_REGION, J_REGION, form="angle")
    torch.testing.assert_close(penalty, expected, rtol=1e-10, atol=1e-12)
    grad = parameter_gradient(penalty, model)
    assert bool(torch.isfinite(grad).all()) and grad.norm() > 0


class WeaklyInteractingModel(nn.Module):
    """f = g(x_I) h(x_J) + epsilon k(x_I, x_J): separation rank 1 plus an interaction of size epsilon (a parameter)."""

    def __init__(self, epsilon: float):
        super().__init__()
        self.separable = SeparableModel("product", seed=0)
        self.interaction = InteractingModel(seed=0)
        self.epsilon = nn.Parameter(torch.tensor(epsilon, dtype=torch.float64))

    def forward(self, x):
        return self.separable(x).reshape(-1) + self.epsilon * self.interaction(x)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_angle_form_pushes_a_model_without_interaction_and_the_cosine_form_does_not(estimator):
    # The reason for the angle form: near R = 1 the published |cos| = 1 - phi^2 / 2 is flat, so its parameter
    # gradient vanishes with the interaction (O(epsilon)); the angle form's slope at phi = 0 is 2 / pi, so its
    # gradient (here the part along epsilon) stays O(1). Fails if "angle" computed |cos| (or arccos of it
    # with a clamped, zero, derivative at 1).
    x = images(16, seed=5)
    norms = {form: [] for form in FORMS}
    gaps = {form: [] for form in FORMS}
    epsilons = (1e-3, 1e-4, 1e-5)
    for epsilon in epsilons:
        for form in FORMS:
            model = WeaklyInteractingModel(epsilon)
            penalty, _ = anti_locality_penalty(model, x, I_REGION, J_REGION, form=form, estimator=estimator)
            norms[form].append(float(parameter_gradient(penalty, model).norm()))
            gaps[form].append(1 - penalty.item())
    # 1 - R: O(epsilon^2) for the cosine, O(epsilon) for the angle
    assert 50 < gaps["cosine"][1] / gaps["cosine"][2] < 200 and 5 < gaps["angle"][1] / gaps["angle"][2] < 20, gaps
    # gradient norm: the cosine form's shrinks ~10x per decade of epsilon, the angle form's stays put
    assert norms["cosine"][2] < 2e-2 * norms["cosine"][0], norms
    assert norms["angle"][2] > 0.5 * norms["angle"][0] > 0, norms
    assert norms["angle"][2] > 100 * norms["cosine"][2], norms


@pytest.mark.parametrize("name", list(SMOOTH_MODELS))
def test_angle_form_finite_difference_gradient_agrees_with_the_double_backward(name):
    model = SMOOTH_MODELS[name]()
    shape = (SHAPE[0], 12, 12) if "imagenet" in name else SHAPE
    x = images(6, shape=shape, seed=2)
    I, J = Region(0, 0, 3, 3), Region(shape[1] - 3, shape[2] - 3, 3, 3)
    exact, _ = anti_locality_penalty(model, x, I, J, form="angle")
    got, _ = anti_locality_penalty(model, x, I, J, form="angle", estimator=FD)
    torch.testing.assert_close(got, exact.detach(), rtol=1e-10, atol=0)
    cosine, relative = agreement(parameter_gradient(got, model), parameter_gradient(exact, model))
    assert cosine >= 0.99 and relative < 1e-4, (cosine, relative)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_angle_form_on_a_random_subset_and_in_train_step(estimator):
    model, x = small_resnet(), images(8, seed=9)
    y = (x.mean((1, 2, 3)) > 0).double()
    fixed = lambda h, w, g: (I_REGION, J_REGION)  # noqa: E731
    reg = AntiLocalityRegularizer(fixed, samples=4, estimator=estimator, form="angle")
    assert "form='angle'" in repr(reg)
    assert "form=" not in repr(AntiLocalityRegularizer(fixed))
    result = reg(model, x, torch.Generator().manual_seed(3))
    subset = torch.randperm(8, generator=torch.Generator().manual_seed(3))[:4]
    expected, _ = angle_penalty(model, x[subset], estimator=estimator)
    assert result.outputs is None and torch.equal(result.penalty, expected)
    cosine_result = AntiLocalityRegularizer(fixed, samples=4, estimator=estimator)(model, x,
                                                                                  torch.Generator().manual_seed(3))
    assert torch.equal(result.cosines, cosine_result.cosines) and result.penalty < cosine_result.penalty
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    stats = train_step(model, optimizer, x, y, AntiLocalityRegularizer(fixed, estimator=estimator, form="angle"),
                       lam=1.0)
    assert 0 < stats["penalty"] < 1 and stats["loss"] == pytest.approx(stats["task_loss"] + stats["penalty"])


def test_bad_form_values():
    model, x = smooth_conv_model(), images(4)
    sampler = SlotPairSampler(I_REGION, J_REGION)
    for bad in ("cos", "Angle", "", None, 1, ("angle",)):
        with pytest.raises(ValueError, match=r"form must be one of \('cosine', 'angle'\)"):
            anti_locality_penalty(model, x, I_REGION, J_REGION, form=bad)
        with pytest.raises(ValueError, match=r"form must be one of \('cosine', 'angle'\)"):
            AntiLocalityRegularizer(sampler, form=bad)
        with pytest.raises(ValueError, match="form must be one of"):
            anti_locality_penalty(model, x, I_REGION, J_REGION, form=bad, estimator=FD)
