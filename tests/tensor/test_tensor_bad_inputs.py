"""Bad inputs of the tensor half raise clear errors instead of returning wrapped or NaN results."""

import math

import pytest
import torch

from rankcore.tensor.dmf import DeepMatrixFactorization
from rankcore.tensor.problems import random_cp_tensor
from rankcore.tensor.ranks import effective_rank, matricization_rank, matricize
from rankcore.tensor.training import GlobalAdaptiveGD


def test_dmf_rejects_out_of_range_indices():
    model = DeepMatrixFactorization((3, 4), 2, 1.0)
    good = torch.tensor([[2, 3], [0, 0]])
    assert torch.equal(model(good), model.matrix()[good[:, 0], good[:, 1]])
    for bad in ([[-1, 0]], [[0, -1]], [[3, 0]], [[0, 4]]):
        with pytest.raises(IndexError, match="out of range"):
            model(torch.tensor(bad))


def test_matricize_rejects_out_of_range_modes():
    t = torch.randn(2, 3, 4)
    assert matricize(t, [-1]).shape == (4, 6)  # negative modes count from the end, as in Python
    for modes in ([3], [-4], [0, 5]):
        with pytest.raises(ValueError, match="out of range"):
            matricize(t, modes)
    with pytest.raises(ValueError, match="out of range"):
        matricization_rank(t, [5])


def test_random_cp_tensor_needs_a_positive_rank():
    t = random_cp_tensor((3, 3, 3), 2, generator=torch.Generator().manual_seed(0))
    assert math.isclose(float(t.double().norm()), 1.0, rel_tol=1e-6)
    for rank in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="rank"):
            random_cp_tensor((3, 3), rank)


def test_effective_rank_rejects_non_finite_matrices():
    m = torch.eye(3)
    assert math.isclose(effective_rank(m), 3.0, rel_tol=1e-12)
    for value in (float("inf"), float("nan")):
        bad = m.clone()
        bad[0, 1] = value
        with pytest.raises(ValueError, match="NaN or infinite"):
            effective_rank(bad)


def test_global_adaptive_gd_rejects_per_group_beta_and_eps():
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    GlobalAdaptiveGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.01}])  # per-group lr is fine
    for key, value in (("beta", 0.5), ("eps", 1e-8)):
        with pytest.raises(ValueError, match=f"{key} is global"):
            GlobalAdaptiveGD([{"params": [a]}, {"params": [b], key: value}])
    opt = GlobalAdaptiveGD([a])
    with pytest.raises(ValueError, match="beta is global"):
        opt.add_param_group({"params": [b], "beta": 0.5})
    assert len(opt.param_groups) == 1
