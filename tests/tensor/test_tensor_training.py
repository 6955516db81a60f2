"""rankcore.tensor: CP module, problems, trainer, rank measures and the incremental-rank phenomenon."""

import math

import pytest
import torch

import rankcore
from rankcore.reference import cp as ref
from rankcore.tensor import (
    CompletionProblem,
    CPFactorization,
    GlobalAdaptiveGD,
    SensingProblem,
    cp_rank_estimate,
    effective_rank,
    matricization_rank,
    matricization_ranks,
    random_cp_tensor,
    train,
)


def test_module_matches_reference(device):
    m = CPFactorization((3, 4, 5), 6, init_std=0.5, dtype=torch.float64,
                        generator=torch.Generator().manual_seed(0)).to(device)
    factors = [f.detach() for f in m.factors]
    full = m.tensor()
    torch.testing.assert_close(full, ref.cp_full(factors))
    idx = torch.tensor([[0, 0, 0], [2, 3, 4], [1, 2, 3]], device=device)
    torch.testing.assert_close(m(idx), full[idx[:, 0], idx[:, 1], idx[:, 2]])
    torch.testing.assert_close(m.component_norms(), ref.cp_component_norms(factors))


def test_module_rejects_bad_arguments():
    with pytest.raises(ValueError, match="shape"):
        CPFactorization((3, 0), 2, 0.1)
    with pytest.raises(ValueError, match="rank"):
        CPFactorization((3, 3), 0, 0.1)
    with pytest.raises(ValueError, match="too large"):
        CPFactorization((2,) * 40, 2, 0.1).tensor()


def test_global_adaptive_step_keeps_gradient_direction():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64))
    q = torch.nn.Parameter(torch.tensor([0.5], dtype=torch.float64))
    opt = GlobalAdaptiveGD([p, q], lr=0.1, beta=0.0)
    loss = (p ** 2).sum() + 10 * q.sum()
    loss.backward()
    g = torch.cat([p.grad, q.grad]).clone()
    before = torch.cat([p, q]).detach().clone()
    opt.step()
    step = torch.cat([p, q]).detach() - before
    # One global scale: the step is exactly -lr * g / ||g|| (parallel to the gradient, norm lr).
    torch.testing.assert_close(step, -0.1 * g / g.norm())


def test_completion_training_smoke_and_early_stop():
    problem = CompletionProblem.random((4, 4, 4), 1, 40, seed=0)
    model = CPFactorization((4, 4, 4), 8, init_std=1e-2, generator=torch.Generator().manual_seed(0))
    hist = train(model, problem, lr=1e-2, max_iterations=3000, log_every=50, stop_loss=1e-6)
    assert hist.loss[-1] < 1e-6 and hist.stopped_early
    assert hist.loss[-1] < hist.loss[0] / 100
    assert len(hist.iterations) == len(hist.loss) == len(hist.reconstruction_error) == len(hist.component_norms)
    assert hist.reconstruction_error[-1] < hist.reconstruction_error[0]


@pytest.mark.parametrize("kind", ["gaussian", "rank_one"])
def test_sensing_training_smoke(kind):
    problem = SensingProblem.random((3, 3, 3), 1, 40, kind=kind, seed=1)
    # The problem's measurements agree with the definition <X_k, W*>.
    if kind == "gaussian":
        direct = torch.einsum("kabc,abc->k", problem.measurements, problem.target)
    else:
        xs = problem.measurements
        direct = torch.einsum("ka,kb,kc,abc->k", xs[0], xs[1], xs[2], problem.target)
    torch.testing.assert_close(problem.values, direct, rtol=1e-5, atol=1e-6)
    model = CPFactorization((3, 3, 3), 4, init_std=1e-2, generator=torch.Generator().manual_seed(2))
    hist = train(model, problem, lr=1e-2, max_iterations=400, log_every=100)
    assert hist.loss[-1] < hist.loss[0] / 10


def test_trainer_rejects_unknown_optimizer():
    problem = CompletionProblem.random((2, 2), 1, 3)
    with pytest.raises(ValueError, match="optimizer"):
        train(CPFactorization((2, 2), 1, 0.1), problem, optimizer="sgd-ish")


def test_effective_rank():
    assert effective_rank(torch.eye(5)) == pytest.approx(5.0)
    assert effective_rank(torch.outer(torch.arange(1.0, 4), torch.ones(6))) == pytest.approx(1.0)
    # Singular values 3 and 1: p = (3/4, 1/4), erank = exp(H(p)).
    d = torch.diag(torch.tensor([3.0, 1.0]))
    h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert effective_rank(d) == pytest.approx(math.exp(h))
    assert effective_rank(torch.zeros(3, 3)) == 0.0


def test_matricization_and_cp_rank_of_known_rank_tensors():
    gen = torch.Generator().manual_seed(0)
    t = random_cp_tensor((5, 6, 7), 3, generator=gen, dtype=torch.float64)
    assert matricization_ranks(t) == [3, 3, 3]
    assert matricization_rank(t, [0, 1]) == 3
    assert cp_rank_estimate(t * 10, max_rank=6, tol=1e-10) == 3
    t1 = random_cp_tensor((4, 4, 4), 1, generator=gen, dtype=torch.float64)
    assert cp_rank_estimate(t1 * 10, max_rank=4, tol=1e-10) == 1
    assert cp_rank_estimate(torch.zeros(3, 3, 3)) == 0


def test_incremental_rank_phenomenon_tiny():
    """Components are learned one at a time: when the largest component has grown, the second is still
    small; and the smaller init reaches a lower reconstruction error (within the same budget)."""
    shape = (6, 6, 6)
    problem = CompletionProblem.random(shape, 2, 90, seed=3)
    errors = {}
    for std in (1e-1, 1e-3):
        model = CPFactorization(shape, 30, init_std=std, generator=torch.Generator().manual_seed(4))
        hist = train(model, problem, lr=2e-2, max_iterations=2500, log_every=10)
        errors[std] = hist.reconstruction_error[-1]
        if std == 1e-3:
            norms = torch.tensor(hist.component_norms)  # [logs, 10], sorted per row
            final_top = norms[-1, 0]
            first = int((norms[:, 0] > 0.5 * final_top).nonzero()[0])
            assert norms[first, 1] < 0.1 * norms[first, 0], norms[first, :3]
            # ... and the second component does grow later (two ground-truth components).
            assert norms[-1, 1] > 0.3 * final_top
    assert errors[1e-3] < errors[1e-1]


def test_public_exports():
    assert rankcore.cp_eval is rankcore.ops.cp_eval
    assert rankcore.tensor.CPFactorization is CPFactorization
