"""Bad inputs of the tensor half raise clear errors instead of returning wrapped or NaN results."""

import math

import pytest
import torch

from rankcore.tensor.cp import CPFactorization
from rankcore.tensor.dmf import DeepMatrixFactorization
from rankcore.tensor.problems import CompletionProblem, SensingProblem, all_indices, random_cp_tensor
from rankcore.tensor.ht import HTFactorization
from rankcore.tensor.ranks import (
    cp_als,
    cp_rank_estimate,
    effective_rank,
    hierarchical_effective_ranks,
    hierarchical_ranks,
    ht_effective_ranks,
    ht_hierarchical_ranks,
    matricization_rank,
    matricization_ranks,
    matricize,
)
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
    for rank in (0, -1):
        with pytest.raises(ValueError, match="rank"):
            random_cp_tensor((3, 3), rank)
    for rank in (1.5, True):  # check_int's rule: a float or bool is a TypeError (was a ValueError)
        with pytest.raises(TypeError, match="rank must be an int"):
            random_cp_tensor((3, 3), rank)


def test_effective_rank_rejects_non_finite_matrices():
    m = torch.eye(3)
    assert math.isclose(effective_rank(m), 3.0, rel_tol=1e-12)
    for value in (float("inf"), float("nan")):
        bad = m.clone()
        bad[0, 1] = value
        with pytest.raises(ValueError, match="NaN or infinite"):
            effective_rank(bad)


def test_factorizations_reject_fractional_sizes_and_non_finite_inits():
    """int() truncated a dim of 3.7, a rank of 2.7 or a depth of 2.5 silently (an HT width of 2.5 failed with
    "'float' object is not iterable"); an infinite init_std (or a NaN CP init_mean) made every parameter inf / NaN."""
    assert HTFactorization([3, 4], 2).shape == (3, 4) and CPFactorization([3, 4], 2, 0.1).rank == 2
    bad = [lambda: HTFactorization([3.7, 4], 2), lambda: HTFactorization([3, 4], 2.5),
           lambda: HTFactorization([3, 4], (2.5,)), lambda: HTFactorization([3, 4, 5], 2, pool_size=2.5),
           lambda: HTFactorization([3, 4], True), lambda: CPFactorization([3.7, 4], 2, 0.1),
           lambda: CPFactorization([3, 4], 2.7, 0.1), lambda: DeepMatrixFactorization((3.5, 4), 2, 0.1),
           lambda: DeepMatrixFactorization((3, 4), 2.5, 0.1), lambda: DeepMatrixFactorization((3, 4), 2, 0.1, width=1.5)]
    for call in bad:
        with pytest.raises(TypeError, match="must be an int"):
            call()
    for call in (lambda: HTFactorization([3, 4], 2, init_std=math.inf), lambda: CPFactorization([3], 2, math.inf),
                 lambda: CPFactorization([3], 2, 0.1, init_mean=math.nan),
                 lambda: DeepMatrixFactorization((3, 4), 2, math.inf)):
        with pytest.raises(ValueError, match="init_(std|mean) must be finite"):
            call()


def test_problems_reject_a_model_of_another_shape():
    """rank_one sensing zipped the measurements with the model's factors, so an order-2 model of an order-3 problem
    got a loss from two modes; gaussian sensing took any tensor with as many entries; reconstruction_error
    broadcast a (3, 4) model against a (3, 1) target. An HT model under rank_one sensing raised AttributeError."""
    rank_one = SensingProblem.random((3, 3, 3), 1, 10, kind="rank_one")
    gaussian = SensingProblem.random((3, 3, 3), 1, 10, kind="gaussian")
    good = CPFactorization((3, 3, 3), 2, 0.1, dtype=torch.float64)  # a float64 model of a float32 problem is fine
    assert torch.isfinite(rank_one.loss(good)) and torch.isfinite(gaussian.loss(good))
    for problem in (rank_one, gaussian):
        for shape in ((3, 3), (3, 4, 3), (9, 3)):
            with pytest.raises(ValueError, match="shape"):
                problem.loss(CPFactorization(shape, 2, 0.1))
    with pytest.raises(TypeError, match="factors"):
        rank_one.loss(HTFactorization((3, 3, 3), 2))
    target = torch.randn(3, 1)
    completion = CompletionProblem(target, all_indices((3, 1)), target.reshape(-1))
    with pytest.raises(ValueError, match="shape"):
        completion.reconstruction_error(CPFactorization((3, 4), 2, 0.1))


def test_rank_measures_reject_non_finite_tensors():
    """svdvals of a matrix with an inf entry gives NaNs: the ranks read 0 and the effective ranks 1.0, silently (as
    effective_rank did before it was fixed); NaN parameters of an HT model failed in eigh as 'ill-conditioned'."""
    tree = ((0,), (1,))
    for value in (float("inf"), float("nan")):
        t = torch.eye(3)
        t[0, 1] = value
        for call in (lambda: matricization_rank(t, [0]), lambda: matricization_ranks(t),
                     lambda: hierarchical_ranks(t, tree), lambda: hierarchical_effective_ranks(t, tree),
                     lambda: cp_rank_estimate(t)):
            with pytest.raises(ValueError, match="NaN or infinite"):
                call()
        model = HTFactorization([3, 4, 2, 2], 2, init_std=1.0)
        with torch.no_grad():
            model.leaves[1][0, 0] = value
        for call in (ht_hierarchical_ranks, ht_effective_ranks):
            with pytest.raises(ValueError, match="NaN or infinite"):
                call(model)
    huge = HTFactorization([3, 4, 2, 2], 2, init_std=1e200, dtype=torch.float64)  # finite, its Grams overflow
    with pytest.raises(ValueError, match="overflow"):
        ht_hierarchical_ranks(huge)


def test_rank_measures_reject_bad_tolerances_and_counts():
    """rtol NaN counted no singular value (rank 0), a negative one counted the zero ones too; cp_rank_estimate with
    max_rank / restarts / iterations 0 said no fit reached the tolerance, as if the tensor were hard to fit."""
    t = torch.outer(torch.arange(1.0, 4.0), torch.arange(1.0, 3.0))  # rank 1
    assert matricization_rank(t, [0]) == 1 and hierarchical_ranks(t, ((0,), (1,))) == {(0,): 1, (1,): 1}
    model = HTFactorization([3, 4, 2, 2], 2, init_std=1.0)
    for rtol in (float("nan"), -1.0, float("inf")):
        for call in (lambda: matricization_rank(t, [0], rtol=rtol), lambda: hierarchical_ranks(t, ((0,), (1,)), rtol),
                     lambda: ht_hierarchical_ranks(model, rtol)):
            with pytest.raises(ValueError, match="rtol"):
                call()
    for key in ("max_rank", "restarts", "iterations"):
        with pytest.raises(ValueError, match=key):
            cp_rank_estimate(t, **{key: 0})


def test_integer_arguments_follow_check_int():
    """cp_rank_estimate, train, the problems and default_tree checked their integers by hand: a float or bool was a
    ValueError (or passed the range check and failed later, in a slice or in range()); check_int's rule is TypeError
    for the wrong kind and ValueError out of range, as for every other integer argument."""
    from rankcore.tensor.ht import default_tree
    from rankcore.tensor.training import train

    t = torch.outer(torch.arange(1.0, 4.0), torch.arange(1.0, 3.0))
    model = CPFactorization((3, 3), 2, 0.1)
    problem = CompletionProblem.random((3, 3), 1, 5, seed=0)
    wrong_kind = [lambda: cp_rank_estimate(t, max_rank=2.0), lambda: cp_rank_estimate(t, restarts=True),
                  lambda: cp_rank_estimate(t, iterations=1.5), lambda: train(model, problem, top_k=2.5),
                  lambda: train(model, problem, top_k=True), lambda: train(model, problem, max_iterations=1.5),
                  lambda: train(model, problem, log_every=True),
                  lambda: CompletionProblem.random((3, 3), 1, 2.5), lambda: SensingProblem.random((3, 3), 1, 2.5),
                  lambda: default_tree(2.5), lambda: default_tree(4, 2.0)]
    for call in wrong_kind:
        with pytest.raises(TypeError, match="must be an int"):
            call()
    out_of_range = [lambda: cp_rank_estimate(t, restarts=-1), lambda: train(model, problem, max_iterations=-1),
                    lambda: train(model, problem, log_every=0), lambda: CompletionProblem.random((3, 3), 1, 10),
                    lambda: SensingProblem.random((3, 3), 1, 0), lambda: default_tree(0), lambda: default_tree(4, 1)]
    for call in out_of_range:
        with pytest.raises(ValueError, match="must be (>=|<=)"):
            call()
    np = pytest.importorskip("numpy")
    assert cp_rank_estimate(t, max_rank=np.int64(2)) == 1  # numpy integers are ints


def test_cp_als_rejects_bad_inputs():
    """cp_als checked nothing: a 0-dim tensor was an IndexError (cp_rank_estimate's too), rank 0 a reshape error,
    0 iterations returned the random start with MSE inf, NaN entries a LinAlgError that did not say why."""
    t = torch.outer(torch.arange(1.0, 4.0), torch.arange(1.0, 3.0))
    factors, mse = cp_als(t, 1, generator=torch.Generator().manual_seed(0))
    assert [f.shape for f in factors] == [(3, 1), (2, 1)] and mse < 1e-12
    for call, kind, match in [
            (lambda: cp_als(torch.tensor(3.0), 1), ValueError, "at least one mode"),
            (lambda: cp_rank_estimate(torch.tensor(3.0)), ValueError, "at least one mode"),
            (lambda: cp_als(torch.ones(2, 0), 1), ValueError, "no empty mode"),
            (lambda: cp_als([[1.0]], 1), TypeError, "torch.Tensor"),
            (lambda: cp_als(torch.ones(2, 2, dtype=torch.complex64), 1), TypeError, "real"),
            (lambda: cp_als(torch.tensor([[float("nan")]]), 1), ValueError, "NaN or infinite"),
            (lambda: cp_als(t, 0), ValueError, "rank must be >= 1"),
            (lambda: cp_als(t, 1.5), TypeError, "must be an int"),
            (lambda: cp_als(t, 1, iterations=0), ValueError, "iterations must be >= 1"),
            (lambda: cp_als(t, 1, tol=float("nan")), ValueError, "tol"),
            (lambda: cp_als(t, 1, tol=-1.0), ValueError, "tol")]:
        with pytest.raises(kind, match=match):
            call()


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


def test_global_adaptive_gd_rejects_a_bad_group_lr_and_eps():
    # a group's own lr skipped __init__'s check (a negative one climbs the loss); eps <= 0 can divide by zero
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    for lr in (-1.0, 0.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="lr must be finite and > 0"):
            GlobalAdaptiveGD([{"params": [a]}, {"params": [b], "lr": lr}])
    for eps in (-1e-8, 0.0, float("nan")):
        with pytest.raises(ValueError, match="eps must be finite and > 0"):
            GlobalAdaptiveGD([a], eps=eps)


def test_train_top_k_and_matricize_modes_are_checked():
    from rankcore.tensor import CPFactorization
    from rankcore.tensor.problems import CompletionProblem
    from rankcore.tensor.ranks import matricize
    from rankcore.tensor.training import train

    np = pytest.importorskip("numpy")

    t = torch.randn(2, 3, 4)
    for modes in ([True], [1.0]):  # True was read as mode 1, 1.0 as mode 1
        with pytest.raises(TypeError, match="modes must be ints"):
            matricize(t, modes)
    assert matricize(t, [np.int64(2)]).shape == (4, 6)
    model = CPFactorization((3, 3), 2, 0.1)
    problem = CompletionProblem.random((3, 3), 1, 5, seed=0)
    with pytest.raises(ValueError, match="top_k"):  # [:-1] silently dropped the last norm
        train(model, problem, max_iterations=1, top_k=-1)
